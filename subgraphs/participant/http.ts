import { z } from 'zod';
import { MAX_ID_LENGTH, MAX_IDEMPOTENCY_KEY_LENGTH } from '../../schema';
import type { Operation } from './ops';
import { loanRow, locate } from './ops';
import type { Idempotency, Participant } from './participant';
import type { SqlExecutor } from '../../sql';

/**
 * The participant's HTTP surface, `POST /tx/<action>` with a JSON body. Only
 * the gateway's coordinator (and recoverers) call it; bodies are checked here
 * so a malformed message changes nothing.
 */
const gid = z.string().min(1).max(64);
const ops = z.array(z.object({ kind: z.string() }).passthrough()).min(1).max(50);
const lines = z.array(z.string().max(120)).max(100).default([]);
const key = z.string().min(1).max(MAX_IDEMPOTENCY_KEY_LENGTH);
const idempotency = z.object({ key, fingerprint: z.string().min(1).max(64) }).optional();

const bodies = {
  local: z.object({ gid, ops, lines, idempotency }),
  'commit-point': z.object({ gid, ops, lines, idempotency }),
  decision: z.object({ gid }),
  'by-key': z.object({ key }),
  dirty: z.object({ limit: z.number().int().min(1).max(1000).default(1000) }),
  clean: z.object({ rows: z.array(z.object({ gid, line: z.string().max(120) })).max(1000) }),
  prepare: z.object({ gid, ops, commitSite: z.string(), deadline: z.string(), lines }),
  commit: z.object({ gid }),
  abort: z.object({ gid }),
  decide: z.object({ gid }),
  status: z.object({}),
  locate: z.object({ entity: z.enum(['Copy', 'Reader']), id: z.string().min(1).max(MAX_ID_LENGTH) }),
  loan: z.object({ id: z.string().min(1).max(MAX_ID_LENGTH) }),
};
export type TxAction = keyof typeof bodies;

export class BadTxRequest extends Error {}

export async function handleTx(participant: Participant, db: SqlExecutor, siteId: string, action: string, body: unknown): Promise<unknown> {
  if (!(action in bodies)) throw new BadTxRequest(`unknown action ${action}; expected one of ${Object.keys(bodies).join(', ')}`);
  const parsed = bodies[action as TxAction].safeParse(body ?? {});
  if (!parsed.success) throw new BadTxRequest(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  const b = parsed.data as Record<string, unknown>;
  const operations = b.ops as Operation[];
  switch (action as TxAction) {
    case 'local':
      return participant.local(b.gid as string, operations, b.lines as string[], b.idempotency as Idempotency | undefined);
    case 'commit-point':
      return participant.commitPoint(b.gid as string, operations, b.lines as string[], b.idempotency as Idempotency | undefined);
    case 'decision':
      return participant.decision(b.gid as string);
    case 'by-key':
      return { decision: await participant.byKey(b.key as string) };
    case 'dirty':
      return { dirty: await participant.dirty(b.limit as number) };
    case 'clean':
      await participant.clean(b.rows as { gid: string; line: string }[]);
      return { ok: true };
    case 'prepare':
      return participant.prepare(b.gid as string, operations, b.commitSite as string, new Date(b.deadline as string), b.lines as string[]);
    case 'commit':
      return { applied: await participant.commit(b.gid as string) };
    case 'abort':
      return { state: await participant.abort(b.gid as string) };
    case 'decide':
      return { outcome: await participant.decide(b.gid as string) };
    case 'status':
      return participant.status();
    case 'locate':
      return locate(db, b.entity as 'Copy' | 'Reader', b.id as string);
    case 'loan':
      return { loan: await loanRow(db, siteId, b.id as string) };
  }
}
