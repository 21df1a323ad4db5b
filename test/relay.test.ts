import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildClientSchema, getIntrospectionQuery, printSchema } from 'graphql';
import pino from 'pino';
import { startGateway, type GatewayHandle } from '../gateway/server';
import { loadSites } from '../schema';
import { ROOT } from '../launch/chain';

/**
 * Relay clients page every LibFed list. Relay's compiler
 * compiles a paginated `@connection` fragment per list against the schema the
 * gateway serves (by introspection, as a client sees it); it refused every list
 * while `PageInfo` lacked hasPreviousPage and startCursor. Only forward paging
 * (first/after) is offered: merging pages backwards over k sites is not built.
 */
const run = promisify(execFile);
const compiler = join(ROOT, 'node_modules', 'relay-compiler', 'cli.js');

const FRAGMENTS: Record<string, string> = {
  LoansList: `fragment LoansList_query on Query @argumentDefinitions(first: { type: "Int", defaultValue: 10 }, after: { type: "String" }) {
    loans(open: true, first: $first, after: $after) @connection(key: "LoansList_loans") { edges { node { id borrowedAt } } }
  }`,
  ReadersList: `fragment ReadersList_query on Query @argumentDefinitions(first: { type: "Int", defaultValue: 10 }, after: { type: "String" }) {
    readers(search: "Nguyễn", first: $first, after: $after) @connection(key: "ReadersList_readers") { edges { node { id name } } }
  }`,
  BooksList: `fragment BooksList_query on Query @argumentDefinitions(first: { type: "Int", defaultValue: 10 }, after: { type: "String" }) {
    books(first: $first, after: $after) @connection(key: "BooksList_books") { edges { node { isbn title } } }
  }`,
};

async function compile(schema: string): Promise<{ ok: boolean; output: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'libfed-relay-'));
  try {
    mkdirSync(join(dir, 'src'));
    writeFileSync(join(dir, 'schema.graphql'), schema);
    writeFileSync(join(dir, 'relay.config.json'), JSON.stringify({ src: './src', schema: './schema.graphql', language: 'typescript' }));
    for (const [module, fragment] of Object.entries(FRAGMENTS)) writeFileSync(join(dir, 'src', `${module}.ts`), `import { graphql } from 'relay-runtime';\nexport const f = graphql\`${fragment}\`;\n`);
    try {
      const { stdout, stderr } = await run(process.execPath, [compiler], { cwd: dir, timeout: 60_000 });
      return { ok: true, output: stdout + stderr };
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string; message: string };
      return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}${e.message}` };
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('Relay pagination against the gateway\'s schema', () => {
  let gateway: GatewayHandle;
  let schema: string;

  beforeAll(async () => {
    // No site needs to answer: introspection is the gateway's own.
    gateway = await startGateway({ config: loadSites(join(ROOT, 'schema', 'sites.yaml')), siteSecrets: [randomBytes(32).toString('hex')], jwtSecret: randomBytes(32).toString('hex'), cache: false, recoveryIntervalMs: 60_000, log: pino({ level: 'silent' }) });
    const response = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: getIntrospectionQuery() }) });
    schema = printSchema(buildClientSchema(((await response.json()) as { data: never }).data));
  }, 60_000);
  afterAll(() => gateway?.stop());

  it('compiles an @connection fragment for loans, readers and books', async () => {
    const result = await compile(schema);
    expect(result.ok ? "compiled" : result.output).toBe("compiled");
  }, 90_000);

  it('refuses them on a PageInfo without hasPreviousPage (the check can fail)', async () => {
    const result = await compile(schema.replace(/^\s*hasPreviousPage: Boolean!\n/m, ''));
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/hasPreviousPage/);
  }, 90_000);
});
