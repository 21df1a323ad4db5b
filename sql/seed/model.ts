import type { COPY_STATUS } from '../migrations';

/**
 * Demo rows in memory. Field names follow the GraphQL schema; each comment names
 * the column the loader writes it to.
 */

/** CHINHANH: MaCN, TenCN, DiaChi. A branch is also a site. */
export interface Branch {
  id: string;
  name: string;
  address: string;
}

/** SACH: ISBN, TenSach, TacGia. Replicated on every site. */
export interface Book {
  isbn: string;
  title: string;
  author: string;
}

export type CopyStatus = (typeof COPY_STATUS)[keyof typeof COPY_STATUS];

/** QUYENSACH: MaQuyenSach, ISBN, MaCN, TinhTrang. Lives at site `branchId`. */
export interface Copy {
  id: string;
  isbn: string;
  branchId: string;
  status: CopyStatus;
}

/** DOCGIA: MaDG, HoTen, MaCN_DangKy. Lives at site `homeBranchId`. */
export interface Reader {
  id: string;
  name: string;
  homeBranchId: string;
}

/**
 * PHIEUMUON: MaDG, MaQuyenSach, MaCN, NgayMuon, HanTra, NgayTra. Lives at site
 * `branchId`, the copy's branch. MaPM is an identity column, so a loan has no id
 * here: `seq` is the MaPM it receives when its site's loans are inserted, in
 * array order, into an empty PHIEUMUON.
 */
export interface Loan {
  seq: number;
  readerId: string;
  copyId: string;
  branchId: string;
  borrowedAt: Date;
  dueAt: Date;
  /** null while the loan is open. */
  returnedAt: Date | null;
}

/** libfed_location at the birth site (the prefix of `id`): the entity lives at `site` now. */
export interface Location {
  entity: 'Copy' | 'Reader';
  id: string;
  site: string;
}

export interface DemoData {
  branches: Branch[];
  books: Book[];
  /** Where each copy is now; a moved copy's loans stay at the branch that lent it. */
  copies: Copy[];
  readers: Reader[];
  /** Sorted by borrowedAt ascending, so every site's loans are too. */
  loans: Loan[];
  locations: Location[];
}

/** The rows one site stores besides the replicated branches and books. */
export interface SiteFragment {
  copies: Copy[];
  readers: Reader[];
  loans: Loan[];
}

/** Fragment predicates of schema/sites.yaml: QUYENSACH and PHIEUMUON by MaCN, DOCGIA by MaCN_DangKy. */
export function siteFragment(data: DemoData, siteId: string): SiteFragment {
  return {
    copies: data.copies.filter((copy) => copy.branchId === siteId),
    readers: data.readers.filter((reader) => reader.homeBranchId === siteId),
    loans: data.loans.filter((loan) => loan.branchId === siteId),
  };
}
