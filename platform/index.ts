export { BodyTooLarge, listen, readBody, sendJson, serveApollo } from './http';
export { exitOnSignals } from './process';
export { periodic, type Periodic } from './periodic';
