import { COPY_STATUS, raw, sql, type SqlExecutor } from '../../sql';
import type { ErrorCode } from '../../schema';
import { applyReplicaPut, replicaResource, replicaVersion } from './replicas';
import { copyId as copyIdAt, ID_TAG, loanId, localLoanSeq, readerId as readerIdAt, replicaKey, type Applied, type Located, type Operation } from '../../contracts';

/**
 * How a site runs the operations a mutation becomes (docs/ARCHITECTURE.md
 * §4; their shapes are in contracts/): every operation names the rows it
 * locks, checks its preconditions against committed data, and applies its
 * writes; the participant protocol decides when (at once, or at phase 2 from
 * the redo log).
 */

/** A precondition that does not hold: the mutation is refused with this code, nothing changes. */
export interface Refusal {
  code: ErrorCode;
  message: string;
}

type Db = SqlExecutor;
export const refuse = (code: ErrorCode, message: string): Refusal => ({ code, message });

/** Lock names: table and key. A row about to be inserted is locked by the key it will have. */
export function resources(op: Operation): string[] {
  switch (op.kind) {
    case 'reader.reserveLoan':
    case 'reader.releaseLoan':
    case 'reader.remove':
    case 'reader.insert':
      return [`DOCGIA:${op.readerId}`];
    case 'reader.register':
      return [`SEQ:reader`];
    case 'loan.open':
    case 'copy.remove':
    case 'copy.insert':
      return [`QUYENSACH:${op.copyId}`];
    case 'loan.close':
    case 'loan.renew':
      return [`PHIEUMUON:${op.loanId}`];
    case 'copy.add':
      return [`SEQ:copy`];
    case 'location.set':
      return [`LOCATION:${op.entity}:${op.id}`];
    case 'book.add':
    case 'book.update':
      return [`SACH:${op.isbn}`];
    case 'branch.add':
      return [`CHINHANH:${op.id}`];
    case 'staff.add':
    case 'staff.update':
      return [`STAFF:${op.username}`];
    case 'replica.put':
      return [replicaResource(op)];
  }
}

async function one<T extends object>(db: Db, statement: ReturnType<typeof sql>): Promise<T | undefined> {
  return (await db.query<T>(statement))[0];
}

async function openLoanOf(db: Db, site: string, id: string) {
  const seq = localLoanSeq(site, id);
  if (seq === null) return undefined;
  return one<{ seq: number; reader_id: string; copy_id: string; isbn: string | null; returned_at: Date | null; due_at: Date }>(
    db,
    sql`SELECT MaPM AS seq, MaDG AS reader_id, MaQuyenSach AS copy_id, ISBN AS isbn, NgayTra AS returned_at, HanTra AS due_at FROM PHIEUMUON WHERE MaPM = ${seq}`,
  );
}

/** The copy is held here and available; `hint` tells the user what to do when it is on loan. */
async function onShelf(db: Db, site: string, copyId: string, hint: string): Promise<Refusal | null> {
  const c = await one<{ status: string }>(db, sql`SELECT TinhTrang AS status FROM QUYENSACH WHERE MaQuyenSach = ${copyId}`);
  if (!c) return refuse('NOT_FOUND', `copy ${copyId} is not held at ${site}`);
  return c.status === COPY_STATUS.AVAILABLE ? null : refuse('COPY_NOT_AVAILABLE', `copy ${copyId} is on loan; ${hint}`);
}

/** Checks one operation's preconditions against committed data at `site`. */
export async function check(db: Db, site: string, op: Operation): Promise<Refusal | null> {
  switch (op.kind) {
    case 'reader.reserveLoan': {
      const r = await one<{ n: number }>(db, sql`SELECT SoMuonDangMo AS n FROM DOCGIA WHERE MaDG = ${op.readerId}`);
      if (!r) return refuse('NOT_FOUND', `reader ${op.readerId} is not registered at ${site}`);
      return Number(r.n) >= op.max ? refuse('LOAN_LIMIT_REACHED', `reader ${op.readerId} already has ${r.n} open loans; the limit is ${op.max}`) : null;
    }
    case 'reader.releaseLoan': {
      const r = await one(db, sql`SELECT MaDG FROM DOCGIA WHERE MaDG = ${op.readerId}`);
      return r ? null : refuse('NOT_FOUND', `reader ${op.readerId} is not registered at ${site}`);
    }
    case 'reader.remove': {
      const r = await one<{ n: number }>(db, sql`SELECT SoMuonDangMo AS n FROM DOCGIA WHERE MaDG = ${op.readerId}`);
      if (!r) return refuse('NOT_FOUND', `reader ${op.readerId} is not registered at ${site}`);
      // The new home site is written with the count read when planning: it must not have moved since.
      return Number(r.n) === op.openLoans ? null : refuse('CONFLICT', `reader ${op.readerId} borrowed or returned meanwhile; retry the move`);
    }
    case 'reader.insert': {
      const r = await one(db, sql`SELECT MaDG FROM DOCGIA WHERE MaDG = ${op.readerId}`);
      return r ? refuse('ALREADY_EXISTS', `reader ${op.readerId} is already registered at ${site}`) : null;
    }
    case 'loan.open':
      return onShelf(db, site, op.copyId, 'return it first');
    case 'loan.close':
    case 'loan.renew': {
      const loan = await openLoanOf(db, site, op.loanId);
      if (!loan) return refuse('NOT_FOUND', `loan ${op.loanId} was not made at ${site}`);
      if (loan.returned_at !== null) return refuse('LOAN_CLOSED', `loan ${op.loanId} was already returned`);
      if (op.kind === 'loan.renew' && loan.due_at.getTime() < new Date(op.now).getTime()) {
        return refuse('LOAN_OVERDUE', `loan ${op.loanId} is overdue; return the copy instead of renewing`);
      }
      return null;
    }
    case 'copy.add': {
      const b = await one(db, sql`SELECT ISBN FROM SACH WHERE ISBN = ${op.isbn}`);
      return b ? null : refuse('NOT_FOUND', `no book with ISBN ${op.isbn}; add the book first`);
    }
    case 'copy.remove':
      return onShelf(db, site, op.copyId, 'only an available copy can be transferred');
    case 'copy.insert': {
      const c = await one(db, sql`SELECT MaQuyenSach FROM QUYENSACH WHERE MaQuyenSach = ${op.copyId}`);
      return c ? refuse('ALREADY_EXISTS', `copy ${op.copyId} is already at ${site}`) : null;
    }
    case 'book.add': {
      const b = await one(db, sql`SELECT ISBN FROM SACH WHERE ISBN = ${op.isbn}`);
      return b ? refuse('ALREADY_EXISTS', `a book with ISBN ${op.isbn} exists; use updateBook`) : null;
    }
    case 'book.update': {
      const b = await one(db, sql`SELECT ISBN FROM SACH WHERE ISBN = ${op.isbn}`);
      return b ? null : refuse('NOT_FOUND', `no book with ISBN ${op.isbn}`);
    }
    case 'branch.add': {
      const b = await one(db, sql`SELECT MaCN FROM CHINHANH WHERE MaCN = ${op.id}`);
      return b ? refuse('ALREADY_EXISTS', `branch ${op.id} exists`) : null;
    }
    case 'staff.add': {
      const a = await one(db, sql`SELECT username FROM libfed_staff WHERE username = ${op.username}`);
      if (a) return refuse('ALREADY_EXISTS', `a staff account named ${op.username} exists; reset its password or enable it instead`);
      if (op.branchId === null) return null;
      const b = await one(db, sql`SELECT MaCN FROM CHINHANH WHERE MaCN = ${op.branchId}`);
      return b ? null : refuse('UNKNOWN_BRANCH', `branch ${op.branchId} names no branch`);
    }
    case 'staff.update': {
      const a = await one(db, sql`SELECT username FROM libfed_staff WHERE username = ${op.username}`);
      return a ? null : refuse('NOT_FOUND', `no staff account named ${op.username}`);
    }
    case 'replica.put': {
      // The row must still be as it was compared: a write since then is newer than what the repair saw.
      const now = await replicaVersion(db, op);
      if (now === op.expectVersion) return null;
      return refuse('CONFLICT', `${op.row.table} row ${replicaKey(op.row)} at ${site} is at version ${now ?? 'none'}, not ${op.expectVersion ?? 'none'} as compared; run check-replicas again`);
    }
    case 'reader.register':
    case 'location.set':
      return null;
  }
}

/**
 * Next id of a kind born at this site (`Q1-DG0042`): after the largest one ever
 * handed out here, counting the ones that have moved away (the location table).
 */
async function nextId(db: Db, site: string, name: 'reader' | 'copy'): Promise<string> {
  const [table, column, entity] = name === 'reader' ? (['DOCGIA', 'MaDG', 'Reader'] as const) : (['QUYENSACH', 'MaQuyenSach', 'Copy'] as const);
  const prefix = `${site}-${ID_TAG[name]}`;
  let current = await one<{ value: number }>(db, sql`SELECT value FROM libfed_sequence WHERE name = ${name}`);
  if (!current) {
    const ids = await db.query<{ id: string }>(sql`
      SELECT ${raw(column)} AS id FROM ${raw(table)} WHERE ${raw(column)} LIKE ${`${prefix}%`}
      UNION ALL SELECT id FROM libfed_location WHERE entity = ${entity} AND id LIKE ${`${prefix}%`}`);
    const max = Math.max(0, ...ids.map((r) => Number(r.id.slice(prefix.length))).filter(Number.isFinite));
    await db.query(sql`INSERT INTO libfed_sequence (name, value) VALUES (${name}, ${max})`);
    current = { value: max };
  }
  const value = Number(current.value) + 1;
  await db.query(sql`UPDATE libfed_sequence SET value = ${value} WHERE name = ${name}`);
  return name === 'reader' ? readerIdAt(site, value) : copyIdAt(site, value);
}

/** Applies one operation's writes. Runs after `check` passed, under the operation's locks. */
export async function apply(db: Db, site: string, op: Operation): Promise<Applied> {
  switch (op.kind) {
    case 'reader.reserveLoan':
      await db.query(sql`UPDATE DOCGIA SET SoMuonDangMo = SoMuonDangMo + 1, version = version + 1 WHERE MaDG = ${op.readerId}`);
      return {};
    case 'reader.releaseLoan':
      await db.query(sql`UPDATE DOCGIA SET SoMuonDangMo = SoMuonDangMo - 1, version = version + 1 WHERE MaDG = ${op.readerId} AND SoMuonDangMo > 0`);
      return {};
    case 'reader.register': {
      const id = await nextId(db, site, 'reader');
      await db.query(sql`INSERT INTO DOCGIA (MaDG, HoTen, MaCN_DangKy) VALUES (${id}, ${op.name}, ${op.branchId})`);
      return { entity: { type: 'Reader', id } };
    }
    case 'reader.remove':
      await db.query(sql`DELETE FROM DOCGIA WHERE MaDG = ${op.readerId}`);
      return {};
    case 'reader.insert':
      await db.query(sql`INSERT INTO DOCGIA (MaDG, HoTen, MaCN_DangKy, SoMuonDangMo) VALUES (${op.readerId}, ${op.name}, ${op.branchId}, ${op.openLoans})`);
      await db.query(sql`DELETE FROM libfed_location WHERE entity = 'Reader' AND id = ${op.readerId}`);
      return { entity: { type: 'Reader', id: op.readerId } };
    case 'loan.open': {
      const isbn = await one<{ isbn: string }>(db, sql`SELECT ISBN AS isbn FROM QUYENSACH WHERE MaQuyenSach = ${op.copyId}`);
      await db.query(sql`UPDATE QUYENSACH SET TinhTrang = ${COPY_STATUS.ON_LOAN}, version = version + 1 WHERE MaQuyenSach = ${op.copyId}`);
      const insert = sql`INSERT INTO PHIEUMUON (MaDG, MaQuyenSach, MaCN, ISBN, NgayMuon, HanTra)
        VALUES (${op.readerId}, ${op.copyId}, ${site}, ${isbn?.isbn ?? null}, ${new Date(op.at)}, ${new Date(op.dueAt)})`;
      // The id the insert generated, from the insert itself: a reselect by copy and open state would
      // find two rows where a legacy database holds a stray open slip for the copy.
      const row = await one<{ id: number }>(db, db.dialect.insertReturningId(insert, 'MaPM'));
      if (!row || !Number.isSafeInteger(Number(row.id))) throw new Error(`the loan inserted at ${site} returned no id`);
      return { entity: { type: 'Loan', id: loanId(site, Number(row.id)) } };
    }
    case 'loan.close': {
      const loan = (await openLoanOf(db, site, op.loanId))!;
      await db.query(sql`UPDATE PHIEUMUON SET NgayTra = ${new Date(op.at)}, version = version + 1 WHERE MaPM = ${loan.seq}`);
      await db.query(sql`UPDATE QUYENSACH SET TinhTrang = ${COPY_STATUS.AVAILABLE}, version = version + 1 WHERE MaQuyenSach = ${loan.copy_id}`);
      return { entity: { type: 'Loan', id: op.loanId } };
    }
    case 'loan.renew': {
      const seq = localLoanSeq(site, op.loanId)!;
      await db.query(sql`UPDATE PHIEUMUON SET HanTra = ${new Date(op.dueAt)}, version = version + 1 WHERE MaPM = ${seq}`);
      return { entity: { type: 'Loan', id: op.loanId } };
    }
    case 'copy.add': {
      const id = await nextId(db, site, 'copy');
      await db.query(sql`INSERT INTO QUYENSACH (MaQuyenSach, ISBN, MaCN, TinhTrang) VALUES (${id}, ${op.isbn}, ${op.branchId}, ${COPY_STATUS.AVAILABLE})`);
      return { entity: { type: 'Copy', id } };
    }
    case 'copy.remove':
      await db.query(sql`DELETE FROM QUYENSACH WHERE MaQuyenSach = ${op.copyId}`);
      return {};
    case 'copy.insert':
      await db.query(sql`INSERT INTO QUYENSACH (MaQuyenSach, ISBN, MaCN, TinhTrang) VALUES (${op.copyId}, ${op.isbn}, ${op.branchId}, ${COPY_STATUS.AVAILABLE})`);
      await db.query(sql`DELETE FROM libfed_location WHERE entity = 'Copy' AND id = ${op.copyId}`);
      return { entity: { type: 'Copy', id: op.copyId } };
    case 'location.set':
      await db.query(sql`DELETE FROM libfed_location WHERE entity = ${op.entity} AND id = ${op.id}`);
      if (op.site !== site) await db.query(sql`INSERT INTO libfed_location (entity, id, site) VALUES (${op.entity}, ${op.id}, ${op.site})`);
      return {};
    case 'book.add':
      await db.query(sql`INSERT INTO SACH (ISBN, TenSach, TacGia) VALUES (${op.isbn}, ${op.title}, ${op.author})`);
      return { entity: { type: 'Book', id: op.isbn } };
    case 'book.update': {
      const b = (await one<{ title: string; author: string }>(db, sql`SELECT TenSach AS title, TacGia AS author FROM SACH WHERE ISBN = ${op.isbn}`))!;
      await db.query(sql`UPDATE SACH SET TenSach = ${op.title ?? b.title}, TacGia = ${op.author ?? b.author}, version = version + 1 WHERE ISBN = ${op.isbn}`);
      return { entity: { type: 'Book', id: op.isbn } };
    }
    case 'branch.add':
      await db.query(sql`INSERT INTO CHINHANH (MaCN, TenCN, DiaChi) VALUES (${op.id}, ${op.name}, ${op.address})`);
      return { entity: { type: 'Branch', id: op.id } };
    case 'staff.add':
      await db.query(sql`INSERT INTO libfed_staff (username, password_hash, role, branch_id) VALUES (${op.username}, ${op.passwordHash}, ${op.role}, ${op.branchId})`);
      return { entity: { type: 'StaffAccount', id: op.username } };
    case 'staff.update': {
      const a = (await one<{ password_hash: string; disabled: number }>(db, sql`SELECT password_hash, disabled FROM libfed_staff WHERE username = ${op.username}`))!;
      const disabled = op.disabled === undefined ? Number(a.disabled) : op.disabled ? 1 : 0;
      await db.query(sql`UPDATE libfed_staff SET password_hash = ${op.passwordHash ?? a.password_hash}, disabled = ${disabled}, version = version + 1 WHERE username = ${op.username}`);
      return { entity: { type: 'StaffAccount', id: op.username } };
    }
    case 'replica.put':
      await applyReplicaPut(db, op);
      return {};
  }
}

/** Where an entity is now, asked of its birth site (or of any site for an unprefixed id). */
export async function locate(db: Db, entity: 'Copy' | 'Reader', id: string): Promise<Located> {
  if (entity === 'Copy') {
    const copy = await one<{ isbn: string; status: string }>(db, sql`SELECT ISBN AS isbn, TinhTrang AS status FROM QUYENSACH WHERE MaQuyenSach = ${id}`);
    if (copy) return { held: true, copy };
  } else {
    const reader = await one<{ name: string; n: number }>(db, sql`SELECT HoTen AS name, SoMuonDangMo AS n FROM DOCGIA WHERE MaDG = ${id}`);
    if (reader) return { held: true, reader: { name: reader.name, openLoans: Number(reader.n) } };
  }
  const moved = await one<{ site: string }>(db, sql`SELECT site FROM libfed_location WHERE entity = ${entity} AND id = ${id}`);
  return { held: false, site: moved?.site };
}

/** A loan slip written at this site, for planning its return or renewal. */
export async function loanRow(db: Db, site: string, id: string): Promise<{ readerId: string; copyId: string; isbn: string | null; open: boolean } | null> {
  const loan = await openLoanOf(db, site, id);
  return loan ? { readerId: loan.reader_id, copyId: loan.copy_id, isbn: loan.isbn, open: loan.returned_at === null } : null;
}

/** A staff account with its password hash, for the gateway's login check only (never a subgraph field). */
export async function staffAccount(db: Db, username: string): Promise<{ username: string; passwordHash: string; role: 'THUTHU' | 'QUANLY'; branchId: string | null; disabled: boolean } | null> {
  const a = await one<{ username: string; password_hash: string; role: 'THUTHU' | 'QUANLY'; branch_id: string | null; disabled: number }>(
    db,
    sql`SELECT username, password_hash, role, branch_id, disabled FROM libfed_staff WHERE username = ${username}`,
  );
  return a ? { username: a.username, passwordHash: a.password_hash, role: a.role, branchId: a.branch_id, disabled: Number(a.disabled) === 1 } : null;
}
