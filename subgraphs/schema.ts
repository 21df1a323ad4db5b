import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import type { GraphQLSchema } from 'graphql';
import { stripDistribution, readSubgraphSdl, SUBGRAPHS, type SubgraphName } from '../schema';
import { catalogResolvers } from './catalog';
import { inventoryResolvers } from './inventory';
import { loansResolvers } from './loans';
import { readersResolvers } from './readers';

const RESOLVERS: Record<SubgraphName, unknown> = {
  catalog: catalogResolvers,
  inventory: inventoryResolvers,
  readers: readersResolvers,
  loans: loansResolvers,
};

/** The four executable subgraph schemas every site serves, from the same SDL files the gateway composes. */
export function buildSiteSchemas(): Map<SubgraphName, GraphQLSchema> {
  return new Map(
    SUBGRAPHS.map((name) => [
      name,
      buildSubgraphSchema({ typeDefs: stripDistribution(readSubgraphSdl(name)), resolvers: RESOLVERS[name] as GraphQLResolverMap<unknown> }),
    ]),
  );
}
