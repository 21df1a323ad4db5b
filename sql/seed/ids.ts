/**
 * Id formats the fragment router parses (DESIGN §3 rule 4): ids born at a site
 * start with `<site>-`; legacy ids from the older database carry no prefix and
 * are found through the location table.
 */

/** Longest id any MaQuyenSach / MaDG column holds (varchar(20)). */
export const MAX_ID_LENGTH = 20;

export const ID_WIDTH = { copy: 5, reader: 4, legacyCopy: 6, legacyReader: 5 } as const;

/** Digits needed to number `count` rows: the contract width, widened when the count outgrows it. */
export function sequenceWidth(minimum: number, count: number): number {
  return Math.max(minimum, String(Math.max(count, 1)).length);
}

function checkedId(id: string): string {
  if (id.length > MAX_ID_LENGTH) throw new Error(`id "${id}" is longer than ${MAX_ID_LENGTH} characters`);
  return id;
}

/** `Q1-QS00001`. */
export function copyId(siteId: string, seq: number, width: number): string {
  return checkedId(`${siteId}-QS${String(seq).padStart(width, '0')}`);
}

/** `Q3-DG0042`. */
export function readerId(siteId: string, seq: number, width: number): string {
  return checkedId(`${siteId}-DG${String(seq).padStart(width, '0')}`);
}

/** `QS004217`: a copy catalogued before sites existed. */
export function legacyCopyId(seq: number, width: number): string {
  return checkedId(`QS${String(seq).padStart(width, '0')}`);
}

/** `DG00385`: a reader registered before sites existed. */
export function legacyReaderId(seq: number, width: number): string {
  return checkedId(`DG${String(seq).padStart(width, '0')}`);
}
