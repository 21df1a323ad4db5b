import sql, { type ISqlType } from 'mssql';
import { mssqlExecutor, type MssqlPoolLike, type RequestLike } from '../../../sql/mssql';
import type { Operation } from '../../../contracts';
import { Participant } from '../participant';

/**
 * What the participant answers when the database fails in an expected way (sql/failures.ts),
 * through the real mssql executor over a fake pool: a row lock held past the lock timeout
 * (1222) and a deadlock the executor's retries did not get past (1205) are BUSY, as a held
 * lock row is; a FOREIGN KEY or CHECK refusal (547) is REFUSED with nothing changed.
 */
const ROW = { n: 0, status: 'Có sẵn', gid: 'Q3.other-1-ab' };

function failingPool(failOn: RegExp, error: () => Error): [MssqlPoolLike, string[]] {
  const texts: string[] = [];
  const request = (): RequestLike => ({
    input: (_n: string, _t: ISqlType, _v: unknown) => undefined,
    async query(text: string) {
      texts.push(text.replace(/^SET LOCK_TIMEOUT \d+; /, ''));
      if (failOn.test(text)) throw error();
      return /^SET LOCK_TIMEOUT \d+; SELECT/.test(text) ? { recordset: Object.assign([ROW], { columns: {} }) } : {};
    },
  });
  const pool: MssqlPoolLike = {
    request,
    transaction: () => ({ begin: async () => undefined, request, commit: async () => undefined, rollback: async () => undefined }),
    close: async () => undefined,
  };
  return [pool, texts];
}

const serverError = (number: number, message: string) => Object.assign(new sql.RequestError(message, 'EREQUEST'), { number });
const ops: Operation[] = [{ kind: 'reader.reserveLoan', readerId: 'Q1-DG0001', max: 5 }];
const noSleep = { sleep: async () => undefined };

describe('participant votes on database failures', () => {
  it('a lock row still being inserted by another transaction (1222 on the insert) is BUSY on that resource, holder read or unknown', async () => {
    const [pool] = failingPool(/INSERT INTO libfed_lock/, () => serverError(1222, 'Lock request time out period exceeded.'));
    const p = new Participant({ siteId: 'Q1', db: mssqlExecutor(pool) });
    await expect(p.prepare('Q3.g-1-aa', ops, 'Q3', new Date())).resolves.toEqual({ vote: 'BUSY', holder: 'Q3.other-1-ab', resource: 'DOCGIA:Q1-DG0001' });
  });

  it('a lock timeout on the holder lookup too answers BUSY with the holder unknown', async () => {
    const [pool] = failingPool(/INSERT INTO libfed_lock|FROM libfed_lock/, () => serverError(1222, 'Lock request time out period exceeded.'));
    const p = new Participant({ siteId: 'Q1', db: mssqlExecutor(pool) });
    await expect(p.prepare('Q3.g-1-aa', ops, 'Q3', new Date())).resolves.toEqual({ vote: 'BUSY', holder: 'unknown', resource: 'DOCGIA:Q1-DG0001' });
  });

  it('a lock timeout on a data row (a check\'s read) is BUSY', async () => {
    const [pool] = failingPool(/FROM DOCGIA/, () => serverError(1222, 'Lock request time out period exceeded.'));
    const p = new Participant({ siteId: 'Q1', db: mssqlExecutor(pool) });
    await expect(p.local('Q1.g-1-aa', ops)).resolves.toEqual({ vote: 'BUSY', holder: 'unknown', resource: 'database:lockTimeout' });
  });

  it('a deadlock victim on every try is BUSY, after the executor ran the transaction its three times', async () => {
    const [pool, texts] = failingPool(/UPDATE DOCGIA/, () => serverError(1205, 'chosen as the deadlock victim'));
    const p = new Participant({ siteId: 'Q1', db: mssqlExecutor(pool, { retry: noSleep }) });
    await expect(p.local('Q1.g-1-aa', ops)).resolves.toEqual({ vote: 'BUSY', holder: 'unknown', resource: 'database:deadlock' });
    expect(texts.filter((t) => t.startsWith('UPDATE DOCGIA'))).toHaveLength(3);
  });

  it('a FOREIGN KEY or CHECK refusal (547) is REFUSED, CONSTRAINT_VIOLATION', async () => {
    const [pool] = failingPool(/UPDATE DOCGIA/, () => serverError(547, 'The UPDATE statement conflicted with the CHECK constraint "CK_DOCGIA_site".'));
    const p = new Participant({ siteId: 'Q1', db: mssqlExecutor(pool) });
    await expect(p.local('Q1.g-1-aa', ops)).resolves.toEqual({
      vote: 'REFUSED',
      code: 'CONSTRAINT_VIOLATION',
      message: 'the database at Q1 refused the write under a foreign key or CHECK constraint (547); nothing changed',
    });
  });

  it('a request timeout or a lost connection is not a vote: it reaches the site server as a typed failure', async () => {
    for (const error of [() => new sql.RequestError('Timeout: Request failed to complete in 3000ms', 'ETIMEOUT'), () => new sql.ConnectionError('Connection lost', 'ESOCKET')]) {
      const [pool] = failingPool(/UPDATE DOCGIA/, error);
      const p = new Participant({ siteId: 'Q1', db: mssqlExecutor(pool) });
      await expect(p.local('Q1.g-1-aa', ops)).rejects.toMatchObject({ name: 'SqlFailure' });
    }
  });
});
