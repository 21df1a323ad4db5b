/**
 * What one site sends for each report: the bytes of its answer to the report
 * query as the gateway would send it (every group; TOPK asks for all), and how
 * many items it holds. The benchmark compares these with a naive plan that
 * ships rows; the report test checks they follow the number of groups.
 */
export type SiteFetch = (url: string, init?: RequestInit) => Promise<Response>;

export interface ReportBytes {
  report: string;
  bytes: number;
  items: number;
}

export const REPORT_QUERIES: Record<string, { query: string; list: (data: any) => unknown[] }> = {
  systemStats: { query: '{ systemStats { totals { books copies availableCopies readers openLoans overdueLoans } perBranch { branch { id } books copies availableCopies readers openLoans overdueLoans } } }', list: (d) => d.systemStats.perBranch },
  circulationByBranch: { query: 'query($from: DateTime!, $to: DateTime!) { circulation(from: $from, to: $to, groupBy: BRANCH) { key label opened returned unresolvedReader } }', list: (d) => d.circulation },
  circulationByBook: { query: 'query($from: DateTime!, $to: DateTime!) { circulation(from: $from, to: $to, groupBy: BOOK) { key label opened returned unresolvedReader } }', list: (d) => d.circulation },
  circulationByMonth: { query: 'query($from: DateTime!, $to: DateTime!) { circulation(from: $from, to: $to, groupBy: MONTH) { key label opened returned unresolvedReader } }', list: (d) => d.circulation },
  circulationByHomeBranch: { query: 'query($from: DateTime!, $to: DateTime!) { circulation(from: $from, to: $to, groupBy: HOME_BRANCH) { key label opened returned unresolvedReader } }', list: (d) => d.circulation },
  topBooks: { query: 'query($from: DateTime, $to: DateTime) { topBooks(first: null, from: $from, to: $to) { book { isbn } loans } }', list: (d) => d.topBooks },
  borrowingMatrix: { query: 'query($from: DateTime!, $to: DateTime!) { borrowingMatrix(from: $from, to: $to) { homeBranch { id } lendingBranch { id } loans unresolvedReader } }', list: (d) => d.borrowingMatrix },
  overdueReport: { query: '{ overdueReport(first: 20) { totalCount edges { cursor node { daysOverdue loan { id } } } } }', list: (d) => d.overdueReport.edges },
};

/** Each report's answer size from the site at `siteUrl` for the period [from, to). */
export async function reportBytes(siteFetch: SiteFetch, siteUrl: string, period: { from: string; to: string }): Promise<ReportBytes[]> {
  const out: ReportBytes[] = [];
  for (const [report, { query, list }] of Object.entries(REPORT_QUERIES)) {
    const response = await siteFetch(`${siteUrl}/loans`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables: period }) });
    const text = await response.text();
    const body = JSON.parse(text) as { data?: unknown; errors?: unknown[] };
    if (!body.data || body.errors) throw new Error(`${report} at ${siteUrl}: ${text.slice(0, 300)}`);
    out.push({ report, bytes: Buffer.byteLength(text), items: list(body.data).length });
  }
  return out;
}
