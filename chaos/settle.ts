import { signFetch } from '../platform';
import { mutate, post } from './graphql';
import type { HistoryEntry, MutationName, Resolution } from './history';
import { isMutation } from './history';
import { MUTATION_QUERIES } from './mutations';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface SiteStatus {
  prepared: { gid: string }[];
  locks: number;
}

/** Polls every site's participant until none has a PREPARED row or a lock, for at most `boundMs`; `secret` signs the polls. */
export async function waitForRecovery(siteUrls: Map<string, string>, boundMs: number, secret: string): Promise<{ ms: number; settled: boolean; last: Record<string, SiteStatus | string> }> {
  const started = Date.now();
  let last: Record<string, SiteStatus | string> = {};
  for (;;) {
    last = Object.fromEntries(
      await Promise.all(
        [...siteUrls].map(async ([id, url]) => {
          try {
            const status = `${url}/tx/status`;
            const res = await fetch(status, signFetch(secret, status, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}', signal: AbortSignal.timeout(3000) }));
            if (!res.ok) return [id, `HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`];
            return [id, (await res.json()) as SiteStatus];
          } catch (error) {
            return [id, `unreachable: ${(error as Error).message}`];
          }
        }),
      ),
    );
    const settled = Object.values(last).every((s) => typeof s !== 'string' && s.prepared.length === 0 && s.locks === 0);
    if (settled || Date.now() - started > boundMs) return { ms: Date.now() - started, settled, last };
    await sleep(250);
  }
}

/** The transaction view, when the schema has it: COMMITTED / ABORTED / PENDING, null = unknown gid; undefined = no view. */
async function transactionOutcome(url: string, gid: string): Promise<{ outcome: string | null; entityId?: string } | undefined> {
  try {
    const answer = await post(url, `query($gid: ID!) { transaction(gid: $gid) { outcome commitSite entityId } }`, { gid });
    if (answer.errors?.length) return undefined;
    const t = answer.data?.transaction;
    return t ? { outcome: t.outcome, entityId: t.entityId ?? undefined } : { outcome: null };
  } catch {
    return undefined;
  }
}

/** Re-sends the mutation with the same idempotency key: the product promises the first outcome back. */
async function retry(entry: HistoryEntry, url: string, deadline: number): Promise<Resolution> {
  let detail = 'no time left to retry';
  for (let attempt = 1; attempt <= 3 && Date.now() < deadline; attempt++) {
    const op = entry.op as MutationName;
    const outcome = await mutate(url, op, MUTATION_QUERIES[op], { ...entry.args, key: entry.key });
    if (outcome.kind === 'ok') return { via: 'retry', result: 'applied', detail: `retry ${attempt} answered ok${outcome.code ? ` (${outcome.code})` : ''}`, value: outcome.value, endMs: Date.now() };
    if (outcome.kind === 'refused') return { via: 'retry', result: 'not-applied', detail: `retry ${attempt} refused ${outcome.code}`, endMs: Date.now() };
    detail = `retry ${attempt} still ambiguous: ${outcome.reason}`;
    await sleep(1000);
  }
  return { via: 'unresolved', result: 'unknown', detail, endMs: Date.now() };
}

/** Settles one ambiguous mutation: by its gid's outcome when known, else by a retry with its key. */
async function resolveOne(e: HistoryEntry, url: string, deadline: number): Promise<Resolution> {
  const o = e.outcome as Extract<HistoryEntry['outcome'], { kind: 'ambiguous' }>;
  // A refused TCP connection never carried the request: nothing to find out.
  if (o.reason.includes('ECONNREFUSED')) return { via: 'connection', result: 'not-applied', detail: 'the gateway refused the connection: the request never arrived', endMs: e.endMs };
  if (o.gid) {
    let t = await transactionOutcome(url, o.gid);
    for (let i = 0; t?.outcome === 'PENDING' && i < 10; i++) {
      await sleep(500);
      t = await transactionOutcome(url, o.gid);
    }
    if (t && t.outcome !== 'PENDING') {
      return t.outcome === 'COMMITTED'
        ? { via: 'transaction', result: 'applied', detail: `transaction ${o.gid} COMMITTED${t.entityId ? ` entity ${t.entityId}` : ''}`, value: t.entityId ? { id: t.entityId } : null, endMs: Date.now() }
        : { via: 'transaction', result: 'not-applied', detail: `transaction ${o.gid} ${t.outcome ?? 'unknown to every branch'}`, endMs: Date.now() };
    }
  }
  return retry(e, url, deadline);
}

/** Settles every ambiguous mutation of the history, a few at a time, until `deadline`. */
export async function resolveAmbiguous(entries: HistoryEntry[], gatewayUrls: string[], deadline: number, parallel = 4): Promise<void> {
  const todo = entries.filter((e) => isMutation(e) && e.outcome.kind === 'ambiguous');
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async (_, w) => {
      while (next < todo.length) {
        const e = todo[next++];
        e.resolution = await resolveOne(e, gatewayUrls[w % gatewayUrls.length], deadline);
      }
    }),
  );
}
