export { Participant, type Vote, type Outcome, type LocalResult, type InDoubt } from './participant';
export type { Operation, Applied, Located } from './ops';
export { handleTx, BadTxRequest } from './http';
export { HttpParticipantClient, ParticipantUnreachable, type ParticipantClient } from './client';
