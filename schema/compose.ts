import { composeServices } from '@apollo/composition';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SCHEMA_DIR, SUBGRAPHS, stripDistribution, readSubgraphSdl } from './distribution';

export const SUPERGRAPH_FILE = join(SCHEMA_DIR, 'supergraph.graphql');

/**
 * Composes the four subgraph files into the supergraph the gateway serves.
 * URLs in it are placeholders: the fragment router picks the sites per fetch.
 */
export function composeSupergraph(dir = SCHEMA_DIR): string {
  const result = composeServices(
    SUBGRAPHS.map((name) => ({
      name,
      url: `http://${name}.libfed.internal/graphql`,
      typeDefs: stripDistribution(readSubgraphSdl(name, dir)),
    })),
  );
  if (result.errors) {
    throw new Error(`composition failed:\n${result.errors.map((e) => `  - ${e.message}`).join('\n')}`);
  }
  return result.supergraphSdl;
}

export function readSupergraph(): string {
  return readFileSync(SUPERGRAPH_FILE, 'utf8');
}

if (require.main === module) {
  writeFileSync(SUPERGRAPH_FILE, composeSupergraph());
  console.log(`wrote ${SUPERGRAPH_FILE}`);
}
