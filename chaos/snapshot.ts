import pg from 'pg';

/** Every site's rows that the invariants look at, read straight from its PostgreSQL database. */
export interface CopyRow { id: string; isbn: string; site: string; status: string }
export interface ReaderRow { id: string; name: string; site: string; openLoans: number }
export interface LoanRow { id: string; site: string; seq: number; readerId: string; copyId: string; borrowedAt: Date; dueAt: Date; returnedAt: Date | null }
export interface SiteSnapshot {
  copies: CopyRow[];
  readers: ReaderRow[];
  loans: LoanRow[];
  locations: { entity: string; id: string; site: string }[];
  locks: { resource: string; gid: string }[];
  preparedTx: { gid: string; state: string; commitSite: string }[];
  books: { isbn: string; title: string; author: string; version: number }[];
  branches: { id: string; name: string; address: string; version: number }[];
}
export type Snapshot = Map<string, SiteSnapshot>;

export async function readSnapshot(databases: Map<string, string>): Promise<Snapshot> {
  const snapshot: Snapshot = new Map();
  for (const [site, url] of databases) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const q = async (text: string) => (await client.query(text)).rows;
      snapshot.set(site, {
        copies: (await q(`SELECT MaQuyenSach AS id, ISBN AS isbn, MaCN AS site, TinhTrang AS status FROM QUYENSACH`)) as CopyRow[],
        readers: (await q(`SELECT MaDG AS id, HoTen AS name, MaCN_DangKy AS site, SoMuonDangMo AS "openLoans" FROM DOCGIA`)).map((r) => ({ ...r, openLoans: Number(r.openLoans) })) as ReaderRow[],
        loans: (await q(`SELECT MaPM AS seq, MaCN AS site, MaDG AS "readerId", MaQuyenSach AS "copyId", NgayMuon AS "borrowedAt", HanTra AS "dueAt", NgayTra AS "returnedAt" FROM PHIEUMUON`)).map((r) => ({
          ...r,
          seq: Number(r.seq),
          id: `${r.site}-${String(r.seq).padStart(8, '0')}`,
        })) as LoanRow[],
        locations: (await q(`SELECT entity, id, site FROM libfed_location`)) as SiteSnapshot['locations'],
        locks: (await q(`SELECT resource, gid FROM libfed_lock`)) as SiteSnapshot['locks'],
        preparedTx: (await q(`SELECT gid, state, commit_site AS "commitSite" FROM libfed_tx WHERE state = 'PREPARED'`)) as SiteSnapshot['preparedTx'],
        books: (await q(`SELECT ISBN AS isbn, TenSach AS title, TacGia AS author, version FROM SACH ORDER BY ISBN`)) as SiteSnapshot['books'],
        branches: (await q(`SELECT MaCN AS id, TenCN AS name, DiaChi AS address, version FROM CHINHANH ORDER BY MaCN`)) as SiteSnapshot['branches'],
      });
    } finally {
      await client.end();
    }
  }
  return snapshot;
}
