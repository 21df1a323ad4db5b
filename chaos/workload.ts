import { mutate, post } from './graphql';
import type { MutationName } from './history';
import { chooseArgs, chooseRead, MUTATION_QUERIES, OP_WEIGHTS, touches } from './mutations';
import type { Pool } from './pool';
import type { Recorder } from './recorder';
import { mulberry32, subSeed } from './rng';
import { readYourWrites } from './ryw';

/**
 * C clients, each looping until the deadline: pick an operation with its own
 * seeded PRNG, send it through some gateway, record it, and after an
 * acknowledged write read it back through another gateway.
 */
export interface WorkloadOptions {
  seed: number;
  clients: number;
  gatewayUrls: string[];
  deadline: number;
  pool: Pool;
  recorder: Recorder;
  /** Prefix of every idempotency key of this run. */
  runTag: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Keeps the pool's view of open loans and added books roughly current. */
function learn(pool: Pool, op: MutationName, args: Record<string, any>, outcome: { kind: string; value?: any; code?: string }): void {
  if (op === 'borrowCopy' && outcome.kind === 'ok' && outcome.value?.id) {
    pool.loans.set(outcome.value.id, { copyId: args.copyId, readerId: args.readerId });
    pool.openLoans.add(outcome.value.id);
  }
  if (op === 'returnCopy' && (outcome.kind === 'ok' || outcome.code === 'LOAN_CLOSED')) {
    pool.openLoans.delete(args.loanId);
    if (!pool.closedLoans.includes(args.loanId)) pool.closedLoans.push(args.loanId);
  }
  if (op === 'addBook' && outcome.kind === 'ok') pool.addedBooks.push(args.isbn);
}

async function client(o: WorkloadOptions, i: number): Promise<void> {
  const rng = mulberry32(subSeed(o.seed, i));
  const k = o.gatewayUrls.length;
  for (let n = 1; Date.now() < o.deadline; n++) {
    const op = rng.weighted(OP_WEIGHTS);
    const g = rng.int(0, k - 1);
    const url = o.gatewayUrls[g];
    if (op === 'read') {
      const { query, variables } = chooseRead(rng, o.pool);
      const entry = o.recorder.begin(i, g, 'read', { query: query.slice(0, 60), ...variables }, undefined);
      try {
        const answer = await post(url, query, variables);
        const code = answer.errors?.[0]?.extensions?.code;
        o.recorder.finish(entry, code ? { kind: 'refused', code } : { kind: 'ok', value: null });
      } catch (error) {
        o.recorder.finish(entry, { kind: 'ambiguous', reason: `network: ${(error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name}` });
        await sleep(100);
      }
      continue;
    }
    const args = chooseArgs(op, rng, o.pool, o.seed, i, n);
    const key = `${o.runTag}-c${i}-${n}`;
    const entry = o.recorder.begin(i, g, op, args, key, touches(op, args, o.pool));
    const outcome = await mutate(url, op, MUTATION_QUERIES[op], { ...args, key });
    o.recorder.finish(entry, outcome, outcome.kind === 'ok' ? touches(op, args, o.pool, outcome.value) : []);
    learn(o.pool, op, args, outcome as { kind: string; value?: any; code?: string });
    if (outcome.kind === 'ok') {
      const other = k > 1 ? (g + rng.int(1, k - 1)) % k : g;
      await readYourWrites(entry, other, o.gatewayUrls[other], o.pool, o.recorder);
    } else if (outcome.kind === 'ambiguous') {
      await sleep(outcome.reason.includes('ECONNREFUSED') ? 200 : 100);
    }
    await sleep(rng.int(5, 30));
  }
}

export async function runWorkload(o: WorkloadOptions): Promise<void> {
  await Promise.all(Array.from({ length: o.clients }, (_, i) => client(o, i + 1)));
}
