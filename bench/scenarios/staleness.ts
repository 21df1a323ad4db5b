import { COPY_STATUS } from '../../sql';
import { RESPONSE_CACHE_TTL_S, type Fixture } from '../fixture';
import type { ProcessFigures, RoundFigures } from '../measure';
import { cpuWindow, memoryMiB, rssSampler, type Measured } from '../proc';
import { scenarioResult } from '../results';
import type { Scenario } from '../scenario';
import { bearerHeaders, median, percentile } from '../stats';

/**
 * Staleness under writes: the two cached targets of scenario 2 while copies
 * are borrowed and returned at a steady rate. After each acknowledged write,
 * every read of that copy until its next write is checked against the status
 * the write left: a read showing the old status is stale, and the write's
 * staleness lasts until the first read showing the new one.
 */
const READ = 'query($id: ID!) { copy(id: $id) { status } }';
const BORROW = 'mutation($r: ID!, $c: ID!) { borrowCopy(readerId: $r, copyId: $c) { id } }';
const RETURN = 'mutation($l: ID!) { returnCopy(loanId: $l) { id } }';
const WRITE_EVERY_MS = 500;
const READERS = 4;
const POOL = 6;

interface Side {
  name: string;
  writeUrl: string;
  writeToken: string;
  readUrl: string;
  readToken?: string;
  processes: () => Measured[];
}

type Pair = { readerId: string; copyId: string };
interface Write { copyId: string; sentAt: number; ackAt: number; status: string }
interface Read { copyId: string; sentAt: number; status: string }

async function gql(url: string, token: string | undefined, query: string, variables: Record<string, unknown>): Promise<any> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...bearerHeaders(token) }, body: JSON.stringify({ query, variables }) });
  const answer = (await res.json()) as { data?: any; errors?: unknown[] };
  if (answer.errors || !answer.data) throw new Error(`${url}: ${query} failed: ${JSON.stringify(answer.errors)}`);
  return answer.data;
}

/** Copies at Q1 with readers at Q1 holding no open loan: ids both the chain and the central site route (the central writer knows one site, Q1). */
function q1Pairs(fx: Fixture): Pair[] {
  const open = new Set(fx.data.loans.filter((l) => l.returnedAt === null).map((l) => l.readerId));
  const readers = fx.data.readers.filter((r) => r.homeBranchId === 'Q1' && r.id.startsWith('Q1-') && !open.has(r.id));
  // From the end of the lists: the writes scenario takes its pairs from the start.
  const copies = fx.data.copies.filter((c) => c.branchId === 'Q1' && c.id.startsWith('Q1-') && c.status === COPY_STATUS.AVAILABLE).reverse();
  return Array.from({ length: POOL }, (_, i) => ({ readerId: readers[readers.length - 1 - i].id, copyId: copies[i].id }));
}

/** Stale reads and stale time per write: reads of the copy sent after the write's ack and before its next write. */
export function staleness(writes: Write[], reads: Read[], endAt: number): { staleReads: number; counted: number; perWriteMs: number[]; staleWrites: number } {
  let staleReads = 0;
  let counted = 0;
  let staleWrites = 0;
  const perWriteMs: number[] = [];
  for (const [i, w] of writes.entries()) {
    const next = writes.slice(i + 1).find((x) => x.copyId === w.copyId);
    const until = next?.sentAt ?? endAt;
    const after = reads.filter((r) => r.copyId === w.copyId && r.sentAt >= w.ackAt && r.sentAt < until).sort((a, b) => a.sentAt - b.sentAt);
    const stale = after.filter((r) => r.status !== w.status).length;
    counted += after.length;
    staleReads += stale;
    if (stale) staleWrites++;
    const fresh = after.find((r) => r.status === w.status);
    // Still stale when the copy was written again (or the window ended): the staleness is at least that long.
    perWriteMs.push(!stale ? 0 : (fresh?.sentAt ?? until) - w.ackAt);
  }
  return { staleReads, counted, perWriteMs, staleWrites };
}

async function measureSide(side: Side, pairs: Pair[], durationS: number): Promise<RoundFigures> {
  const processes = side.processes();
  const loans = new Map<string, string>();
  for (const p of pairs) await gql(side.readUrl, side.readToken, READ, { id: p.copyId }); // fill the caches
  const writes: Write[] = [];
  const reads: Read[] = [];
  const cpu = cpuWindow(processes);
  const rss = rssSampler(processes);
  const started = performance.now();
  const endAt = started + durationS * 1000;
  const writer = async () => {
    for (let i = 0; performance.now() < endAt; i++) {
      const p = pairs[i % pairs.length];
      const sentAt = performance.now();
      const loanId = loans.get(p.copyId);
      if (loanId) {
        await gql(side.writeUrl, side.writeToken, RETURN, { l: loanId });
        loans.delete(p.copyId);
      } else loans.set(p.copyId, (await gql(side.writeUrl, side.writeToken, BORROW, { r: p.readerId, c: p.copyId })).borrowCopy.id);
      writes.push({ copyId: p.copyId, sentAt, ackAt: performance.now(), status: loanId ? 'AVAILABLE' : 'ON_LOAN' });
      await new Promise((r) => setTimeout(r, Math.max(0, sentAt + WRITE_EVERY_MS - performance.now())));
    }
  };
  const reader = async (k: number) => {
    for (let i = k; performance.now() < endAt; i++) {
      const p = pairs[i % pairs.length];
      const sentAt = performance.now();
      reads.push({ copyId: p.copyId, sentAt, status: (await gql(side.readUrl, side.readToken, READ, { id: p.copyId })).copy.status });
    }
  };
  await Promise.all([writer(), ...Array.from({ length: READERS }, (_, k) => reader(k))]);
  const cpuSeconds = cpu.stop();
  const peaks = rss.stop();
  for (const [copyId, l] of loans) await gql(side.writeUrl, side.writeToken, RETURN, { l }).then(() => loans.delete(copyId)); // leave the copies as found
  const s = staleness(writes, reads, endAt);
  const requests = reads.length + writes.length;
  const procs: Record<string, ProcessFigures> = {};
  for (const p of processes) {
    const m = memoryMiB(p.pid);
    procs[p.name] = { role: p.role, cpuMsPerRequest: (cpuSeconds.get(p.name)! * 1000) / requests, rssMiB: m.rssMiB, peakRssMiB: peaks.get(p.name)!, hwmMiB: m.peakRssMiB };
  }
  const all = Object.values(procs);
  return {
    metrics: {
      writes: writes.length,
      reads: reads.length,
      staleReads: s.staleReads,
      staleReadShare: s.staleReads / Math.max(1, s.counted),
      staleWriteShare: s.staleWrites / Math.max(1, writes.length),
      staleMsP50: median(s.perWriteMs),
      staleMsMax: percentile(s.perWriteMs, 100),
      cpuMsPerRequest: all.reduce((sum, p) => sum + p.cpuMsPerRequest!, 0),
      rssMiB: all.reduce((sum, p) => sum + p.rssMiB, 0),
      peakRssMiB: all.reduce((sum, p) => sum + p.peakRssMiB, 0),
    },
    processes: procs,
  };
}

export const stalenessScenario: Scenario = {
  id: 'staleness',
  title: '3. Staleness under writes',
  description:
    `Scenario 2's cached targets while one copy of a pool of ${POOL} is borrowed or returned every ${WRITE_EVERY_MS} ms and ${READERS} clients read \`copy(id) { status }\` of the pool in a closed loop. ` +
    `Baseline: the plain @apollo/gateway with a ${RESPONSE_CACHE_TTL_S} s whole-response cache, what a user adds for speed; its writes go to the central site through a LibFed gateway over that one site (a plain gateway cannot coordinate LibFed's mutations), so no write ever reaches its cache. ` +
    'LibFed with its warm coherent cache, writes and reads through the same gateway. A read is stale when it was sent after a write was acknowledged and shows the status from before it; ' +
    "a write's stale time runs from its acknowledgement to the first read showing its status (capped at the copy's next write). Reads are made by the benchmark process itself, not a separate load process.",
  columns: [
    { metric: 'staleReadShare', label: 'stale share of reads' },
    { metric: 'staleWriteShare', label: 'writes followed by a stale read' },
    { metric: 'staleMsP50', label: 'stale ms p50 per write' },
    { metric: 'staleMsMax', label: 'stale ms max' },
    { metric: 'reads', label: 'reads' },
  ],
  usesFixture: true,
  async run(o, f) {
    const fx = f!;
    const pairs = q1Pairs(fx);
    const baseline = `plain + response cache ${RESPONSE_CACHE_TTL_S} s`;
    const sides: Side[] = [
      { name: baseline, writeUrl: fx.centralWriter.url, writeToken: fx.centralToken, readUrl: fx.plainCached.url, processes: () => [...fx.centralised(fx.plainCached), { name: fx.centralWriter.name, role: 'gateway', pid: fx.centralWriter.child.pid! }] },
      { name: 'LibFed, warm cache', writeUrl: fx.chain.gateways[0].url, writeToken: fx.token, readUrl: fx.chain.gateways[0].url, readToken: fx.token, processes: () => fx.libfed(fx.chain.gateways[0]) },
    ];
    // Long enough for several writes (one every 500 ms) and their reads; a --quick run checks the harness only.
    const durationS = o.quick ? 2 : Math.max(4, o.windowS * 2);
    const rounds = new Map<string, RoundFigures[]>(sides.map((s) => [s.name, []]));
    for (let r = 0; r < o.rounds; r++) {
      const line: string[] = [];
      for (const side of r % 2 ? [...sides].reverse() : sides) {
        const f = await measureSide(side, pairs, durationS);
        rounds.get(side.name)!.push(f);
        line.push(`${side.name} ${f.metrics.staleReads}/${f.metrics.reads} stale reads after ${f.metrics.writes} writes`);
      }
      o.log(`  round ${r + 1}/${o.rounds}: ${line.join(' | ')}`);
    }
    return scenarioResult(stalenessScenario, rounds, () => baseline);
  },
};
