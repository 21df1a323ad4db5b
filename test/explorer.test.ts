import { request } from 'node:http';
import type { Page } from 'playwright-core';
import { describeInChromium, offlineBrowser, type OfflineBrowser } from './browser';
import { DEMO_PASSWORD } from './fixture';
import { startTestChain, type TestChain } from './harness';
import { EXAMPLE_OPERATIONS } from '../gateway/pages';

/** The text of GraphiQL's result pane (a CodeMirror 5 editor). */
async function resultPane(page: Page): Promise<string> {
  const pane = page.locator('.result-window .CodeMirror');
  const read = () => pane.evaluate((el) => (el as unknown as { CodeMirror: { getValue(): string } }).CodeMirror.getValue());
  // The pane fills when the answer arrives: wait for it (no fixed delay).
  await pane.waitFor();
  for (;;) {
    const text = await read();
    if (text.trim()) return text;
    await page.waitForTimeout(100);
  }
}

async function openTab(page: Page, title: string): Promise<void> {
  await page.locator('.graphiql-tab-button', { hasText: new RegExp(`^${title}$`) }).click();
  await page.locator('.graphiql-tab-active', { hasText: title }).waitFor();
}


/** A GET with the path sent as it is (fetch would resolve `..` first). */
function rawGet(origin: string, path: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, method: 'GET', headers: { accept: '*/*' } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describeInChromium('the explorer in a browser with no internet access', () => {
  let chain: TestChain;
  let browser: OfflineBrowser;
  let origin: string;
  /** The second gateway: --no-introspection, and GraphiQL straight at `/`. */
  let closedOrigin: string;

  beforeAll(async () => {
    chain = await startTestChain('pglite', { gateways: 2, gatewayArgsFor: (i) => (i === 1 ? ['--no-introspection', '--explorer', 'graphiql'] : []) });
    origin = new URL(chain.gatewayUrl).origin;
    closedOrigin = new URL(chain.gateways[1].url).origin;
    browser = await offlineBrowser();
  }, 180_000);
  afterAll(async () => {
    try {
      await browser?.close();
    } finally {
      await chain?.close();
    }
  });

  it('offers both explorers at the gateway address', async () => {
    const page = await browser.context.newPage();
    for (const path of ['/', '/graphql']) {
      await page.goto(origin + path);
      expect(await page.locator('a#graphiql').getAttribute('href')).toBe('/explorer/');
      expect(await page.locator('a#sandbox').getAttribute('href')).toBe('/explorer/sandbox');
    }
    await page.close();
  });

  it('logs in and runs a README example in GraphiQL, all from the gateway, with the API\'s answer', async () => {
    const before = browser.requests.length;
    const page = await browser.context.newPage();
    await page.goto(`${origin}/explorer/`);
    await page.locator('#login input[name=username]').fill('quanly');
    await page.locator('#login input[name=password]').fill(DEMO_PASSWORD);
    await page.locator('#login button[type=submit]').click();
    await page.locator('#who', { hasText: 'Logged in as quanly' }).waitFor();

    // The tabs are the README examples; "Reports" needs the manager's login.
    await openTab(page, 'Reports');
    await page.locator('.graphiql-execute-button').click();
    const shown = JSON.parse(await resultPane(page));

    const reports = EXAMPLE_OPERATIONS.find((e) => e.query.startsWith('query Reports'))!.query;
    const expected = await chain.query(reports);
    expect(expected.errors).toBeUndefined();
    expect(expected.data.loanStats.total).toBeGreaterThan(0);
    expect(shown).toEqual({ data: expected.data });

    const mine = browser.requests.slice(before);
    expect(mine).toContain(`${origin}/explorer/graphiql.min.js`);
    expect(mine.filter((u) => new URL(u).origin !== origin)).toEqual([]);
    expect(browser.outside).toEqual([]);
    await page.close();
  });

  it('says plainly that Apollo Sandbox cannot load offline, and links the offline explorer', async () => {
    const before = browser.outside.length;
    const page = await browser.context.newPage();
    await page.goto(`${origin}/explorer/sandbox`);
    const fallback = page.locator('#fallback', { hasText: 'could not be loaded' });
    await fallback.waitFor();
    expect(await fallback.locator('a').getAttribute('href')).toBe('/explorer/');
    // It tried Apollo's script, and nothing else outside.
    expect(browser.outside.slice(before).map((u) => new URL(u).hostname)).toEqual(['embeddable-sandbox.cdn.apollographql.com']);
    browser.outside.splice(before);
    await page.close();
  });

  it('with introspection off, says so, asks for no schema, and still runs an operation', async () => {
    const page = await browser.context.newPage();
    const bodies: string[] = [];
    page.on('request', (r) => r.method() === 'POST' && bodies.push(r.postData() ?? ''));
    await page.goto(`${closedOrigin}/`);
    await page.locator('#notice', { hasText: 'introspection is turned off' }).waitFor();
    await page.locator('.graphiql-execute-button').waitFor();
    // Anonymous callers may read books and their availability.
    await openTab(page, 'BookAvailability');
    await page.locator('.graphiql-execute-button').click();
    const shown = JSON.parse(await resultPane(page));
    const example = EXAMPLE_OPERATIONS.find((e) => e.query.startsWith('query BookAvailability'))!.query;
    const expected = await chain.query(example, {}, chain.gateways[1].url, null);
    expect(expected.data.books.edges[0].node.availability.length).toBe(chain.config.sites.length);
    expect(shown).toEqual({ data: expected.data });
    expect(bodies.some((b) => b.includes('__schema'))).toBe(false);
    expect(browser.outside).toEqual([]);
    await page.close();
  });

  it('serves its files with their types and caching, and only the files it names', async () => {
    const js = await fetch(`${origin}/explorer/graphiql.min.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('cache-control')).toBe('public, max-age=86400');
    const etag = js.headers.get('etag')!;
    expect((await fetch(`${origin}/explorer/graphiql.min.js`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    expect((await fetch(`${origin}/explorer/graphiql.min.css`)).headers.get('content-type')).toBe('text/css; charset=utf-8');
    const page = await fetch(`${origin}/explorer/`);
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    for (const path of ['/explorer/../package.json', '/explorer/%2e%2e/%2e%2e/package.json', '/explorer/..%2F..%2Fpackage.json', '/explorer/assets/explorer.js', '/explorer/static.ts']) {
      const answer = await rawGet(origin, path);
      expect([path, answer.status]).toEqual([path, 404]);
      expect(answer.body).not.toContain('"name": "libfed"');
    }
    expect((await fetch(`${origin}/explorer/explorer.js`, { method: 'POST' })).status).toBe(405);
  });
});
