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

/** A NUL, or a surrogate half without its other half: text no site database can store (PostgreSQL refuses both). */
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function isStorableText(text: string): boolean {
  return !UNSTORABLE.test(text);
}

/** Every string in a JSON-like value with its path: `input.name`, `tags[2]`, `filter.and[0].title`. */
export function* strings(value: unknown, path: string): Generator<[string, string]> {
  if (typeof value === 'string') yield [path, value];
  else if (Array.isArray(value)) for (let i = 0; i < value.length; i++) yield* strings(value[i], `${path}[${i}]`);
  else if (typeof value === 'object' && value !== null) for (const [key, v] of Object.entries(value)) yield* strings(v, `${path}.${key}`);
}

/** The path of the first string in `value` no site database can store, or undefined. */
export function firstUnstorable(value: unknown, path: string): string | undefined {
  for (const [at, text] of strings(value, path)) if (!isStorableText(text)) return at;
  return undefined;
}
