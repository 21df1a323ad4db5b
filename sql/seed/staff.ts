import { hashPassword, nameSalt } from '../../contracts';
import type { SqlExecutor } from '../executor';
import { sql } from '../fragment';

/**
 * The demo staff accounts: one manager, `quanly`, and one librarian per
 * branch, `thuthu_<branch id in lower case>`, all with `password`. The table
 * is replicated, so every site seeds the same rows; the salt comes from the
 * name so that every site's hash is the same too.
 */
export function demoStaff(branchIds: readonly string[]): { username: string; role: 'THUTHU' | 'QUANLY'; branchId: string | null }[] {
  return [{ username: 'quanly', role: 'QUANLY', branchId: null }, ...branchIds.map((id) => ({ username: `thuthu_${id.toLowerCase()}`, role: 'THUTHU' as const, branchId: id }))];
}

export async function loadDemoStaff(db: SqlExecutor, branchIds: readonly string[], password: string): Promise<void> {
  for (const a of demoStaff(branchIds)) {
    const hash = await hashPassword(password, nameSalt(a.username));
    await db.query(sql`INSERT INTO libfed_staff (username, password_hash, role, branch_id) VALUES (${a.username}, ${hash}, ${a.role}, ${a.branchId})`);
  }
}
