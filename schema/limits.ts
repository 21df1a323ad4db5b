/**
 * The limits every site enforces and the gateway checks first, from one place,
 * so a bad argument is refused at the gateway with the same words a site would
 * use — and never reaches a site as a message it refuses.
 */

/** Largest `first` of any list; a larger page is refused (PAGE_SIZE_OUT_OF_RANGE). */
export const MAX_PAGE_SIZE = 100;
/** The page size when `first` is left out or null. */
export const DEFAULT_PAGE_SIZE = 20;
/** Longest id (reader, copy, loan) a site accepts: the widest key column is varchar(40). */
export const MAX_ID_LENGTH = 40;
/** Longest idempotency key: the decision row keeps it in an nvarchar(100). */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 100;
