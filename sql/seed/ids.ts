/**
 * Numbering generated rows. The id formats themselves are a contract between
 * the sites and the gateway (contracts/ids.ts); only how wide the seed makes
 * a number is the seed's own choice.
 */
export { copyId, ID_WIDTH, legacyCopyId, legacyReaderId, readerId } from '../../contracts';

/** Digits needed to number `count` rows: the contract width, widened when the count outgrows it. */
export function sequenceWidth(minimum: number, count: number): number {
  return Math.max(minimum, String(Math.max(count, 1)).length);
}
