import { sql, type SqlExecutor } from '../../sql';
import { byKey, replicaChecksum, replicaKey, REPLICATED_TABLES, type Operation, type ReplicatedTable, type VersionedRow } from '../../contracts';

/**
 * The site's side of comparing and repairing replicas (`libfed
 * check-replicas`): every replicated row with its version, a checksum per
 * table, and the `replica.put` operation that a repair's two-phase commit
 * applies at every site.
 */
type Db = SqlExecutor;
type Put = Extract<Operation, { kind: 'replica.put' }>;

/** Every row of `table`, in key order by code point. */
export async function replicaRows(db: Db, table: ReplicatedTable): Promise<VersionedRow[]> {
  let rows: VersionedRow[];
  switch (table) {
    case 'SACH':
      rows = (await db.query<{ isbn: string; title: string; author: string; version: number }>(sql`SELECT ISBN AS isbn, TenSach AS title, TacGia AS author, version FROM SACH`)).map(
        (r) => ({ version: Number(r.version), row: { table, isbn: r.isbn, title: r.title, author: r.author } }),
      );
      break;
    case 'CHINHANH':
      rows = (await db.query<{ id: string; name: string; address: string; version: number }>(sql`SELECT MaCN AS id, TenCN AS name, DiaChi AS address, version FROM CHINHANH`)).map(
        (r) => ({ version: Number(r.version), row: { table, id: r.id, name: r.name, address: r.address } }),
      );
      break;
    case 'libfed_staff':
      rows = (
        await db.query<{ username: string; password_hash: string; role: 'THUTHU' | 'QUANLY'; branch_id: string | null; disabled: number; version: number }>(
          sql`SELECT username, password_hash, role, branch_id, disabled, version FROM libfed_staff`,
        )
      ).map((r) => ({
        version: Number(r.version),
        row: { table, username: r.username, passwordHash: r.password_hash, role: r.role, branchId: r.branch_id, disabled: Number(r.disabled) === 1 },
      }));
      break;
  }
  return rows.sort(byKey);
}

/** Per replicated table: rows, highest version, checksum. */
export async function replicaSummary(db: Db): Promise<{ table: ReplicatedTable; rows: number; maxVersion: number; checksum: string }[]> {
  const summary = [];
  for (const table of REPLICATED_TABLES) {
    const rows = await replicaRows(db, table);
    summary.push({ table, rows: rows.length, maxVersion: Math.max(0, ...rows.map((r) => r.version)), checksum: replicaChecksum(rows) });
  }
  return summary;
}

/** The lock a repair takes: the same name the ordinary writes of that row take, so the two exclude each other. */
export function replicaResource(op: Put): string {
  const key = replicaKey(op.row);
  return op.row.table === 'libfed_staff' ? `STAFF:${key}` : `${op.row.table}:${key}`;
}

/** The site's version of the row a repair writes; null when it has none. */
export async function replicaVersion(db: Db, op: Put): Promise<number | null> {
  const key = replicaKey(op.row);
  const statement =
    op.row.table === 'SACH'
      ? sql`SELECT version FROM SACH WHERE ISBN = ${key}`
      : op.row.table === 'CHINHANH'
        ? sql`SELECT version FROM CHINHANH WHERE MaCN = ${key}`
        : sql`SELECT version FROM libfed_staff WHERE username = ${key}`;
  const found = (await db.query<{ version: number }>(statement))[0];
  return found ? Number(found.version) : null;
}

/** Writes the winning row at its version, inserting it where it is missing. */
export async function applyReplicaPut(db: Db, op: Put): Promise<void> {
  const exists = (await replicaVersion(db, op)) !== null;
  const r = op.row;
  switch (r.table) {
    case 'SACH':
      await db.query(
        exists
          ? sql`UPDATE SACH SET TenSach = ${r.title}, TacGia = ${r.author}, version = ${op.version} WHERE ISBN = ${r.isbn}`
          : sql`INSERT INTO SACH (ISBN, TenSach, TacGia, version) VALUES (${r.isbn}, ${r.title}, ${r.author}, ${op.version})`,
      );
      return;
    case 'CHINHANH':
      await db.query(
        exists
          ? sql`UPDATE CHINHANH SET TenCN = ${r.name}, DiaChi = ${r.address}, version = ${op.version} WHERE MaCN = ${r.id}`
          : sql`INSERT INTO CHINHANH (MaCN, TenCN, DiaChi, version) VALUES (${r.id}, ${r.name}, ${r.address}, ${op.version})`,
      );
      return;
    case 'libfed_staff': {
      const disabled = r.disabled ? 1 : 0;
      await db.query(
        exists
          ? sql`UPDATE libfed_staff SET password_hash = ${r.passwordHash}, role = ${r.role}, branch_id = ${r.branchId}, disabled = ${disabled}, version = ${op.version} WHERE username = ${r.username}`
          : sql`INSERT INTO libfed_staff (username, password_hash, role, branch_id, disabled, version) VALUES (${r.username}, ${r.passwordHash}, ${r.role}, ${r.branchId}, ${disabled}, ${op.version})`,
      );
      return;
    }
  }
}
