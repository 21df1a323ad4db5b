import type { Page } from 'playwright-core';
import { describeInChromium, offlineBrowser, type OfflineBrowser } from './browser';
import { DEMO_PASSWORD } from './fixture';
import { startTestChain, type TestChain } from './harness';

interface ChartData {
  labels: unknown[];
  datasets: { label: string; data: unknown[] }[];
}

/** Each report section's chart data, read from its Chart.js instance, by `data-report` (run in the page, hence a string). */
function chartsOf(page: Page): Promise<Record<string, ChartData>> {
  return page.evaluate(`(() => {
    const out = {};
    for (const section of document.querySelectorAll('section[data-report]')) {
      const canvas = section.querySelector('canvas');
      const chart = canvas && Chart.getChart(canvas);
      if (chart) out[section.dataset.report] = { labels: [...chart.data.labels], datasets: chart.data.datasets.map((d) => ({ label: d.label, data: [...d.data] })) };
    }
    return out;
  })()`);
}

describeInChromium('the reports page in a browser with no internet access', () => {
  let chain: TestChain;
  let browser: OfflineBrowser;
  let origin: string;

  beforeAll(async () => {
    chain = await startTestChain('pglite');
    origin = new URL(chain.gatewayUrl).origin;
    browser = await offlineBrowser();
  }, 180_000);
  afterAll(async () => {
    try {
      await browser?.close();
    } finally {
      await chain?.close();
    }
  });

  /** What the charts must show for `branchId` (all branches when null), straight from the API. */
  async function expected(branchId: string | null) {
    const answer = await chain.query('query($b: ID) { loanStats(branchId: $b) { total open overdue } topBooks(branchId: $b, first: 10) { book { title } loans } }', { b: branchId });
    expect(answer.errors).toBeUndefined();
    const { loanStats: s, topBooks } = answer.data;
    expect(s.total).toBeGreaterThan(0);
    return {
      loanStats: { labels: ['All loans', 'Open', 'Overdue'], datasets: [{ label: 'Count', data: [s.total, s.open, s.overdue] }] },
      topBooks: { labels: topBooks.map((t: any) => t.book.title), datasets: [{ label: 'Loans', data: topBooks.map((t: any) => t.loans) }] },
    };
  }

  it('shows a manager the figures the API gives, for the chain and for one branch', async () => {
    const page = await browser.context.newPage();
    const failures: string[] = [];
    page.on('pageerror', (e) => failures.push(e.message));
    await page.goto(`${origin}/reports/`);
    await page.locator('#notice', { hasText: 'Log in as a manager' }).waitFor();
    await page.locator('#login input[name=username]').fill('quanly');
    await page.locator('#login input[name=password]').fill(DEMO_PASSWORD);
    await page.locator('#login button[type=submit]').click();
    await page.locator('#reports[data-state=ready][data-branch=""]').waitFor();

    const all = await chartsOf(page);
    expect({ loanStats: all.loanStats, topBooks: all.topBooks }).toEqual(await expected(null));
    expect(await page.locator('section[data-report=topBooks] tbody tr').count()).toBe(all.topBooks.labels.length);

    await page.locator('#filters select[name=branch]').selectOption('Q3');
    await page.locator('#reports[data-state=ready][data-branch=Q3]').waitFor();
    const q3 = await chartsOf(page);
    const wanted = await expected('Q3');
    expect({ loanStats: q3.loanStats, topBooks: q3.topBooks }).toEqual(wanted);
    expect(q3.loanStats.datasets[0].data[0]).toBeLessThan(all.loanStats.datasets[0].data[0] as number);

    // Reports the API lacks are left out, not shown as errors.
    expect(await page.locator('section.report .error').allInnerTexts()).toEqual([]);
    expect(failures).toEqual([]);
    expect(browser.requests.filter((u) => new URL(u).origin !== origin)).toEqual([]);
    expect(browser.outside).toEqual([]);
    await page.close();
  });

  it('serves Chart.js from its package', async () => {
    const js = await fetch(`${origin}/reports/chart.umd.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await js.text()).toContain('window.Chart');
  });
});
