export * from './sites';
export * from './distribution';
export { composeSupergraph, readSupergraph, SUPERGRAPH_FILE } from './compose';
export * from './errors';
export * from './limits';
export * from './period';
