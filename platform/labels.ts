/**
 * Bounded metric label values: every distinct value of a label is a time series
 * kept forever, so a value a client chooses (an operation name) is let through
 * only for the first `max` distinct ones; later newcomers share `overflow`.
 */
export function boundedLabel(options: { max: number; overflow?: string; empty?: string }): (value: string | null | undefined) => string {
  const seen = new Set<string>();
  const overflow = options.overflow ?? 'other';
  const empty = options.empty ?? 'anonymous';
  return (value) => {
    if (!value) return empty;
    if (seen.has(value)) return value;
    if (seen.size >= options.max) return overflow;
    seen.add(value);
    return value;
  };
}
