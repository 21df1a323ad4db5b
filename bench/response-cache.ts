import type { ApolloServerPlugin, GraphQLResponse } from '@apollo/server';

/**
 * A whole-response cache for the plain baseline, the kind a user of a plain
 * @apollo/gateway would add: every successful query's answer kept for `ttlMs`,
 * keyed by query text, variables and operation name, served without planning
 * or fetching while it lives, and never invalidated by a write. It stands in
 * for `@apollo/server-plugin-response-cache` (same keying, same TTL semantics
 * with every answer public and `defaultMaxAge` = the TTL) with an in-process
 * map; that plugin's own store is also in-process unless given Redis.
 */
export function responseCachePlugin(o: { ttlMs: number; now?: () => number }): ApolloServerPlugin {
  const now = o.now ?? Date.now;
  const entries = new Map<string, { expiresAt: number; body: GraphQLResponse['body'] }>();
  return {
    async requestDidStart() {
      let key: string | undefined;
      let served = false;
      return {
        async responseForOperation({ operation, request, response }) {
          if (operation.operation !== 'query') return null;
          key = JSON.stringify([request.query, request.variables ?? {}, request.operationName ?? null]);
          const hit = entries.get(key);
          if (!hit || hit.expiresAt <= now()) return null;
          served = true;
          return { http: response.http, body: hit.body };
        },
        async willSendResponse({ response }) {
          if (key === undefined || served || response.body.kind !== 'single' || response.body.singleResult.errors) return;
          entries.set(key, { expiresAt: now() + o.ttlMs, body: response.body });
        },
      };
    },
  };
}
