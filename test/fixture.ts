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
