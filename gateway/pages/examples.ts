/**
 * The example operations the explorer pages open with. They are the README's
 * examples, named so that the explorer can title its tabs; a test
 * (gateway/__tests__/examples.test.ts) checks both ways that every GraphQL
 * example of README.md is here and every one here is in README.md (operation
 * names aside), and that each one validates against the gateway's schema.
 * Change them together.
 */
export interface ExampleOperation {
  /** What it shows, for a tab or a menu. */
  title: string;
  /** The operation, with a name (README's are mostly anonymous). */
  query: string;
  /** Its variables, as the README gives them under the example. */
  variables?: Record<string, unknown>;
}

export const EXAMPLE_OPERATIONS: readonly ExampleOperation[] = [
  {
    title: 'Log in (put the password, then send the token as Authorization: Bearer <token>)',
    query: 'mutation Login {\n  login(username: "thuthu_q1", password: "...") { token expiresAt role branch { id } }\n}',
  },
  {
    title: "A reader's loans made at every branch",
    query:
      'query ReaderLoans {\n  reader(id: "Q1-DG0098") {\n    name homeBranch { name }\n    loans { id branch { id } borrowedAt dueAt overdue copy { book { title } } }\n  }\n}',
  },
  {
    title: "A book's availability per branch",
    query: 'query BookAvailability {\n  books(search: "Kiều", first: 1) {\n    edges { node { title availability { branch { name } available total } } }\n  }\n}',
  },
  {
    title: 'Open loans across the chain, newest first',
    query:
      'query OpenLoans {\n  loans(open: true, first: 50) {\n    totalCount pageInfo { hasNextPage endCursor }\n    edges { node { id borrowedAt overdue branch { id } reader { name homeBranch { id } } } }\n  }\n}',
  },
  {
    title: 'Reports',
    query: 'query Reports {\n  loanStats { total open overdue }\n  topBooks(first: 5) { book { title } loans }\n}',
  },
  {
    title: 'Books, copies, readers and loans per branch (staff)',
    query:
      'query Stats($branch: ID) {\n  systemStats(branchId: $branch) {\n    totals { books copies availableCopies readers openLoans overdueLoans }\n    perBranch { branch { id name } books copies availableCopies readers openLoans overdueLoans }\n  }\n}',
    variables: { branch: null },
  },
  {
    title: 'Loans opened and returned in a period, grouped (staff)',
    query: 'query Circulation($from: DateTime!, $to: DateTime!, $by: CirculationGrouping!) {\n  circulation(from: $from, to: $to, groupBy: $by) { key label opened returned }\n}',
    variables: { from: '2026-01-01T00:00:00Z', to: '2026-04-01T00:00:00Z', by: 'MONTH' },
  },
  {
    title: 'The most borrowed titles in a period (staff)',
    query: 'query Top($from: DateTime, $to: DateTime) {\n  topBooks(first: 5, from: $from, to: $to) { book { isbn title } loans }\n}',
    variables: { from: '2026-03-01T00:00:00Z', to: '2026-03-08T00:00:00Z' },
  },
  {
    title: 'Who borrows where (staff)',
    query: 'query Matrix($from: DateTime!, $to: DateTime!) {\n  borrowingMatrix(from: $from, to: $to) { homeBranch { id } lendingBranch { id } loans }\n}',
    variables: { from: '2025-06-01T00:00:00Z', to: '2026-06-01T00:00:00Z' },
  },
  {
    title: 'Open loans past due, most overdue first (staff)',
    query:
      'query Overdue($branch: ID, $after: String) {\n  overdueReport(branchId: $branch, first: 20, after: $after) {\n    totalCount pageInfo { hasNextPage endCursor }\n    edges { node { daysOverdue loan { id dueAt reader { name } copy { book { title } } branch { id } } } }\n  }\n}',
    variables: { branch: 'Q3', after: null },
  },
  {
    title: 'Audit trail (managers)',
    query:
      'query AuditLog {\n  auditLog(from: "2026-12-01T00:00:00Z", branchId: "Q1", user: "thuthu_q1", first: 20) {\n    edges { node { at user operation outcome code gid } }\n    pageInfo { endCursor hasNextPage }\n  }\n}',
  },
  {
    title: 'Transactions in flight and in doubt (managers)',
    query: 'query Transactions {\n  transactions {\n    inFlight { gid phase sites }\n    inDoubt { site gid deadline reason }\n    waitFor { waiter holder }\n  }\n}',
  },
  {
    title: "A transaction's outcome",
    query: 'query Transaction {\n  transaction(gid: "...") { outcome commitSite entityId }\n}',
  },
  {
    title: 'Borrow a copy (a reader of Q3 at Q1: two-phase commit)',
    query:
      'mutation BorrowCopy {\n  borrowCopy(readerId: "Q3-DG0001", copyId: "Q1-QS00001") {\n    id branch { id } dueAt reader { name openLoanCount } copy { status }\n  }\n}',
  },
];
