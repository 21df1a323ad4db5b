import { z } from 'zod';
import { MAX_ID_LENGTH, MAX_IDEMPOTENCY_KEY_LENGTH } from '../schema';
import { appliedSchema, operationSchema } from './operations';
import { REPLICATED_TABLES, versionedRowSchema } from './replicas';

/**
 * The site protocol, `POST /tx/<action>` with a JSON body
 * (docs/ARCHITECTURE.md §4): one request and one reply schema per action,
 * and the TypeScript types inferred from them. A site checks every request
 * against its schema before anything runs, so a malformed message changes
 * nothing; the gateway checks every reply, so a garbled answer is never
 * taken for a vote.
 */
const gid = z.string().min(1).max(64);
const ops = z.array(operationSchema).min(1).max(50);
const line = z.string().min(1).max(120);
const lines = z.array(line).max(100).default([]);
const key = z.string().min(1).max(MAX_IDEMPOTENCY_KEY_LENGTH);
const site = z.string().min(1).max(8);
const instant = z.iso.datetime({ offset: true });

export const idempotencySchema = z.object({ key, fingerprint: z.string().min(1).max(64) });
/** A request's idempotency key and what the request was (mutation and arguments, hashed). */
export type Idempotency = z.infer<typeof idempotencySchema>;

export const outcomeSchema = z.enum(['COMMITTED', 'ABORTED']);
export type Outcome = z.infer<typeof outcomeSchema>;

const refused = z.object({ vote: z.literal('REFUSED'), code: z.string(), message: z.string() });
const busy = z.object({ vote: z.literal('BUSY'), holder: z.string(), resource: z.string() });
export const voteSchema = z.discriminatedUnion('vote', [z.object({ vote: z.literal('PREPARED') }), refused, busy]);
/** A participant's answer to PREPARE: ready to commit, refused (nothing changed), or waiting for a lock's holder. */
export type Vote = z.infer<typeof voteSchema>;

export const localResultSchema = z.union([z.object({ outcome: z.literal('COMMITTED'), applied: z.array(appliedSchema) }), refused, busy]);
/** The answer of a one-phase commit or of the commit point's deciding commit. */
export type LocalResult = z.infer<typeof localResultSchema>;

export const decisionSchema = z.object({
  gid,
  outcome: outcomeSchema,
  idempotency: idempotencySchema.optional(),
  entity: z.object({ type: z.string(), id: z.string() }).optional(),
});
/** The commit-point site's record of a global decision, with the request's key and the entity it produced. */
export type Decision = z.infer<typeof decisionSchema>;

export const inDoubtSchema = z.object({ gid, state: z.string(), commitSite: z.string(), deadline: z.string(), createdAt: z.string() });
/** A participant still PREPARED (in doubt once past its deadline). */
export type InDoubt = z.infer<typeof inDoubtSchema>;

export const locatedSchema = z.union([
  z.object({
    held: z.literal(true),
    copy: z.object({ isbn: z.string(), status: z.string() }).optional(),
    reader: z.object({ name: z.string(), openLoans: z.number() }).optional(),
  }),
  z.object({ held: z.literal(false), site: z.string().optional() }),
]);
/** What planning needs of an entity: held here (with the row), or where it went. */
export type Located = z.infer<typeof locatedSchema>;

/**
 * One line of the audit trail: who did what, where, and how it ended. An
 * allowed mutation's line is written by its commit point in the deciding
 * transaction; a refused one's on its own.
 */
export const auditEntrySchema = z.object({
  id: z.string().min(1).max(40),
  at: instant,
  username: z.string().max(64).nullable(),
  role: z.enum(['ANONYMOUS', 'THUTHU', 'QUANLY']),
  operation: z.string().min(1).max(40),
  /** The arguments as JSON, secrets replaced. */
  arguments: z.string().max(4000),
  branches: z.array(site).max(20),
  gid: gid.nullable(),
  outcome: z.string().min(1).max(20),
  code: z.string().max(40).nullable(),
});
export type AuditEntry = z.infer<typeof auditEntrySchema>;

const auditQuery = z.object({
  from: instant.optional(),
  to: instant.optional(),
  username: z.string().max(64).optional(),
  branchId: site.optional(),
  limit: z.number().int().min(1).max(101),
  /** Entries strictly older than this one (newest first: at, then id, descending). */
  before: z.object({ at: instant, id: z.string().max(40) }).optional(),
});
export type AuditQuery = z.infer<typeof auditQuery>;

const staffRow = z.object({ username: z.string(), passwordHash: z.string(), role: z.enum(['THUTHU', 'QUANLY']), branchId: z.string().nullable(), disabled: z.boolean() });

const dirtyRow = z.object({ gid, line });
/** The longest a site holds a `watch` with nothing to report. */
export const MAX_WATCH_WAIT_MS = 10_000;
const loanRow = z.object({ readerId: z.string(), copyId: z.string(), isbn: z.string().nullable(), open: z.boolean() });
const entityId = z.string().min(1).max(MAX_ID_LENGTH);

export const TX_ACTIONS = {
  local: { request: z.object({ gid, ops, lines, idempotency: idempotencySchema.optional(), audit: auditEntrySchema.optional() }), reply: localResultSchema },
  'commit-point': { request: z.object({ gid, ops, lines, idempotency: idempotencySchema.optional(), audit: auditEntrySchema.optional() }), reply: localResultSchema },
  prepare: { request: z.object({ gid, ops, commitSite: site, deadline: instant, lines }), reply: voteSchema },
  commit: { request: z.object({ gid }), reply: z.object({ applied: z.array(appliedSchema) }) },
  abort: { request: z.object({ gid }), reply: z.object({ state: outcomeSchema }) },
  decide: { request: z.object({ gid }), reply: z.object({ outcome: outcomeSchema }) },
  decision: { request: z.object({ gid }), reply: z.object({ decision: decisionSchema.nullable() }) },
  'by-key': { request: z.object({ key }), reply: z.object({ decision: decisionSchema.nullable() }) },
  dirty: { request: z.object({ limit: z.number().int().min(1).max(1000).default(1000) }), reply: z.object({ dirty: z.array(dirtyRow) }) },
  clean: { request: z.object({ rows: z.array(dirtyRow).max(1000) }), reply: z.object({ ok: z.literal(true) }) },
  /**
   * A gateway's long poll (docs/ARCHITECTURE.md §5, "Watching the sites"): answered once the site has
   * something to report — at once when `wakeOnDirty` and the dirty-line log has rows, or when a commit here
   * logs one — and otherwise after `waitMs`. `dirty`: the log has rows; `overdue`: participants PREPARED past
   * their deadline; both as of the answer.
   */
  watch: {
    request: z.object({ waitMs: z.number().int().min(0).max(MAX_WATCH_WAIT_MS), wakeOnDirty: z.boolean() }),
    reply: z.object({ dirty: z.boolean(), overdue: z.number().int().min(0) }),
  },
  status: {
    request: z.object({}),
    reply: z.object({ prepared: z.array(inDoubtSchema), locks: z.number(), logged: z.number(), decisions: z.number() }),
  },
  locate: { request: z.object({ entity: z.enum(['Copy', 'Reader']), id: entityId }), reply: locatedSchema },
  loan: { request: z.object({ id: entityId }), reply: z.object({ loan: loanRow.nullable() }) },
  staff: { request: z.object({ username: z.string().min(1).max(64) }), reply: z.object({ account: staffRow.nullable() }) },
  audit: { request: z.object({ entry: auditEntrySchema }), reply: z.object({ ok: z.literal(true) }) },
  'audit-log': { request: auditQuery, reply: z.object({ entries: z.array(auditEntrySchema) }) },
  /** Per replicated table: row count, highest version and checksum (contracts/replicas.ts), for comparing sites. */
  'replica-summary': {
    request: z.object({}),
    reply: z.object({ tables: z.array(z.object({ table: z.enum(REPLICATED_TABLES), rows: z.number().int(), maxVersion: z.number().int(), checksum: z.string() })) }),
  },
  /** Every row of one replicated table, in key order: what a table whose checksums differ is compared by. */
  'replica-rows': { request: z.object({ table: z.enum(REPLICATED_TABLES) }), reply: z.object({ rows: z.array(versionedRowSchema) }) },
} as const;

export type TxAction = keyof typeof TX_ACTIONS;
/** What a caller sends (defaults may be left out). */
export type TxRequest<A extends TxAction> = z.input<(typeof TX_ACTIONS)[A]['request']>;
/** What a site's handler receives, defaults applied. */
export type TxMessage<A extends TxAction> = z.output<(typeof TX_ACTIONS)[A]['request']>;
export type TxReply<A extends TxAction> = z.output<(typeof TX_ACTIONS)[A]['reply']>;

export function isTxAction(action: string): action is TxAction {
  return Object.hasOwn(TX_ACTIONS, action);
}

/** A request that does not match its action's schema, in words a caller can act on. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
}
