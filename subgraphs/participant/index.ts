export { Participant, type Vote, type Outcome, type LocalResult, type InDoubt, type Decision, type Idempotency, type ParticipantStep } from './participant';
export type { Operation, Applied, Located, Table } from './ops';
export { writes } from './ops';
export { handleTx, BadTxRequest } from './http';
export { HttpParticipantClient, ParticipantFailed, ParticipantUnreachable, type ParticipantClient } from './client';
