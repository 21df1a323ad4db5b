export * from './ids';
export { cacheLine, typeLine } from './lines';
export { appliedSchema, operationSchema, staleLines, writes, type Applied, type Operation, type Table } from './operations';
export {
  decisionSchema,
  describeIssues,
  isTxAction,
  MAX_WATCH_WAIT_MS,
  TX_ACTIONS,
  voteSchema,
  type Decision,
  type Idempotency,
  type InDoubt,
  type LocalResult,
  type Located,
  type Outcome,
  type AuditEntry,
  type AuditQuery,
  type TxAction,
  type TxMessage,
  type TxReply,
  type TxRequest,
  type Vote,
} from './protocol';
export { httpFailure } from './http-errors';
export { HttpParticipantClient, MalformedReply, ParticipantFailed, ParticipantUnreachable, type HttpParticipantClientOptions, type ParticipantCall, type ParticipantClient } from './client';
export { hashPassword, nameSalt, verifyPassword } from './passwords';
export { USERNAME_PATTERN } from './operations';
export {
  byKey,
  canonicalRow,
  replicaChecksum,
  replicaKey,
  repairRequestSchema,
  replicaRepairSchema,
  replicaRowSchema,
  REPLICATED_TABLES,
  versionedRowSchema,
  type ReplicaRepair,
  type ReplicaRow,
  type ReplicatedTable,
  type VersionedRow,
} from './replicas';
