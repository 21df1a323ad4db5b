import { createServer, type Server } from 'node:net';
import sql, { type ISqlType } from 'mssql';
import { list, raw, sql as q } from '../fragment';
import { mssqlExecutor, openMssql, parameterType, parseMssqlUrl, type MssqlPoolLike, type RequestLike } from '../mssql';

describe('parseMssqlUrl', () => {
  it('reads user, password, host, port, database and the two TLS options', () => {
    expect(parseMssqlUrl('mssql://sa:Secr%40t%2F1@db.example:14330/libfed_q1?encrypt=false&trustServerCertificate=true')).toEqual({
      server: 'db.example',
      port: 14330,
      database: 'libfed_q1',
      user: 'sa',
      password: 'Secr@t/1',
      pool: { max: 10 },
      connectionTimeout: 15000,
      requestTimeout: 4000,
      options: { encrypt: false, trustServerCertificate: true, useUTC: true, abortTransactionOnError: true },
    });
  });

  it('takes pool size, timeouts, TLS and a named instance from the site\'s settings', () => {
    const config = parseMssqlUrl('mssql://sa:pw@db.example:14330/libfed_q1', {
      poolMax: 25, connectTimeoutMs: 2000, requestTimeoutMs: 2500, lockTimeoutMs: 500, encrypt: false, trustServerCertificate: true, instanceName: 'LIBFED',
    });
    expect(config).toEqual(
      expect.objectContaining({
        port: undefined,
        pool: { max: 25 },
        connectionTimeout: 2000,
        requestTimeout: 2500,
        options: { encrypt: false, trustServerCertificate: true, instanceName: 'LIBFED', useUTC: true, abortTransactionOnError: true },
      }),
    );
    expect(parseMssqlUrl('mssql://sa:pw@db.example/libfed_q1', { port: 1533 }).port).toBe(1533);
  });

  it('defaults to port 1433, the login\'s database, and verified encryption', () => {
    expect(parseMssqlUrl('mssql://sa:pw@[::1]')).toEqual(
      expect.objectContaining({
        server: '::1',
        port: 1433,
        database: undefined,
        options: { encrypt: true, trustServerCertificate: false, useUTC: true, abortTransactionOnError: true },
      }),
    );
  });

  it('refuses other schemes, unknown options and non-boolean flags, never echoing the password', () => {
    const refusal = (url: string) => {
      try {
        parseMssqlUrl(url);
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error(`accepted ${url}`);
    };
    expect(refusal('postgres://sa:hunter2@db/x')).toBe('SQL Server URL must look like mssql://user:password@host:port/database, got "postgres://***@db/x"');
    expect(refusal('mssql://sa:hunter2@db/x?encrpyt=false')).toBe('SQL Server URL options are encrypt and trustServerCertificate, got "encrpyt"');
    expect(refusal('mssql://sa:hunter2@db/x?encrypt=no')).toBe('SQL Server URL option encrypt must be true or false, got "no"');
    expect(refusal('mssql://sa:hunter2@db/a/b')).toBe('SQL Server URL names one database after the host, got "a/b"');
  });
});

describe('parameterType', () => {
  it('binds ASCII text as varchar and other text as nvarchar, at fixed lengths', () => {
    expect(parameterType('Q1-42')).toEqual(sql.VarChar(8000));
    expect(parameterType('Nguyễn Thị Lan')).toEqual(sql.NVarChar(4000));
    expect(parameterType('x'.repeat(8001))).toEqual(sql.VarChar(sql.MAX));
    expect(parameterType('ễ'.repeat(4001))).toEqual(sql.NVarChar(sql.MAX));
    expect(parameterType(null)).toEqual(sql.NVarChar(4000));
    expect(parameterType(undefined)).toEqual(sql.NVarChar(4000));
  });

  it('binds integers as int or bigint, other numbers as float', () => {
    expect(parameterType(42)).toEqual(sql.Int());
    expect(parameterType(-2147483648)).toEqual(sql.Int());
    expect(parameterType(2147483648)).toEqual(sql.BigInt());
    expect(parameterType(12n)).toEqual(sql.BigInt());
    expect(parameterType(1.5)).toEqual(sql.Float());
    expect(() => parameterType(Number.NaN)).toThrow('cannot bind NaN');
    expect(() => parameterType(2n ** 63n)).toThrow(RangeError);
  });

  it('binds Dates as datetime2(3), booleans as bit, Buffers as varbinary', () => {
    expect(parameterType(new Date())).toEqual(sql.DateTime2(3));
    expect(() => parameterType(new Date('nope'))).toThrow('invalid Date');
    expect(parameterType(true)).toEqual(sql.Bit());
    expect(parameterType(Buffer.from('ab'))).toEqual(sql.VarBinary(8000));
    expect(() => parameterType({ id: 1 })).toThrow('cannot bind a value of type Object');
  });
});

type Result = Awaited<ReturnType<RequestLike['query']>>;

/** What every batch starts with (the session's lock timeout, default 2,000 ms); the fake checks it and records the rest. */
const LOCK_TIMEOUT = 'SET LOCK_TIMEOUT 2000; ';

/**
 * A pool that records what reaches "the server" and refuses overlapping requests on a
 * transaction, as mssql does (EREQINPROG). Returns [pool, calls].
 */
function fakePool(respond: (text: string) => Result = () => ({})): [MssqlPoolLike, string[]] {
  const calls: string[] = [];
  const tick = () => new Promise((resolve) => setImmediate(resolve));
  const request = (who: string, busy?: { now: boolean }): RequestLike => {
    const params: string[] = [];
    return {
      input(name: string, type: ISqlType, value: unknown) {
        params.push(`${name} ${(type.type as { name?: string }).name}=${JSON.stringify(value)}`);
      },
      async query(text: string) {
        if (busy?.now) throw new Error('EREQINPROG: another request is in progress');
        if (busy) busy.now = true;
        await tick();
        if (busy) busy.now = false;
        expect(text.startsWith(LOCK_TIMEOUT)).toBe(true);
        text = text.slice(LOCK_TIMEOUT.length);
        calls.push(`${who}: ${text}${params.length ? ` [${params.join(', ')}]` : ''}`);
        if (text.includes('fail')) throw Object.assign(new Error('Violation of PRIMARY KEY constraint'), { number: 2627 });
        return respond(text);
      },
    };
  };
  const pool: MssqlPoolLike = {
    request: () => request('pool'),
    transaction: () => {
      const busy = { now: false };
      return {
        begin: async () => void calls.push('begin'),
        request: () => request('tx', busy),
        commit: async () => void calls.push('commit'),
        rollback: async () => {
          calls.push('rollback');
          throw new Error('EABORT: Transaction has been aborted.');
        },
      };
    },
    close: async () => void calls.push('close'),
  };
  return [pool, calls];
}

describe('mssqlExecutor', () => {
  it('binds @p1..@pn by type and returns the first result set; none for statements without one', async () => {
    const rows = Object.assign([{ id: 'Q1-1', name: 'Nguyễn Thị Lan' }], { columns: {} });
    const [pool, calls] = fakePool((text) => (text.startsWith('SELECT') ? { recordset: rows } : {}));
    const db = mssqlExecutor(pool);
    await expect(db.query(q`SELECT MaDG AS id, HoTen AS name FROM DOCGIA WHERE MaDG = ${'Q1-1'} OR HoTen = ${'Lan'} OR version = ${2}`)).resolves.toEqual([
      { id: 'Q1-1', name: 'Nguyễn Thị Lan' },
    ]);
    await expect(db.query(q`UPDATE DOCGIA SET HoTen = ${'Nguyễn Thị Lan'}, NgayTra = ${null}`)).resolves.toEqual([]);
    expect(calls).toEqual([
      'pool: SELECT MaDG AS id, HoTen AS name FROM DOCGIA WHERE MaDG = @p1 OR HoTen = @p2 OR version = @p3 [p1 VarChar="Q1-1", p2 VarChar="Lan", p3 Int=2]',
      'pool: UPDATE DOCGIA SET HoTen = @p1, NgayTra = @p2 [p1 NVarChar="Nguyễn Thị Lan", p2 NVarChar=null]',
    ]);
  });

  it('reads bigint columns, which tedious hands over as strings, as numbers', async () => {
    const rows = Object.assign([{ n: '12', isbn: '978' }], { columns: { n: { name: 'n', type: sql.BigInt }, isbn: { name: 'isbn', type: sql.VarChar } } });
    const [pool] = fakePool(() => ({ recordset: rows }));
    await expect(mssqlExecutor(pool).query(raw('SELECT COUNT_BIG(*) AS n, 978 AS isbn'))).resolves.toEqual([{ n: 12, isbn: '978' }]);
  });

  it('refuses a statement over the server\'s 2,100 parameters before sending it', async () => {
    const [pool, calls] = fakePool();
    const values = Array.from({ length: 2101 }, (_, i) => i);
    await expect(mssqlExecutor(pool).query(q`SELECT 1 WHERE 1 IN ${list(values)}`)).rejects.toThrow('at most 2100 parameters');
    expect(calls).toEqual([]);
  });

  it('runs a transaction\'s statements one at a time, then commits', async () => {
    const [pool, calls] = fakePool();
    const result = await mssqlExecutor(pool).transaction(async (tx) => {
      await Promise.all([tx.query(raw('INSERT a')), tx.query(raw('INSERT b'))]);
      return 'done';
    });
    expect(result).toBe('done');
    expect(calls).toEqual(['begin', 'tx: INSERT a', 'tx: INSERT b', 'commit']);
  });

  it('rolls back when the work throws and reports the work\'s error, not the rollback\'s', async () => {
    const [pool, calls] = fakePool();
    const db = mssqlExecutor(pool);
    const failure = db.transaction(async (tx) => {
      await tx.query(raw('INSERT a'));
      await tx.query(raw('INSERT fail'));
    });
    await expect(failure).rejects.toThrow('Violation of PRIMARY KEY constraint');
    await failure.catch((error) => expect(db.dialect.isUniqueViolation(error)).toBe(true));
    expect(calls).toEqual(['begin', 'tx: INSERT a', 'tx: INSERT fail', 'rollback']);
  });

  it('waits for a statement still in flight before rolling back', async () => {
    const [pool, calls] = fakePool();
    await expect(
      mssqlExecutor(pool).transaction(async (tx) => {
        void tx.query(raw('INSERT late')).catch(() => {});
        throw new Error('work failed');
      }),
    ).rejects.toThrow('work failed');
    expect(calls).toEqual(['begin', 'tx: INSERT late', 'rollback']);
  });

  it('refuses nested transactions', async () => {
    const [pool] = fakePool();
    await expect(mssqlExecutor(pool).transaction((tx) => tx.transaction(async () => 1))).rejects.toThrow('nested transactions are not supported');
  });

  it('closes the pool once however often close() is called', async () => {
    const [pool, calls] = fakePool();
    const db = mssqlExecutor(pool);
    await Promise.all([db.close(), db.close()]);
    expect(calls).toEqual(['close']);
  });
});

describe('openMssql', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  it('reports a server it cannot log in to with the URL, never the password', async () => {
    server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const failure = openMssql(`mssql://sa:hunter2@127.0.0.1:${port}/libfed?encrypt=false`);
    await expect(failure).rejects.toThrow(`cannot connect to SQL Server at mssql://***@127.0.0.1:${port}/libfed?encrypt=false: `);
    await expect(failure).rejects.not.toThrow('hunter2');
  });
});
