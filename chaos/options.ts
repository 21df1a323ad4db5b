/** What one chaos run does: `npm run chaos -- --duration 60s --seed S [--sites N --gateways K --clients C]`. */
export interface ChaosOptions {
  durationMs: number;
  seed: number;
  /** Sites (first N of schema/sites.yaml, more are made up). Default 3. */
  sites: number;
  gateways: number;
  clients: number;
  /** Inject no faults (checks the harness itself on a healthy chain). */
  noNemesis: boolean;
  pgUrl: string;
  /** Children's stderr lines are echoed when set. */
  verbose: boolean;
}

/** `60s`, `2m`, `1500ms` or a bare number of seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new Error(`--duration ${text}: expected e.g. 60s, 2m or 1500ms`);
  const n = Number(m[1]);
  return Math.round(m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000);
}
