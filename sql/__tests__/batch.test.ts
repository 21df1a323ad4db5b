import sql, { type ISqlType } from 'mssql';
import { chunkStatements, inChunks } from '../batch';
import { mssql, postgres } from '../dialect';
import { list, sql as q } from '../fragment';
import { mssqlExecutor, type MssqlPoolLike } from '../mssql';

/** IN lists over many keys stay under SQL Server's 2,100 parameters, and keys bind with their column's type. */
const keys = Array.from({ length: 5000 }, (_, i) => (i % 11 === 0 ? `Q1-DGỄ${i}` : `Q1-DG${String(i).padStart(4, '0')}`));
const byReaders = (chunk: readonly string[]) => q`SELECT MaDG AS id FROM DOCGIA WHERE MaCN_DangKy = ${'Q1'} AND MaDG IN ${list(chunk, 'varchar')}`;

describe('chunkStatements', () => {
  it('splits 5,000 keys into SQL Server statements of at most 2,000 parameters, the other parameter counted, keys in order', () => {
    const chunks = chunkStatements(mssql, keys, byReaders).map((s) => mssql.render(s));
    expect(chunks.map((c) => c.values.length)).toEqual([2000, 2000, 1003]);
    expect(chunks.flatMap((c) => c.values.slice(1))).toEqual(keys);
    for (const c of chunks) {
      expect(Math.max(...[...c.text.matchAll(/@p(\d+)\b/g)].map((m) => Number(m[1])))).toBe(c.values.length);
      // Every key declared varchar, the non-ASCII ones too; the branch literal keeps the type its value picks.
      expect(c.types).toEqual([undefined, ...Array(c.values.length - 1).fill('varchar')]);
    }
    expect(chunkStatements(postgres, keys.slice(0, 3), byReaders).map((s) => postgres.render(s).text)).toEqual([
      'SELECT MaDG AS id FROM DOCGIA WHERE MaCN_DangKy = $1 AND MaDG IN ($2, $3, $4)',
    ]);
    expect(chunkStatements(mssql, [], byReaders)).toEqual([]);
  });
});

describe('inChunks on SQL Server', () => {
  it('sends one request per chunk, binds every key as varchar, and returns every chunk\'s rows in order', async () => {
    const requests: { text: string; types: string[] }[] = [];
    const pool: MssqlPoolLike = {
      request: () => {
        const types: string[] = [];
        const values: unknown[] = [];
        return {
          input: (_name: string, type: ISqlType, value: unknown) => {
            types.push((type.type as { name?: string }).name ?? '?');
            values.push(value);
          },
          async query(text: string) {
            requests.push({ text, types });
            return { recordset: Object.assign(values.slice(1).map((id) => ({ id })), { columns: {} }) };
          },
        };
      },
      transaction: () => {
        throw new Error('not used');
      },
      close: async () => undefined,
    };
    const rows = await inChunks<{ id: string }, string>(mssqlExecutor(pool), keys, byReaders);
    expect(rows.map((r) => r.id)).toEqual(keys);
    expect(requests).toHaveLength(3);
    for (const r of requests) expect(new Set(r.types.slice(1))).toEqual(new Set([sql.VarChar.name]));
    // Without a declared type, a non-ASCII key alone would be nvarchar.
    expect(requests[0].types[0]).toBe(sql.VarChar.name);
  });
});
