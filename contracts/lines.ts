/**
 * Cache-line names (docs/ARCHITECTURE.md §5). The router reads through lines,
 * mutations name the lines they make stale, sites log them: one spelling. The
 * cache itself treats a line as an opaque string.
 */

/** The line of one entity, e.g. `Reader:Q3-DG0042`. */
export function cacheLine(type: string, key: string): string {
  return `${type}:${key}`;
}

/**
 * The line every write of a `type` row makes stale (`Loan:*`): answers whose
 * content depends on which rows of that type exist — lists, counts, an
 * entity's gathered loans — depend on it.
 */
export function typeLine(type: string): string {
  return `${type}:*`;
}
