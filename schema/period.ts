import { errorJson, type ErrorJson } from './errors';

/**
 * A report's period [from, to): ISO-8601 date-times with a zone, `to`
 * exclusive. One rule for the gateway (checked before any site is asked) and
 * the sites (which never trust a caller).
 */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/** The instant, or the INVALID_PERIOD error naming argument `name`; null and undefined are "not given". */
export function parseInstant(name: string, value: unknown): Date | ErrorJson | undefined {
  if (value === null || value === undefined) return undefined;
  const at = typeof value === 'string' && ISO_INSTANT.test(value) ? new Date(value) : new Date(NaN);
  const year = at.getUTCFullYear();
  if (Number.isNaN(at.getTime()) || year < 1 || year > 9999) {
    return errorJson('INVALID_PERIOD', `${name} must be an ISO-8601 date-time with a zone, such as 2026-05-01T00:00:00Z; got ${String(JSON.stringify(value)).slice(0, 80)}`, { argument: name });
  }
  return at;
}

/** Both ends as instants, or the first INVALID_PERIOD error (a malformed end, or from not before to). */
export function parsePeriod(from: unknown, to: unknown): { from?: Date; to?: Date } | ErrorJson {
  const f = parseInstant('from', from);
  if (f && !(f instanceof Date)) return f;
  const t = parseInstant('to', to);
  if (t && !(t instanceof Date)) return t;
  if (f && t && f >= t) {
    return errorJson('INVALID_PERIOD', `from must be before to (to is exclusive); got from ${String(from)} and to ${String(to)}`, { argument: 'to' });
  }
  return { from: f, to: t };
}
