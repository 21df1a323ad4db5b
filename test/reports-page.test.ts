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

  // The period the test picks in the page: `to` is the day after the last day, exclusive.
  const PERIOD = { from: '2026-01-01', to: '2026-05-31', fromIso: '2026-01-01T00:00:00.000Z', toIso: '2026-06-01T00:00:00.000Z' };

  const series = (labels: unknown[], ...datasets: [string, unknown[]][]) => ({ labels, datasets: datasets.map(([label, data]) => ({ label, data })) });

  /** What every chart must show for `branchId` (all branches when null) and PERIOD, straight from the API. */
  async function expected(branchId: string | null) {
    const answer = await chain.query(
      `query($b: ID, $from: DateTime!, $to: DateTime!) {
        loanStats(branchId: $b) { total open overdue }
        topBooks(branchId: $b, first: 10, from: $from, to: $to) { book { title } loans }
        systemStats(branchId: $b) { perBranch { branch { id name } openLoans overdueLoans } }
        byMonth: circulation(branchId: $b, from: $from, to: $to, groupBy: MONTH) { label opened returned }
        byBranch: circulation(branchId: $b, from: $from, to: $to, groupBy: BRANCH) { label opened returned }
        borrowingMatrix(branchId: $b, from: $from, to: $to) { homeBranch { id } lendingBranch { id } loans }
        overdueReport(branchId: $b, first: 20) { edges { node { daysOverdue loan { id } } } }
      }`,
      { b: branchId, from: PERIOD.fromIso, to: PERIOD.toIso },
    );
    expect(answer.errors).toBeUndefined();
    const d = answer.data;
    expect(d.loanStats.total).toBeGreaterThan(0);
    expect(d.byMonth.length).toBeGreaterThan(0);
    const circulation = (rows: any[]) => series(rows.map((r) => r.label), ['Opened', rows.map((r) => r.opened)], ['Returned', rows.map((r) => r.returned)]);
    return {
      loanStats: series(['All loans', 'Open', 'Overdue'], ['Count', [d.loanStats.total, d.loanStats.open, d.loanStats.overdue]]),
      topBooks: series(d.topBooks.map((t: any) => t.book.title), ['Loans', d.topBooks.map((t: any) => t.loans)]),
      systemStats: series(
        d.systemStats.perBranch.map((b: any) => b.branch.name),
        ['Open loans', d.systemStats.perBranch.map((b: any) => b.openLoans)],
        ['Overdue', d.systemStats.perBranch.map((b: any) => b.overdueLoans)],
      ),
      circulationByMonth: circulation(d.byMonth),
      circulationByBranch: circulation(d.byBranch),
      borrowingMatrix: series(d.borrowingMatrix.map((c: any) => `${c.homeBranch.id} → ${c.lendingBranch.id}`), ['Loans', d.borrowingMatrix.map((c: any) => c.loans)]),
      overdueReport: series(d.overdueReport.edges.map((e: any) => e.node.loan.id), ['Days overdue', d.overdueReport.edges.map((e: any) => e.node.daysOverdue)]),
    };
  }

  it('shows a manager the figures the API gives, for the chain and for one branch, over a chosen period', async () => {
    const page = await browser.context.newPage();
    const failures: string[] = [];
    page.on('pageerror', (e) => failures.push(e.message));
    await page.goto(`${origin}/reports/`);
    await page.locator('#notice', { hasText: 'Log in as a manager' }).waitFor();
    await page.locator('#filters input[name=from]').fill(PERIOD.from);
    await page.locator('#filters input[name=to]').fill(PERIOD.to);
    await page.locator('#login input[name=username]').fill('quanly');
    await page.locator('#login input[name=password]').fill(DEMO_PASSWORD);
    await page.locator('#login button[type=submit]').click();
    await page.locator('#reports[data-state=ready][data-branch=""]').waitFor();

    const all = await chartsOf(page);
    expect(all).toEqual(await expected(null));
    expect(await page.locator('section[data-report=topBooks] tbody tr').count()).toBe(all.topBooks.labels.length);

    await page.locator('#filters select[name=branch]').selectOption('Q3');
    await page.locator('#reports[data-state=ready][data-branch=Q3]').waitFor();
    const q3 = await chartsOf(page);
    expect(q3).toEqual(await expected('Q3'));
    expect(q3.loanStats.datasets[0].data[0]).toBeLessThan(all.loanStats.datasets[0].data[0] as number);

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
