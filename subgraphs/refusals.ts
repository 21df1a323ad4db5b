import type { ApolloServerPlugin } from '@apollo/server';
import { isUnionType, Kind, visit, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import { firstUnstorable, isStorableText, libfedError } from '../schema';

/**
 * What a site refuses before any resolver or statement runs, so that a signed
 * caller's malformed request is answered with a code and never as an internal
 * error. A gateway within its limits sends none of these (it refuses them
 * first); a site checks again because it never trusts a caller.
 */

/** A string no database can store, in a literal of the document or in a variable: BAD_USER_INPUT. */
export const storableTextPlugin: ApolloServerPlugin = {
  async requestDidStart() {
    return {
      async didResolveOperation({ document, request }) {
        const variable = firstUnstorable(request.variables ?? {}, '$');
        let literal = false;
        if (!variable) {
          visit(document, {
            [Kind.STRING]: (node) => {
              if (!isStorableText(node.value)) literal = true;
            },
          });
        }
        if (variable || literal) {
          const where = variable ? `variable ${variable.slice(2)}` : 'a string literal';
          throw libfedError('BAD_USER_INPUT', `${where} holds a NUL character or an unpaired surrogate, which no branch database can store`, { http: { status: 400 } });
        }
      },
    };
  },
};

/**
 * `_entities` representations, checked before the reference resolvers use
 * them: each an object naming its type, every other field a string (every
 * key of this schema is one string field, and no field is `@requires`d; a
 * `@requires` would carry objects here and need this check widened).
 */
export function checkEntityRepresentations(schema: GraphQLSchema): void {
  const field = schema.getQueryType()?.getFields()._entities;
  if (!field?.resolve) return;
  const resolve = field.resolve;
  const union = schema.getType('_Entity');
  const entities = new Set(isUnionType(union) ? union.getTypes().map((t) => t.name) : []);
  field.resolve = (source, args: { representations?: unknown }, context, info) => {
    const { representations } = args;
    if (!Array.isArray(representations)) throw badRepresentation('representations must be a list');
    representations.forEach((r, i) => {
      if (typeof r !== 'object' || r === null || Array.isArray(r)) throw badRepresentation(`representation ${i} is not an object`);
      const { __typename, ...keys } = r as Record<string, unknown>;
      if (typeof __typename !== 'string' || !entities.has(__typename)) throw badRepresentation(`representation ${i} names no entity type of this subgraph`);
      for (const [key, value] of Object.entries(keys)) {
        if (typeof value !== 'string') throw badRepresentation(`representation ${i} (${__typename}): key ${key} must be a string, got ${value === null ? 'null' : typeof value}`);
      }
    });
    return resolve(source, args, context, info);
  };
}

const badRepresentation = (message: string) => libfedError('BAD_USER_INPUT', `_entities: ${message}`);

/**
 * Root fields the gateway answers itself (`@coordinatorView`: `auditLog`,
 * `transactions`, `login`, ...) and the coordinated mutations are in a site's
 * SDL, so that the gateway composes them, but no site resolves them: asked
 * directly, a site says so instead of failing on a null.
 */
export function refuseUnresolvedRootFields(schema: GraphQLSchema): void {
  for (const type of [schema.getQueryType(), schema.getMutationType()]) {
    for (const field of Object.values(type?.getFields() ?? {})) {
      if (field.resolve) continue;
      const refuse: GraphQLFieldResolver<unknown, unknown> = () => {
        throw libfedError('BAD_REQUEST', `${type!.name}.${field.name} is answered by the gateway, not by a branch site: send it to the gateway`);
      };
      field.resolve = refuse;
    }
  }
}
