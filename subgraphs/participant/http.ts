import { describeIssues, isTxAction, TX_ACTIONS, type TxAction, type TxMessage, type TxReply } from '../../contracts';
import type { SqlExecutor } from '../../sql';
import { readAudit, writeAudit } from './audit';
import { loanRow, locate, staffAccount } from './ops';
import type { Participant } from './participant';
import { replicaRows, replicaSummary } from './replicas';

/**
 * The participant's HTTP surface, `POST /tx/<action>` with a JSON body. Only
 * the gateway's coordinator (and recoverers) call it; every body is checked
 * against its action's schema in contracts/ first, so a malformed message
 * changes nothing.
 */
export class BadTxRequest extends Error {}

type Handlers = { [A in TxAction]: (m: TxMessage<A>) => Promise<TxReply<A>> };

function handlers(participant: Participant, db: SqlExecutor, siteId: string): Handlers {
  return {
    local: (m) => participant.local(m.gid, m.ops, m.lines, m.idempotency, m.audit),
    'commit-point': (m) => participant.commitPoint(m.gid, m.ops, m.lines, m.idempotency, m.audit),
    prepare: (m) => participant.prepare(m.gid, m.ops, m.commitSite, new Date(m.deadline), m.lines),
    commit: async (m) => ({ applied: await participant.commit(m.gid) }),
    abort: async (m) => ({ state: await participant.abort(m.gid) }),
    decide: async (m) => ({ outcome: await participant.decide(m.gid) }),
    decision: (m) => participant.decision(m.gid),
    'by-key': async (m) => ({ decision: await participant.byKey(m.key) }),
    dirty: async (m) => ({ dirty: await participant.dirty(m.limit) }),
    clean: async (m) => {
      await participant.clean(m.rows);
      return { ok: true as const };
    },
    watch: (m) => participant.watch(m.waitMs, m.wakeOnDirty),
    status: () => participant.status(),
    locate: (m) => locate(db, m.entity, m.id),
    loan: async (m) => ({ loan: await loanRow(db, siteId, m.id) }),
    staff: async (m) => ({ account: await staffAccount(db, m.username) }),
    audit: async (m) => {
      await writeAudit(db, m.entry);
      return { ok: true as const };
    },
    'audit-log': async (m) => ({ entries: await readAudit(db, m) }),
    'replica-summary': async () => ({ tables: await replicaSummary(db) }),
    'replica-rows': async (m) => ({ rows: await replicaRows(db, m.table) }),
  };
}

export async function handleTx(participant: Participant, db: SqlExecutor, siteId: string, action: string, body: unknown): Promise<unknown> {
  if (!isTxAction(action)) throw new BadTxRequest(`unknown action ${action}; expected one of ${Object.keys(TX_ACTIONS).join(', ')}`);
  const parsed = TX_ACTIONS[action].request.safeParse(body ?? {});
  if (!parsed.success) throw new BadTxRequest(describeIssues(parsed.error));
  const handle = handlers(participant, db, siteId)[action] as (m: unknown) => Promise<unknown>;
  return handle(parsed.data);
}
