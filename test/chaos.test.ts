import { runChaos } from '../chaos/run';

/**
 * The chaos run (chaos/README.md) for 30 s with seed 1252: faults injected into
 * sites, gateways and Redis while eight clients write, then every invariant
 * checked. Needs PostgreSQL and Redis like CI (it starts its own redis-server anyway).
 */
const chaosDescribe = process.env.PG_URL && process.env.REDIS_URL ? describe : describe.skip;

chaosDescribe('chaos run, seed 1252', () => {
  it('keeps every invariant under faults', async () => {
    const lines: string[] = [];
    const result = await runChaos(
      { durationMs: 30_000, seed: 1252, sites: 3, gateways: 2, clients: 8, noNemesis: false, verbose: false, pgUrl: process.env.PG_URL! },
      (line) => lines.push(line),
    );
    const report = lines.slice(lines.indexOf('== chaos summary ==')).join('\n');
    expect({ violations: result.violations.length, report }).toEqual({ violations: 0, report });
  }, 240_000);
});
