import { z } from 'zod';
import { MAX_ID_LENGTH, SITE_ID } from '../schema';
import { cacheLine, typeLine } from './lines';
import { replicaKey, replicaRowSchema } from './replicas';

/**
 * The domain operations a mutation becomes, one site each
 * (docs/ARCHITECTURE.md §4): the gateway plans them, a site's participant
 * locks, checks and applies them. The schema is the wire check: a site
 * refuses an operation that does not match it before touching its database.
 */
const id = z.string().min(1).max(MAX_ID_LENGTH);
const text = z.string().min(1).max(255);
const isbn = z.string().min(1).max(20);
const site = z.string().regex(SITE_ID, 'must be a site id (an upper-case letter, then up to 7 letters or digits)');
const instant = z.iso.datetime({ offset: true });
const count = z.number().int().min(0).max(1_000_000);
export const USERNAME_PATTERN = /^[a-z0-9_.-]{3,64}$/;
const username = z.string().regex(USERNAME_PATTERN, 'must be 3 to 64 lower-case letters, digits, dots, dashes or underscores');
const passwordHash = z.string().startsWith('scrypt$').max(200);

export const operationSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('reader.reserveLoan'), readerId: id, max: count }),
  z.strictObject({ kind: z.literal('reader.releaseLoan'), readerId: id }),
  z.strictObject({ kind: z.literal('reader.register'), name: text, branchId: site }),
  z.strictObject({ kind: z.literal('reader.remove'), readerId: id, openLoans: count }),
  z.strictObject({ kind: z.literal('reader.insert'), readerId: id, name: text, branchId: site, openLoans: count }),
  z.strictObject({ kind: z.literal('loan.open'), copyId: id, readerId: id, at: instant, dueAt: instant }),
  /** `copyId`: the loan's copy, whose status the return changes (for `writes`). */
  z.strictObject({ kind: z.literal('loan.close'), loanId: id, at: instant, copyId: id.optional() }),
  z.strictObject({ kind: z.literal('loan.renew'), loanId: id, now: instant, dueAt: instant }),
  z.strictObject({ kind: z.literal('copy.add'), isbn, branchId: site }),
  z.strictObject({ kind: z.literal('copy.remove'), copyId: id }),
  z.strictObject({ kind: z.literal('copy.insert'), copyId: id, isbn, branchId: site }),
  z.strictObject({ kind: z.literal('location.set'), entity: z.enum(['Copy', 'Reader']), id, site }),
  z.strictObject({ kind: z.literal('book.add'), isbn, title: text, author: text }),
  z.strictObject({ kind: z.literal('book.update'), isbn, title: text.optional(), author: text.optional() }),
  z.strictObject({ kind: z.literal('branch.add'), id: site, name: text, address: text }),
  z.strictObject({ kind: z.literal('staff.add'), username, passwordHash, role: z.enum(['THUTHU', 'QUANLY']), branchId: site.nullable() }),
  z.strictObject({ kind: z.literal('staff.update'), username, passwordHash: passwordHash.optional(), disabled: z.boolean().optional() }),
  /**
   * A replica repair (`libfed check-replicas --repair`): the site's row becomes `row` at `version`,
   * inserted if it is missing, provided it still has `expectVersion` (null: no row), the version
   * it had when the sites were compared.
   */
  z.strictObject({ kind: z.literal('replica.put'), version: z.number().int().min(1), expectVersion: z.number().int().min(0).nullable(), row: replicaRowSchema }),
]);

export type Operation = z.infer<typeof operationSchema>;

/** What an applied operation created or changed, for the mutation's answer. */
export const appliedSchema = z.object({ entity: z.object({ type: z.string(), id: z.string() }).optional() });
export type Applied = z.infer<typeof appliedSchema>;

/** The tables whose rows operations write. */
export type Table = 'DOCGIA' | 'PHIEUMUON' | 'QUYENSACH' | 'SACH' | 'CHINHANH' | 'libfed_staff';

/**
 * Every row an operation inserts, updates or deletes (beyond LibFed's own
 * bookkeeping tables); `key` when the row's key is known before it runs (not
 * for a row it numbers). Keep it in step with the participant's `apply`.
 */
export function writes(op: Operation): { table: Table; key?: string }[] {
  switch (op.kind) {
    case 'reader.reserveLoan':
    case 'reader.releaseLoan':
    case 'reader.remove':
    case 'reader.insert':
      return [{ table: 'DOCGIA', key: op.readerId }];
    case 'reader.register':
      return [{ table: 'DOCGIA' }];
    case 'loan.open':
      return [{ table: 'QUYENSACH', key: op.copyId }, { table: 'PHIEUMUON' }];
    case 'loan.close':
      return [{ table: 'PHIEUMUON', key: op.loanId }, op.copyId ? { table: 'QUYENSACH', key: op.copyId } : { table: 'QUYENSACH' }];
    case 'loan.renew':
      return [{ table: 'PHIEUMUON', key: op.loanId }];
    case 'copy.add':
      return [{ table: 'QUYENSACH' }];
    case 'copy.remove':
    case 'copy.insert':
      return [{ table: 'QUYENSACH', key: op.copyId }];
    case 'location.set':
      return [];
    case 'book.add':
    case 'book.update':
      return [{ table: 'SACH', key: op.isbn }];
    case 'branch.add':
      return [{ table: 'CHINHANH', key: op.id }];
    case 'staff.add':
    case 'staff.update':
      return [{ table: 'libfed_staff', key: op.username }];
    case 'replica.put':
      return [{ table: op.row.table, key: replicaKey(op.row) }];
  }
}

/** The entity type whose rows each table holds. */
const TYPE_OF: Record<Table, string> = { DOCGIA: 'Reader', PHIEUMUON: 'Loan', QUYENSACH: 'Copy', SACH: 'Book', CHINHANH: 'Branch', libfed_staff: 'StaffAccount' };

/**
 * The cache lines a set of operations makes stale, derived from the rows
 * they write: each written row's entity line, and its type's line
 * (`Loan:*`) for every answer whose content depends on which rows of that
 * type exist (lists, counts, a reader's loans, a book's availability).
 */
export function staleLines(ops: Operation[]): string[] {
  const lines = new Set<string>();
  for (const { table, key } of ops.flatMap(writes)) {
    if (key !== undefined) lines.add(cacheLine(TYPE_OF[table], key));
    lines.add(typeLine(TYPE_OF[table]));
  }
  return [...lines];
}
