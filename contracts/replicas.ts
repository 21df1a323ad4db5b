import { createHash } from 'node:crypto';
import { z } from 'zod';
import { SITE_ID } from '../schema';

/**
 * The replicated rows as the sites and the operator's tools exchange them
 * (docs/ARCHITECTURE.md §1: SACH and CHINHANH, and the staff accounts, are
 * full replicas on every site). One shape per table, a canonical text of a
 * row and its version, and a checksum over a table's rows, computed the same
 * way by a site (`replica-summary`) and by whoever compares rows one by one:
 * two sites agree on a table exactly when their checksums are equal.
 */
export const REPLICATED_TABLES = ['SACH', 'CHINHANH', 'libfed_staff'] as const;
export type ReplicatedTable = (typeof REPLICATED_TABLES)[number];

const text = z.string().min(1).max(255);
const site = z.string().regex(SITE_ID, 'must be a site id');

export const replicaRowSchema = z.discriminatedUnion('table', [
  z.strictObject({ table: z.literal('SACH'), isbn: z.string().min(1).max(20), title: text, author: text }),
  z.strictObject({ table: z.literal('CHINHANH'), id: site, name: text, address: text }),
  z.strictObject({
    table: z.literal('libfed_staff'),
    username: z.string().min(1).max(64),
    passwordHash: z.string().min(1).max(200),
    role: z.enum(['THUTHU', 'QUANLY']),
    branchId: z.string().max(8).nullable(),
    disabled: z.boolean(),
  }),
]);
/** The content of one replicated row (everything but its version). */
export type ReplicaRow = z.infer<typeof replicaRowSchema>;

export const versionedRowSchema = z.object({ version: z.number().int().min(0), row: replicaRowSchema });
/** A replicated row as one site holds it. */
export type VersionedRow = z.infer<typeof versionedRowSchema>;

/** The primary key of a replicated row. */
export function replicaKey(row: ReplicaRow): string {
  switch (row.table) {
    case 'SACH':
      return row.isbn;
    case 'CHINHANH':
      return row.id;
    case 'libfed_staff':
      return row.username;
  }
}

/** One canonical text per row and version: fields in a fixed order, so equal rows give equal text on every engine. */
export function canonicalRow(r: VersionedRow): string {
  const { row } = r;
  switch (row.table) {
    case 'SACH':
      return JSON.stringify([row.table, row.isbn, r.version, row.title, row.author]);
    case 'CHINHANH':
      return JSON.stringify([row.table, row.id, r.version, row.name, row.address]);
    case 'libfed_staff':
      return JSON.stringify([row.table, row.username, r.version, row.passwordHash, row.role, row.branchId, row.disabled]);
  }
}

/** Code-point order of keys: engines' collations differ, this does not. */
export function byKey(a: VersionedRow, b: VersionedRow): number {
  const [x, y] = [replicaKey(a.row), replicaKey(b.row)];
  return x < y ? -1 : x > y ? 1 : 0;
}

/** SHA-256 over a table's canonical rows in key order: the per-table checksum `replica-summary` answers. */
export function replicaChecksum(rows: readonly VersionedRow[]): string {
  const hash = createHash('sha256');
  for (const r of [...rows].sort(byKey)) hash.update(canonicalRow(r)).update('\n');
  return hash.digest('hex');
}

/**
 * One repair: the row every site is to hold, at `version`, and the version
 * each site held when the rows were compared (null: the site lacked the row).
 * A site whose row has changed since refuses the repair (CONFLICT), so a
 * repair never overwrites a write it did not see.
 */
export const replicaRepairSchema = z.object({
  version: z.number().int().min(1),
  row: replicaRowSchema,
  expect: z.record(z.string(), z.number().int().min(0).nullable()),
});
export type ReplicaRepair = z.infer<typeof replicaRepairSchema>;

/** The body of the gateway's `POST /admin/repair-replicas`. */
export const repairRequestSchema = z.object({ repairs: z.array(replicaRepairSchema).min(1).max(1000) });
