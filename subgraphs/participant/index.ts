export { Participant, type ParticipantStep } from './participant';
export { handleTx, BadTxRequest } from './http';
