import { loanId as globalLoanId } from '../contracts';
import type { SitesConfig } from '../schema';
import { generateDemoData, type DemoData } from '../sql/seed';

/** The demo data every integration test runs on, and the oracle its answers are checked against. */
export const DEMO_NOW = new Date('2026-06-01T08:00:00.000Z');
/** The password of every demo staff account in the test chains (`quanly`, `thuthu_q1`, ...). */
export const DEMO_PASSWORD = 'mật-khẩu thử 2026';

export function demoBranches(config: SitesConfig) {
  return config.sites.map((s) => ({ id: s.id, name: s.name, address: s.address }));
}

export function demoData(config: SitesConfig): DemoData {
  return generateDemoData({ branches: demoBranches(config), now: DEMO_NOW });
}

/** The global id a loan gets at its site. */
export function loanId(loan: { branchId: string; seq: number }): string {
  return globalLoanId(loan.branchId, loan.seq);
}

/** An open loan at `branch` whose reader may still borrow (fewer than 4 open loans): a borrow in the test cannot hit the limit. */
export function openLoanOfReaderWithRoom(data: DemoData, branch: string): DemoData['loans'][number] {
  const open = (readerId: string) => data.loans.filter((x) => x.readerId === readerId && x.returnedAt === null).length;
  const loan = data.loans.find((l) => l.returnedAt === null && l.readerId.startsWith(`${branch}-`) && open(l.readerId) < 4);
  if (!loan) throw new Error(`the demo data has no open loan at ${branch} whose reader has room for another`);
  return loan;
}
