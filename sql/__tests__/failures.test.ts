import sql, { type ISqlType } from 'mssql';
import pg from 'pg';
import { mssql, postgres } from '../dialect';
import type { SqlExecutor } from '../executor';
import { SqlFailure, type SqlFailureKind } from '../failures';
import { raw } from '../fragment';
import { mssqlExecutor, type MssqlPoolLike, type RequestLike } from '../mssql';
import { postgresExecutor, type PgPoolLike } from '../postgres';

/**
 * Driver errors become typed failures at the executor seam, for each engine: fake drivers
 * throw errors shaped as mssql's RequestError / ConnectionError (with `number` / `code`)
 * and pg's DatabaseError (with a SQLSTATE `code`), and the caller sees a SqlFailure of one kind.
 */

/** An mssql RequestError as tedious's server errors arrive: `number` from the server's message. */
function requestError(number: number, message: string): Error {
  const e = new sql.RequestError(message, 'EREQUEST');
  return Object.assign(e, { number });
}

/** A pg DatabaseError with a SQLSTATE. */
function pgError(code: string, message: string): Error {
  const e = new pg.DatabaseError(message, 0, 'error');
  e.code = code;
  return e;
}

type Fail = (text: string, attempt: number) => Error | undefined;

/** An mssql pool whose requests fail as `fail` says; returns [pool, texts sent, transactions begun]. */
function mssqlPool(fail: Fail): [MssqlPoolLike, string[], { begun: number }] {
  const texts: string[] = [];
  const counter = { begun: 0 };
  const request = (): RequestLike => ({
    input: (_name: string, _type: ISqlType, _value: unknown) => undefined,
    async query(text: string) {
      texts.push(text);
      const error = fail(text, counter.begun);
      if (error) throw error;
      return { recordset: Object.assign([{ ok: counter.begun }], { columns: {} }) };
    },
  });
  const pool: MssqlPoolLike = {
    request,
    transaction: () => ({
      begin: async () => void counter.begun++,
      request,
      commit: async () => undefined,
      rollback: async () => undefined,
    }),
    close: async () => undefined,
  };
  return [pool, texts, counter];
}

/** A pg pool whose queries fail as `fail` says; returns [pool, texts sent, transactions begun]. */
function pgPool(fail: Fail): [PgPoolLike, string[], { begun: number }] {
  const texts: string[] = [];
  const counter = { begun: 0 };
  const query = (async (text: string) => {
    texts.push(text);
    if (text === 'BEGIN') counter.begun++;
    const error = fail(text, counter.begun);
    if (error) throw error;
    return { rows: [{ ok: counter.begun }] };
  }) as unknown as PgPoolLike['query'];
  const pool: PgPoolLike = { query, connect: async () => ({ query, release: () => undefined }), end: async () => undefined };
  return [pool, texts, counter];
}

const noSleep = { sleep: async () => undefined, random: () => 0.5 };

async function kindOf(db: SqlExecutor): Promise<SqlFailureKind | string> {
  const error = await db.query(raw('SELECT 1 AS ok')).then(() => undefined, (e: unknown) => e);
  return error instanceof SqlFailure ? error.kind : `not a SqlFailure: ${String(error)}`;
}

/** A transaction that reads then writes, as a deadlock victim's would: the runs it saw and its answer. */
async function selectThenUpdate(executor: SqlExecutor): Promise<{ runs: number[]; result: string }> {
  const runs: number[] = [];
  const result = await executor.transaction(async (tx) => {
    const [row] = await tx.query<{ ok: number }>(raw('SELECT 1 AS ok'));
    runs.push(row.ok);
    await tx.query(raw('UPDATE DOCGIA SET version = version + 1'));
    return `run ${row.ok}`;
  });
  return { runs, result };
}

describe('SQL Server errors at the seam', () => {
  const cases: [string, Error, SqlFailureKind][] = [
    ['2627 primary key', requestError(2627, "Violation of PRIMARY KEY constraint 'PK_libfed_lock'."), 'unique'],
    ['2601 unique index', requestError(2601, "Cannot insert duplicate key row in object 'dbo.libfed_decision' with unique index 'UX_libfed_decision_key'."), 'unique'],
    ['1205 deadlock victim', requestError(1205, 'Transaction (Process ID 57) was deadlocked on lock resources with another process and has been chosen as the deadlock victim. Rerun the transaction.'), 'deadlock'],
    ['1222 lock timeout', requestError(1222, 'Lock request time out period exceeded.'), 'lockTimeout'],
    ['547 foreign key or CHECK', requestError(547, 'The INSERT statement conflicted with the CHECK constraint "CK_QUYENSACH_site".'), 'constraint'],
    ['ETIMEOUT request timeout', new sql.RequestError('Timeout: Request failed to complete in 3000ms', 'ETIMEOUT'), 'requestTimeout'],
    ['connection lost', new sql.ConnectionError('Connection lost - read ECONNRESET', 'ESOCKET'), 'connectionLost'],
    ['connection closed', new sql.ConnectionError('Connection is closed.', 'ECONNCLOSED'), 'connectionLost'],
  ];

  it.each(cases)('%s', async (_, error, kind) => {
    const [pool] = mssqlPool(() => error);
    await expect(kindOf(mssqlExecutor(pool, { retry: noSleep }))).resolves.toBe(kind);
  });

  it('reads the server error behind a batch\'s last one (precedingErrors)', async () => {
    const last = Object.assign(requestError(3998, 'Uncommittable transaction is detected at the end of the batch.'), { precedingErrors: [requestError(1205, 'deadlocked')] });
    const [pool] = mssqlPool(() => last);
    await expect(kindOf(mssqlExecutor(pool))).resolves.toBe('deadlock');
  });

  it('passes any other error through unchanged: a bug is not an expected failure', async () => {
    const bug = requestError(207, "Invalid column name 'MaDGG'.");
    const [pool] = mssqlPool(() => bug);
    await expect(mssqlExecutor(pool).query(raw('SELECT MaDGG'))).rejects.toBe(bug);
  });

  it('unique violations are still recognised by the dialect, mapped or not', async () => {
    const [pool] = mssqlPool(() => requestError(2627, 'dup'));
    const error = await mssqlExecutor(pool).query(raw('INSERT x')).catch((e: unknown) => e);
    expect(mssql.isUniqueViolation(error)).toBe(true);
    expect(mssql.isUniqueViolation(requestError(2601, 'dup'))).toBe(true);
    expect(mssql.isUniqueViolation(requestError(1205, 'deadlock'))).toBe(false);
  });

  it('every batch carries the lock timeout', async () => {
    const [pool, texts] = mssqlPool(() => undefined);
    await mssqlExecutor(pool, { lockTimeoutMs: 750 }).query(raw('SELECT 1 AS ok'));
    expect(texts).toEqual(['SET LOCK_TIMEOUT 750; SELECT 1 AS ok']);
  });

  it('runs a deadlock victim\'s transaction again: the work ran twice, the answer is the second run\'s', async () => {
    const [pool, , counter] = mssqlPool((text, attempt) => (attempt === 1 && /UPDATE/.test(text) ? requestError(1205, 'deadlock victim') : undefined));
    expect(await selectThenUpdate(mssqlExecutor(pool, { retry: noSleep }))).toEqual({ runs: [1, 2], result: 'run 2' });
    expect(counter.begun).toBe(2);
  });

  it('gives up after its bounded tries, with jittered, growing pauses', async () => {
    const [pool, , counter] = mssqlPool((text) => (/UPDATE/.test(text) ? requestError(1205, 'deadlock victim') : undefined));
    const pauses: number[] = [];
    const db = mssqlExecutor(pool, { retry: { attempts: 3, baseDelayMs: 10, random: () => 0.25, sleep: async (ms) => void pauses.push(ms) } });
    const error = await db.transaction((tx) => tx.query(raw('UPDATE DOCGIA SET version = 1'))).catch((e: unknown) => e);
    expect((error as SqlFailure).kind).toBe('deadlock');
    expect(counter.begun).toBe(3);
    expect(pauses).toEqual([7.5, 15]);
  });

  it('never runs a transaction again after a lock timeout or a lost connection (its commit may have landed)', async () => {
    for (const error of [requestError(1222, 'Lock request time out period exceeded.'), new sql.ConnectionError('Connection lost', 'ESOCKET')]) {
      const [pool, , counter] = mssqlPool((text) => (/UPDATE/.test(text) ? error : undefined));
      await expect(mssqlExecutor(pool, { retry: noSleep }).transaction((tx) => tx.query(raw('UPDATE x SET y = 1')))).rejects.toBeInstanceOf(SqlFailure);
      expect(counter.begun).toBe(1);
    }
  });
});

describe('PostgreSQL errors at the seam', () => {
  const cases: [string, Error, SqlFailureKind][] = [
    ['23505 unique', pgError('23505', 'duplicate key value violates unique constraint "libfed_lock_pkey"'), 'unique'],
    ['40P01 deadlock', pgError('40P01', 'deadlock detected'), 'deadlock'],
    ['40001 serialization failure', pgError('40001', 'could not serialize access due to concurrent update'), 'deadlock'],
    ['55P03 lock timeout', pgError('55P03', 'canceling statement due to lock timeout'), 'lockTimeout'],
    ['57014 statement timeout', pgError('57014', 'canceling statement due to statement timeout'), 'requestTimeout'],
    ['23503 foreign key', pgError('23503', 'insert or update on table "quyensach" violates foreign key constraint'), 'constraint'],
    ['23514 check', pgError('23514', 'new row for relation "quyensach" violates check constraint "ck_quyensach_site"'), 'constraint'],
    ['57P01 admin shutdown', pgError('57P01', 'terminating connection due to administrator command'), 'connectionLost'],
    ['connection terminated', new Error('Connection terminated unexpectedly'), 'connectionLost'],
    ['ECONNRESET', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), 'connectionLost'],
  ];

  it.each(cases)('%s', async (_, error, kind) => {
    const [pool] = pgPool(() => error);
    await expect(kindOf(postgresExecutor(pool, 'postgres://u@h/db'))).resolves.toBe(kind);
  });

  it('runs a deadlock victim\'s transaction again: the work ran twice, the answer is the second run\'s', async () => {
    const [pool, texts] = pgPool((text, attempt) => (attempt === 1 && /UPDATE/.test(text) ? pgError('40P01', 'deadlock detected') : undefined));
    expect(await selectThenUpdate(postgresExecutor(pool, 'postgres://u@h/db', noSleep))).toEqual({ runs: [1, 2], result: 'run 2' });
    expect(texts).toEqual(['BEGIN', 'SELECT 1 AS ok', 'UPDATE DOCGIA SET version = version + 1', 'ROLLBACK', 'BEGIN', 'SELECT 1 AS ok', 'UPDATE DOCGIA SET version = version + 1', 'COMMIT']);
    expect(postgres.isUniqueViolation(pgError('23505', 'dup'))).toBe(true);
  });
});
