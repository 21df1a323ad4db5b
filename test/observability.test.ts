import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SpanLine } from '../platform';
import type { DemoData } from '../sql/seed';
import { demoData } from './fixture';
import { startTestChain, type TestChain } from './harness';

/**
 * Logs, request ids, metrics and traces across real processes: one client
 * request is followed by its id through the gateway's and every called site's
 * log lines, and by its trace (each process writing its finished spans to one
 * file, LIBFED_TRACE_FILE) from the gateway's request span down to the sites'
 * SQL statements.
 */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('logs, metrics and traces', () => {
  let chain: TestChain;
  let data: DemoData;
  const traceFile = join(tmpdir(), `libfed-trace-${randomBytes(6).toString('hex')}.jsonl`);

  beforeAll(async () => {
    // No cache: every read in these tests goes to the sites, so each one is seen there.
    chain = await startTestChain('pglite', { gatewayArgs: ['--no-cache'], env: { LIBFED_TRACE_FILE: traceFile } });
    data = demoData(chain.config);
  }, 180_000);
  afterAll(async () => {
    await chain?.close();
    rmSync(traceFile, { force: true });
  });

  /** POSTs as the manager with the given x-request-id; answers the body and the id the gateway answered. */
  async function post(query: string, variables: Record<string, unknown>, requestId: string) {
    const response = await fetch(chain.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await chain.token('quanly')}`, 'x-request-id': requestId },
      body: JSON.stringify({ query, variables }),
    });
    return { answeredId: response.headers.get('x-request-id'), body: (await response.json()) as { data?: any; errors?: any[] } };
  }

  /** Polls `read` until `done` holds of it (spans and lines are written as work ends, a moment after the answer). */
  async function eventually<T>(read: () => T, done: (value: T) => boolean, ms = 5000): Promise<T> {
    const until = Date.now() + ms;
    let value = read();
    while (!done(value) && Date.now() < until) {
      await sleep(50);
      value = read();
    }
    return value;
  }

  const linesOf = (requestId: string) => chain.logs().filter((l) => l.requestId === requestId);
  const spans = (): SpanLine[] => (existsSync(traceFile) ? readFileSync(traceFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : []);
  const siteIds = () => [...chain.sites.keys()];

  it('a gathered query: the id comes back in the header, and is in the log lines of the gateway and of every site it asked', async () => {
    const id = `gathered-${randomBytes(4).toString('hex')}`;
    const { answeredId, body } = await post('query Stats { loanStats { total open overdue } }', {}, id);
    expect(body.errors).toBeUndefined();
    expect(answeredId).toBe(id);
    const lines = await eventually(() => linesOf(id), (ls) => siteIds().every((s) => ls.some((l) => l.process === s)) && ls.some((l) => l.process === 'gateway'));
    const gateway = lines.filter((l) => l.process === 'gateway');
    expect(gateway).toContainEqual(expect.objectContaining({ level: 'info', msg: 'operation answered', operation: 'Stats', outcome: 'ok', user: 'quanly' }));
    for (const site of siteIds()) expect([site, lines.filter((l) => l.process === site)]).toEqual([site, expect.arrayContaining([expect.objectContaining({ msg: 'served /loans', call: '/loans', outcome: 'ok' })])]);
    // Every line is one JSON object with the fields of the contract.
    for (const line of lines) expect(line).toEqual(expect.objectContaining({ level: expect.any(String), msg: expect.any(String), process: expect.any(String), time: expect.any(String) }));
  });

  it('an x-request-id that is not a sane token is replaced by a fresh one', async () => {
    const { answeredId, body } = await post('{ branches { id } }', {}, 'not a sane id: spaces, "quotes" and a colon');
    expect(body.errors).toBeUndefined();
    expect(answeredId).toMatch(/^[A-Za-z0-9._-]{1,128}$/);
    const long = await post('{ branches { id } }', {}, 'a'.repeat(129));
    expect(long.answeredId).not.toBe('a'.repeat(129));
  });

  it('a cross-site borrow: one id through the gateway\'s 2PC lines and every participant\'s, and one trace from the gateway\'s request to the sites\' SQL', async () => {
    const reader = data.readers.find((r) => r.homeBranchId === 'Q3' && r.id.startsWith('Q3-') && data.loans.filter((l) => l.readerId === r.id && l.returnedAt === null).length <= 2)!;
    const copy = data.copies.find((c) => c.branchId === 'Q1' && c.id.startsWith('Q1-') && c.status === 'Có sẵn')!;
    const id = `borrow-${randomBytes(4).toString('hex')}`;
    const { answeredId, body } = await post('mutation Borrow($r: ID!, $c: ID!) { borrowCopy(readerId: $r, copyId: $c) { id branch { id } } }', { r: reader.id, c: copy.id }, id);
    expect(body.errors).toBeUndefined();
    expect(answeredId).toBe(id);

    // Logs: the gateway's 2PC steps and audit line, and each participant's handling of its calls, all under the id.
    const lines = await eventually(() => linesOf(id), (ls) => ['Q1', 'Q3'].every((s) => ls.some((l) => l.process === s && l.call?.startsWith('/tx/'))));
    const gateway = lines.filter((l) => l.process === 'gateway');
    expect(gateway).toContainEqual(expect.objectContaining({ msg: 'tx prepare', site: 'Q3', outcome: 'PREPARED' }));
    expect(gateway).toContainEqual(expect.objectContaining({ audit: true, mutation: 'borrowCopy', outcome: 'COMMITTED' }));
    expect(gateway).toContainEqual(expect.objectContaining({ msg: 'operation answered', operation: 'Borrow', outcome: 'ok' }));
    expect(lines.filter((l) => l.process === 'Q3')).toContainEqual(expect.objectContaining({ call: '/tx/prepare', outcome: 'PREPARED', gid: expect.any(String) }));
    expect(lines.filter((l) => l.process === 'Q1').some((l) => l.call?.startsWith('/tx/'))).toBe(true);

    // Traces: the request's span names the id; everything under it shares its trace.
    const root = (await eventually(spans, (all) => all.some((s) => s.attributes['libfed.request_id'] === id))).find((s) => s.attributes['libfed.request_id'] === id)!;
    expect(root).toMatchObject({ name: 'graphql request', process: 'gateway', parentSpanId: null });
    const inTrace = await eventually(
      () => spans().filter((s) => s.traceId === root.traceId),
      // A span reaches the file when it ends, and a site's call span ends after its answer is sent: wait until every parent is in too (a broken link still fails below, after 5 s).
      (ss) =>
        ss.some((s) => s.process === 'Q3' && s.name === 'sql.query') &&
        ss.some((s) => s.name === 'site tx commit' && s.process === 'Q3') &&
        ss.every((s) => s.parentSpanId === null || ss.some((p) => p.spanId === s.parentSpanId)),
    );
    const byId = new Map(inTrace.map((s) => [s.spanId, s]));
    const parent = (s: SpanLine) => (s.parentSpanId ? byId.get(s.parentSpanId) : undefined);
    const ancestors = (s: SpanLine): SpanLine[] => {
      const up: SpanLine[] = [];
      for (let p = parent(s); p; p = parent(p)) up.push(p);
      return up;
    };
    // Every span but the root has its parent in the same trace: no broken link between processes.
    for (const s of inTrace) if (s.spanId !== root.spanId) expect([s.name, s.process, ancestors(s).at(-1)?.spanId]).toEqual([s.name, s.process, root.spanId]);

    // The gateway's steps: the read back through a site fetch, and each 2PC step of each participant, children of the request.
    expect(inTrace.filter((s) => s.name === 'site fetch' && s.process === 'gateway').length).toBeGreaterThan(0);
    const prepare = inTrace.find((s) => s.name === 'tx prepare' && s.attributes['libfed.site'] === 'Q3')!;
    expect(prepare).toMatchObject({ process: 'gateway' });
    expect(inTrace.some((s) => s.name === 'tx commit' && s.attributes['libfed.site'] === 'Q3')).toBe(true);
    // At the site: its handling of the prepare is the child of the gateway's prepare span, and its SQL under it.
    const handled = inTrace.find((s) => s.process === 'Q3' && s.name === 'site tx prepare')!;
    expect(handled.parentSpanId).toBe(prepare.spanId);
    const sqlAtQ3 = inTrace.filter((s) => s.process === 'Q3' && s.name === 'sql.query' && ancestors(s).includes(handled));
    expect(sqlAtQ3.length).toBeGreaterThan(0);
    expect(sqlAtQ3[0].attributes['db.query.text']).toEqual(expect.any(String));
    // Every site fetch of the read back reached a site whose span is its child.
    for (const fetchSpan of inTrace.filter((s) => s.name === 'site fetch')) {
      expect([fetchSpan.attributes['libfed.site'], inTrace.some((s) => s.parentSpanId === fetchSpan.spanId && s.process === fetchSpan.attributes['libfed.site'])]).toEqual([fetchSpan.attributes['libfed.site'], true]);
    }
  });

  it('/metrics on the gateway and on a site: requests by operation and outcome, latency, errors, site calls, SQL, and the process figures', async () => {
    const id = `metrics-${randomBytes(4).toString('hex')}`;
    for (let i = 0; i < 3; i++) expect((await post('query Branches { branches { id } }', {}, `${id}-${i}`)).body.errors).toBeUndefined();
    const bad = await post('query Bad { noSuchField }', {}, `${id}-bad`);
    expect(bad.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const gw = chain.gatewayUrl;
    expect(await chain.metric(gw, 'libfed_requests_total', { operation: 'Branches', outcome: 'ok' })).toBeGreaterThanOrEqual(3);
    expect(await chain.metric(gw, 'libfed_request_duration_seconds_count', { operation: 'Branches' })).toBeGreaterThanOrEqual(3);
    const seconds = await chain.metric(gw, 'libfed_request_duration_seconds_sum', { operation: 'Branches' });
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThan(60);
    expect(await chain.metric(gw, 'libfed_requests_total', { outcome: 'GRAPHQL_VALIDATION_FAILED' })).toBeGreaterThanOrEqual(1);
    expect(await chain.metric(gw, 'libfed_errors_total', { code: 'GRAPHQL_VALIDATION_FAILED' })).toBeGreaterThanOrEqual(1);
    expect(await chain.metric(gw, 'libfed_gateway_site_requests_total', { outcome: 'ok' })).toBeGreaterThan(0);
    // The gateway watches every site with one long poll (gateway/health/watch.ts), answered at the latest after its wait (1 s).
    let watchCalls = 0;
    for (let i = 0; i < 100 && watchCalls === 0; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 100));
      watchCalls = await chain.metric(gw, 'libfed_gateway_tx_calls_total', { action: 'watch', outcome: 'ok' });
    }
    expect(watchCalls).toBeGreaterThan(0);
    expect(await chain.metric(gw, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(await chain.metric(gw, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);

    // A replicated read goes to one site, the fastest: summed over the sites.
    const overSites = async (name: string, labels: Record<string, string>) => {
      let total = 0;
      for (const s of chain.sites.values()) total += await chain.metric(s.url, name, labels);
      return total;
    };
    expect(await overSites('libfed_site_requests_total', { subgraph: 'catalog', outcome: 'ok' })).toBeGreaterThanOrEqual(3);
    expect(await overSites('libfed_site_request_duration_seconds_count', { subgraph: 'catalog' })).toBeGreaterThanOrEqual(3);
    const site = chain.sites.get('Q1')!.url;
    expect(await chain.metric(site, 'libfed_site_tx_requests_total', { action: 'watch', outcome: 'ok' })).toBeGreaterThan(0);
    expect(await chain.metric(site, 'libfed_site_sql_statements_total')).toBeGreaterThan(0);
    expect(await chain.metric(site, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(await chain.metric(site, 'process_resident_memory_bytes')).toBeGreaterThan(0);
  });
});
