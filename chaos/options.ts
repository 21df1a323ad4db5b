import { parseArgs } from 'node:util';

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

export function parseChaosArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): ChaosOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string', default: '60s' },
      seed: { type: 'string', default: String(Date.now() % 100000) },
      sites: { type: 'string', default: '3' },
      gateways: { type: 'string', default: '2' },
      clients: { type: 'string', default: '8' },
      'no-nemesis': { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
    },
  });
  const int = (name: string, value: string, lo: number, hi: number) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < lo || n > hi) throw new Error(`--${name} ${value}: expected an integer in ${lo}..${hi}`);
    return n;
  };
  return {
    durationMs: parseDuration(values.duration!),
    seed: int('seed', values.seed!, 0, 2 ** 31 - 1),
    sites: int('sites', values.sites!, 2, 9),
    gateways: int('gateways', values.gateways!, 1, 8),
    clients: int('clients', values.clients!, 1, 64),
    noNemesis: values['no-nemesis']!,
    verbose: values.verbose!,
    pgUrl: env.PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
  };
}
