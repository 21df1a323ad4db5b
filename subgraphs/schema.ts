import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import type { GraphQLSchema } from 'graphql';
import { stripDistribution, readSubgraphSdl, SUBGRAPHS, type SubgraphName } from '../schema';
import { catalogResolvers } from './catalog';
import { inventoryResolvers } from './inventory';
import { loansResolvers } from './loans';
import { readersResolvers } from './readers';
import { checkEntityRepresentations, refuseUnresolvedRootFields } from './refusals';

const RESOLVERS: Record<SubgraphName, unknown> = {
  catalog: catalogResolvers,
  inventory: inventoryResolvers,
  readers: readersResolvers,
  loans: loansResolvers,
};

/** The four executable subgraph schemas every site serves, from the same SDL files the gateway composes, with the site's own refusals (subgraphs/refusals.ts). */
export function buildSiteSchemas(): Map<SubgraphName, GraphQLSchema> {
  return new Map(
    SUBGRAPHS.map((name) => {
      const schema = buildSubgraphSchema({ typeDefs: stripDistribution(readSubgraphSdl(name)), resolvers: RESOLVERS[name] as GraphQLResolverMap<unknown> });
      checkEntityRepresentations(schema);
      refuseUnresolvedRootFields(schema);
      return [name, schema];
    }),
  );
}
