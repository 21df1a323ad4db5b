import { SITE_ID_PATTERN } from '../schema';

/**
 * Every id format the read side and the write side must agree on
 * (docs/ARCHITECTURE.md §3 rule 4). An id born at a site starts with the
 * site, `Q3-...`; a legacy id from the older database has no prefix and is
 * found through the location table.
 */
export { SITE_ID, SITE_ID_PATTERN } from '../schema';

/** Longest id LibFed generates: MaQuyenSach, the narrowest id column, is varchar(20). */
export const MAX_GENERATED_ID_LENGTH = 20;

/** Digits of a generated id's number, before the count outgrows them. */
export const ID_WIDTH = { copy: 5, reader: 4, legacyCopy: 6, legacyReader: 5 } as const;

/** The tag between a site and a number: `Q1-QS00001`, `Q3-DG0042`. */
export const ID_TAG = { copy: 'QS', reader: 'DG' } as const;

function checked(id: string): string {
  if (id.length > MAX_GENERATED_ID_LENGTH) throw new Error(`id "${id}" is longer than ${MAX_GENERATED_ID_LENGTH} characters`);
  return id;
}

/** `Q1-QS00001`. */
export function copyId(siteId: string, seq: number, width: number = ID_WIDTH.copy): string {
  return checked(`${siteId}-${ID_TAG.copy}${String(seq).padStart(width, '0')}`);
}

/** `Q3-DG0042`. */
export function readerId(siteId: string, seq: number, width: number = ID_WIDTH.reader): string {
  return checked(`${siteId}-${ID_TAG.reader}${String(seq).padStart(width, '0')}`);
}

/** `QS004217`: a copy catalogued before sites existed. */
export function legacyCopyId(seq: number, width: number = ID_WIDTH.legacyCopy): string {
  return checked(`${ID_TAG.copy}${String(seq).padStart(width, '0')}`);
}

/** `DG00385`: a reader registered before sites existed. */
export function legacyReaderId(seq: number, width: number = ID_WIDTH.legacyReader): string {
  return checked(`${ID_TAG.reader}${String(seq).padStart(width, '0')}`);
}

/**
 * A loan's global id is its site and its MaPM, zero-padded so that string
 * order equals (site, MaPM) order: the gateway merges sites' pages by
 * comparing ids.
 */
const LOAN_DIGITS = 8;
/** Largest MaPM an int column holds: a larger number names no loan (and must not reach SQL). */
const MAX_LOAN_SEQ = 2_147_483_647;
export const LOAN_ID = new RegExp(`^(${SITE_ID_PATTERN})-\\d{${LOAN_DIGITS},10}$`);

export function loanId(siteId: string, seq: number): string {
  return `${siteId}-${String(seq).padStart(LOAN_DIGITS, '0')}`;
}

/**
 * The local number of a loan id of `siteId`, or null for an id that cannot
 * be one of its loans: another site's, not canonical (`Q1-1` for
 * `Q1-00000001`: one loan, one id, one cache line), or past the column's range.
 */
export function localLoanSeq(siteId: string, id: string): number | null {
  const prefix = `${siteId}-`;
  const digits = id.slice(prefix.length);
  if (!id.startsWith(prefix) || !/^\d{8,10}$/.test(digits)) return null;
  const seq = Number(digits);
  if (seq > MAX_LOAN_SEQ || String(seq).padStart(LOAN_DIGITS, '0') !== digits) return null;
  return seq;
}

/** The site an id was born at, when its prefix names one of `siteIds`. */
export function birthSite(siteIds: readonly string[], id: string): string | undefined {
  const dash = id.indexOf('-');
  if (dash <= 0) return undefined;
  const prefix = id.slice(0, dash);
  return siteIds.includes(prefix) ? prefix : undefined;
}
