import autocannon from 'autocannon';

/**
 * The load generator, run as its own process so its CPU is never counted
 * against the processes being measured. One worker serves a whole bench run
 * (bench/measure.ts forks it once, over IPC): each message is a load spec; it
 * answers `{ started }` as the load begins and `{ result }` (or `{ error }`)
 * when it ends. Starting a fresh TypeScript process per window cost about a
 * second each, a quarter of a `--quick` run.
 *
 * - `kind: 'http'`: autocannon, closed loop, `connections` in flight for `durationS`,
 *   one fixed POST body.
 * - `kind: 'borrow'`: `clients` closed loops, each borrowing and returning its own
 *   copy for its own reader (a body that changes per request is what autocannon's
 *   fixed requests cannot say); only the borrow is timed.
 */
export type LoadSpec =
  | { kind: 'http'; url: string; body: string; headers: Record<string, string>; connections: number; durationS: number }
  | { kind: 'borrow'; url: string; headers: Record<string, string>; pairs: { readerId: string; copyId: string }[]; durationS: number };

export interface LoadResult {
  requests: number;
  errors: number;
  durationS: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  bytes: number;
}

async function http(spec: Extract<LoadSpec, { kind: 'http' }>): Promise<LoadResult> {
  const result = await autocannon({
    url: spec.url,
    method: 'POST',
    body: spec.body,
    headers: { 'content-type': 'application/json', ...spec.headers },
    connections: spec.connections,
    duration: spec.durationS,
  });
  const requests = result.requests.total;
  return {
    requests,
    errors: result.errors + result.timeouts + result.non2xx,
    durationS: result.duration,
    rps: requests / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    bytes: result.throughput.total,
  };
}

const BORROW = 'mutation($r: ID!, $c: ID!) { borrowCopy(readerId: $r, copyId: $c) { id } }';
const RETURN = 'mutation($l: ID!) { returnCopy(loanId: $l) { id } }';

async function borrow(spec: Extract<LoadSpec, { kind: 'borrow' }>): Promise<LoadResult> {
  const headers = { 'content-type': 'application/json', ...spec.headers };
  const send = async (query: string, variables: Record<string, unknown>) => {
    const res = await fetch(spec.url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
    return (await res.json()) as { data?: Record<string, { id: string } | null>; errors?: unknown[] };
  };
  const latencies: number[] = [];
  let errors = 0;
  let bytes = 0;
  const started = performance.now();
  const until = started + spec.durationS * 1000;
  await Promise.all(
    spec.pairs.map(async ({ readerId, copyId }) => {
      while (performance.now() < until) {
        const t = performance.now();
        const lent = await send(BORROW, { r: readerId, c: copyId });
        latencies.push(performance.now() - t);
        const loan = lent.data?.borrowCopy;
        if (!loan) {
          errors++;
          continue;
        }
        bytes += JSON.stringify(lent).length;
        const back = await send(RETURN, { l: loan.id });
        if (!back.data?.returnCopy) errors++;
      }
    }),
  );
  const durationS = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.max(0, Math.ceil(p * latencies.length) - 1))] ?? NaN;
  // Throughput counts borrows (each also returned): the two-phase commit being measured.
  return { requests: latencies.length, errors, durationS, rps: latencies.length / durationS, p50Ms: at(0.5), p99Ms: at(0.99), bytes };
}

export type LoadMessage = { started: true } | { result: LoadResult } | { error: string };

/** One spec at a time: the parent waits for each answer before it sends the next. */
async function serve(spec: LoadSpec): Promise<void> {
  const send = (message: LoadMessage) => process.send!(message);
  // The parent opens its CPU window here: the message's own handling is not the target's.
  send({ started: true });
  try {
    send({ result: spec.kind === 'http' ? await http(spec) : await borrow(spec) });
  } catch (error) {
    send({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  }
}

if (process.send) {
  process.on('message', (spec: LoadSpec) => void serve(spec));
  // The bench process gone (it finished, or was killed) means this worker is done too.
  process.on('disconnect', () => process.exit(0));
}
