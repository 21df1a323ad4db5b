import type { Fixture } from '../fixture';
import { alternateRounds, type LoadTarget } from '../measure';
import { scenarioResult } from '../results';
import type { Scenario } from '../scenario';
import { COPY_STATUS } from '../../sql';
import { bearerHeaders } from '../stats';

/**
 * Writes: `borrowCopy` within one site (reader and copy at the same branch: a
 * local transaction) against across sites (reader registered elsewhere: the
 * two-phase commit), at one client for latency and at 16 clients on distinct
 * readers and copies for throughput. Each borrow is returned (untimed) so the
 * next can borrow again.
 */
type Pair = { readerId: string; copyId: string };

/** `n` single-site and `n` cross-site pairs, no reader or copy used twice, readers holding no open loan. */
export function writePairs(fx: Fixture, n: number): { single: Pair[]; cross: Pair[] } {
  const { readers, copies, loans } = fx.data;
  const open = new Set(loans.filter((l) => l.returnedAt === null).map((l) => l.readerId));
  const sites = fx.config.sites.map((s) => s.id);
  // Prefixed ids only: legacy rows (unprefixed) are routed by lookup, a different path from the one measured.
  const freeReaders = (site: string) => readers.filter((r) => r.homeBranchId === site && r.id.startsWith(`${site}-`) && !open.has(r.id)).map((r) => r.id);
  const freeCopies = (site: string) => copies.filter((c) => c.branchId === site && c.id.startsWith(`${site}-`) && c.status === COPY_STATUS.AVAILABLE).map((c) => c.id);
  const readerPool = new Map(sites.map((s) => [s, freeReaders(s)]));
  const copyPool = new Map(sites.map((s) => [s, freeCopies(s)]));
  const take = (pool: Map<string, string[]>, site: string) => {
    const id = pool.get(site)!.shift();
    if (!id) throw new Error(`not enough free readers or available copies at ${site} for ${n} clients; raise --scale`);
    return id;
  };
  const single: Pair[] = [];
  const cross: Pair[] = [];
  for (let i = 0; i < n; i++) {
    const site = sites[i % sites.length];
    single.push({ readerId: take(readerPool, site), copyId: take(copyPool, site) });
    cross.push({ readerId: take(readerPool, sites[(i + 1) % sites.length]), copyId: take(copyPool, site) });
  }
  return { single, cross };
}

function borrowTarget(fx: Fixture, name: string, pairs: Pair[], baseline?: string): LoadTarget {
  const headers = bearerHeaders(fx.token);
  return {
    name,
    baseline,
    processes: () => fx.libfed(fx.chain.gateways[0]),
    load: (durationS) => ({ kind: 'borrow', url: fx.chain.gateways[0].url, headers, pairs, durationS }),
  };
}

export const writes: Scenario = {
  id: 'writes',
  aliases: ['borrow'],
  title: '6. Writes',
  description:
    '`borrowCopy` (each returned, untimed) through the LibFed gateway. Baseline: the same mutation with reader and copy at one branch, a local transaction at one site, ' +
    'which is what a write costs when nothing is distributed; against it, reader at another branch than the copy: the two-phase commit across two sites. ' +
    'One client for latency; 16 clients (4 with `--quick`) on distinct readers and copies for throughput (borrows per second, each also returned).',
  columns: [
    { metric: 'p50Ms', label: 'p50 ms' },
    { metric: 'p99Ms', label: 'p99 ms' },
    { metric: 'rps', label: 'borrows/s' },
    { metric: 'cpuMsPerRequest', label: 'CPU ms/borrow' },
    { metric: 'errors', label: 'errors' },
  ],
  usesFixture: true,
  async run(o, f) {
    const fx = f!;
    const clients = o.quick ? 4 : 16;
    const { single, cross } = writePairs(fx, clients + 1);
    const one = 'one client: single-site';
    const many = `${clients} clients: single-site`;
    const targets = [
      borrowTarget(fx, one, single.slice(0, 1)),
      borrowTarget(fx, 'one client: cross-site (2PC)', cross.slice(0, 1), one),
      borrowTarget(fx, many, single.slice(1)),
      borrowTarget(fx, `${clients} clients: cross-site (2PC)`, cross.slice(1), many),
    ];
    const rounds = await alternateRounds(targets, o);
    return scenarioResult(writes, rounds, (name) => targets.find((t) => t.name === name)!.baseline ?? name);
  },
};
