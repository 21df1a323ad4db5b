import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { composeSupergraph, ERROR_CODES, isErrorCode, parseDistribution, parseSites, readSupergraph, SitesConfigError } from '..';

const ROOT = join(__dirname, '..', '..');

describe('supergraph', () => {
  it('is what composing the subgraph files gives (run `npm run compose` after editing them)', () => {
    expect(readSupergraph()).toBe(composeSupergraph());
  });

  it('carries no distribution directive: clients never see them', () => {
    expect(readSupergraph()).not.toMatch(/@(gather|locate|fragmented|replicated)\b/);
  });
});

describe('sites.yaml', () => {
  const valid = readFileSync(join(ROOT, 'schema', 'sites.yaml'), 'utf8');

  it('loads the default three sites on the embedded engine', () => {
    const config = parseSites(valid);
    expect(config.sites.map((s) => [s.id, s.database.kind])).toEqual([['Q1', 'pglite'], ['Q3', 'pglite'], ['Q5', 'pglite']]);
  });

  const withDatabase = (yaml: string) => valid.replace('    database: pglite', yaml);

  it('reads a server database\'s pool, timeouts and TLS settings', () => {
    const mssql = parseSites(
      withDatabase(`    database:
      url: mssql://libfed:pw@db.q1:1433/THUVIEN_Q1
      poolMax: 20
      connectTimeoutMs: 8000
      requestTimeoutMs: 4000
      lockTimeoutMs: 1500
      encrypt: true
      trustServerCertificate: false
      instanceName: SQLEXPRESS`),
    );
    expect(mssql.sites[0].database).toEqual({
      kind: 'mssql',
      url: 'mssql://libfed:pw@db.q1:1433/THUVIEN_Q1',
      settings: { poolMax: 20, connectTimeoutMs: 8000, requestTimeoutMs: 4000, lockTimeoutMs: 1500, encrypt: true, trustServerCertificate: false, instanceName: 'SQLEXPRESS' },
    });
    const pg = parseSites(withDatabase('    database: { url: "postgres://libfed@db.q1/libfed_q1", poolMax: 5, lockTimeoutMs: 2000 }'));
    expect(pg.sites[0].database).toEqual({ kind: 'postgres', url: 'postgres://libfed@db.q1/libfed_q1', settings: { poolMax: 5, lockTimeoutMs: 2000 } });
  });

  it.each([
    ['a pool of none', '{ url: "postgres://h/d", poolMax: 0 }', 'sites.0.database.poolMax: must be at least 1'],
    ['a fractional timeout', '{ url: "mssql://h/d", requestTimeoutMs: 1.5 }', 'sites.0.database.requestTimeoutMs: must be a whole number of milliseconds'],
    ['a lock timeout not below the request timeout', '{ url: "mssql://h/d", requestTimeoutMs: 2000, lockTimeoutMs: 2000 }', 'sites.0.database.lockTimeoutMs: must be below requestTimeoutMs (2000)'],
    ['a SQL Server setting on PostgreSQL', '{ url: "postgres://h/d", encrypt: true }', 'sites.0.database: Unrecognized key: "encrypt" (a postgres database takes url, poolMax, connectTimeoutMs, requestTimeoutMs, lockTimeoutMs)'],
    ['a misspelt setting', '{ url: "mssql://h/d", trustServerCertficate: true }', 'Unrecognized key: "trustServerCertficate"'],
    ['a flag that is not a boolean', '{ url: "mssql://h/d", encrypt: "yes" }', 'sites.0.database.encrypt: '],
    ['both an instance and a port', '{ url: "mssql://h/d", instanceName: "SQLEXPRESS", port: 1433 }', 'sites.0.database.port: a named instance is found through SQL Browser'],
    ['a bad instance name', '{ url: "mssql://h/d", instanceName: "a b" }', 'sites.0.database.instanceName: must be up to 16 letters'],
    ['settings for pglite', '{ url: pglite, poolMax: 2 }', 'sites.0.database.url: must be a postgres:// or mssql:// URL (pglite takes no settings'],
  ])('refuses %s and names the field', (_, yaml, expected) => {
    expect(() => parseSites(withDatabase(`    database: ${yaml}`))).toThrow(expected);
  });

  it.each([
    ['a bad site id', valid.replace('id: Q3', 'id: q-3'), 'sites.1.id'],
    ['a duplicate site id', valid.replace('id: Q5', 'id: Q1'), 'duplicate site id "Q1"'],
    ['an unknown database', valid.replace('database: pglite', 'database: oracle://x'), 'sites.0.database'],
    ['a bad url', valid.replace('url: http://127.0.0.1:4001', 'url: not a url'), 'sites.0.url'],
    ['a table both fragmented and replicated', valid.replace('replicated: [SACH, CHINHANH]', 'replicated: [SACH, DOCGIA]'), 'DOCGIA is both'],
    ['broken YAML', 'sites: [', 'not valid YAML'],
    [
      'two sites on one database',
      valid.replace(/database: pglite/g, (_, at: number) => (at < valid.indexOf('id: Q5') ? 'database: postgres://postgres@127.0.0.1:5432/libfed' : 'database: pglite')),
      'sites Q1 and Q3 name the same database postgres://127.0.0.1:5432/libfed',
    ],
    ['two sites on one address', valid.replace('url: http://127.0.0.1:4003', 'url: http://127.0.0.1:4001/'), 'sites Q1 and Q5 name the same url 127.0.0.1:4001'],
  ])('refuses %s and names the field', (_, text, expected) => {
    expect(() => parseSites(text)).toThrow(SitesConfigError);
    expect(() => parseSites(text)).toThrow(expected);
  });
});

describe('distribution directives', () => {
  const sdl = (query: string) => `type Query { ${query} }`;

  it('refuses a root field with no rule, or two', () => {
    expect(() => parseDistribution('loans', sdl('a: Int'))).toThrow('Query.a: a root field needs exactly one');
    expect(() => parseDistribution('loans', sdl('a(id: ID): Int @replicated @locate(arg: "id")'))).toThrow('exactly one');
  });

  it('refuses merges missing what they need', () => {
    expect(() => parseDistribution('loans', sdl('a: [Int] @gather(merge: SORTED)'))).toThrow('SORTED needs orderBy');
    expect(() => parseDistribution('loans', sdl('a: [Int] @gather(merge: TOPK, orderBy: "n DESC")'))).toThrow('TOPK needs');
    expect(() => parseDistribution('loans', sdl('a: [Int] @gather(merge: CONCAT, branchArg: "b")'))).toThrow('argument "b"');
    expect(() => parseDistribution('loans', sdl('a: [Int] @gather(merge: SORTED, orderBy: "n SIDEWAYS")'))).toThrow('orderBy');
  });

  it('reads limits, shapes and branch arguments from the loans subgraph', () => {
    const loans = parseDistribution('loans', readFileSync(join(ROOT, 'schema', 'loans.graphql'), 'utf8'));
    expect(loans.roots.get('loans')).toEqual({
      kind: 'gather',
      rule: {
        merge: 'SORTED', shape: 'connection', branchArg: 'branchId', limitArg: 'first', limitDefault: 20,
        orderBy: [{ field: 'borrowedAt', direction: 'DESC' }, { field: 'id', direction: 'DESC' }],
      },
    });
    expect(loans.entities.get('Loan')).toEqual({ kind: 'fragmented', by: 'branch' });
    expect(loans.entities.get('Reader')?.kind).toBe('gather');
  });
});

describe('error catalogue', () => {
  function sources(dir: string): string[] {
    return readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      if (name === 'node_modules' || name === '__tests__' || name.startsWith('.')) return [];
      return statSync(path).isDirectory() ? sources(path) : name.endsWith('.ts') ? [path] : [];
    });
  }
  /** Every non-test source file of the folders that raise errors. */
  const files = ['schema', 'contracts', 'platform', 'sql', 'subgraphs', 'gateway', 'cache', 'launch', 'bench'].flatMap((d) => sources(join(ROOT, d)));
  const CATALOGUE = join(ROOT, 'schema', 'errors.ts');
  /** A code passed to a typed constructor: the catalogue's `libfedError` and `errorJson`, the participant's `refuse`. */
  const CONSTRUCTED = /\b(?:libfedError|errorJson|refuse)\(\s*['"`]([A-Za-z_]+)['"`]/g;
  /** A code spelled as a raw literal in an object (`code: 'X'`, `"code": "X"`), bypassing the constructors. */
  const RAW = /\bcode['"]?\s*:\s*['"`]([A-Z][A-Z0-9_]*)['"`]/g;
  const raised = new Set<string>();
  const raw: string[] = [];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(CONSTRUCTED)) raised.add(m[1]);
    if (file === CATALOGUE) continue;
    for (const m of text.matchAll(RAW)) {
      raised.add(m[1]);
      raw.push(`${relative(ROOT, file)}:${text.slice(0, m.index).split('\n').length}: ${m[0]}`);
    }
  }
  /** The codes in README's error table: the rows "| `CODE` | meaning |" under the "| code | meaning |" header. */
  function readmeTable(): string[] {
    const lines = readFileSync(join(ROOT, 'README.md'), 'utf8').split('\n');
    const header = lines.findIndex((line) => /^\|\s*code\s*\|\s*meaning\s*\|\s*$/.test(line));
    expect(header).toBeGreaterThanOrEqual(0);
    const rows: string[] = [];
    for (const line of lines.slice(header + 2)) {
      if (!line.startsWith('|')) break;
      const cell = /^\|\s*`([^`]*)`\s*\|/.exec(line);
      rows.push(cell ? cell[1] : line);
    }
    return rows;
  }

  it('finds the raised codes (the scan itself works)', () => {
    expect(files).toContain(join(ROOT, 'platform', 'http.ts'));
    expect(files).toContain(join(ROOT, 'contracts', 'http-errors.ts'));
    expect(raised.size).toBeGreaterThan(5);
  });

  it('documents every code the code raises', () => {
    expect([...raised].filter((code) => !isErrorCode(code))).toEqual([]);
  });

  it('has no raw error-code literal outside the catalogue: codes go through its typed constructors', () => {
    expect(raw).toEqual([]);
  });

  it("README's error table lists exactly the catalogue, each code once", () => {
    const table = readmeTable();
    expect(table.length).toBeGreaterThan(5);
    // Every row of the table is a catalogue code ...
    expect(table.filter((code) => !isErrorCode(code))).toEqual([]);
    expect(table.filter((code, i) => table.indexOf(code) !== i)).toEqual([]);
    // ... and every catalogue code has its row (a mention elsewhere in README does not count).
    expect(Object.keys(ERROR_CODES).filter((code) => !table.includes(code))).toEqual([]);
  });
});
