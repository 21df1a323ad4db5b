import { HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import { print, type DocumentNode } from 'graphql';
import type { CoherentCache } from '../cache';
import type { Caller, GatewayContext } from './auth/caller';

/**
 * The coherent response cache (docs/ARCHITECTURE.md §5, "Whole responses"):
 * a query's whole answer, kept with the entity cache lines it was built from,
 * answered before any query plan runs while every one of those lines is still
 * valid in this instance. Apollo's order makes it safe: every
 * `didResolveOperation` (the role check, the limits) runs before
 * `responseForOperation`, so a refused operation never reaches the cache; the
 * caller's scope is in the key anyway, so one role's answer is never another's.
 */
export function responseCachePlugin(cache: CoherentCache): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      let key: string | undefined;
      let served = false;
      return {
        async responseForOperation(rc) {
          if (rc.operation?.operation !== 'query') return null;
          key = responseKey(rc.document, rc.operationName ?? null, rc.request.variables ?? {}, rc.contextValue.caller);
          const text = cache.lookupResponse(key);
          if (text === undefined) {
            // Every read of this request records its lines here (router/source.ts hands it to the entity cache).
            rc.contextValue.responseTrace = cache.traceResponse();
            return null;
          }
          served = true;
          return { http: { headers: new HeaderMap() }, body: { kind: 'single', singleResult: JSON.parse(text) } };
        },
        async willSendResponse(rc) {
          const trace = rc.contextValue.responseTrace;
          if (served || key === undefined || trace === undefined) return;
          const body = rc.response.body;
          // Only a clean, complete answer: no error anywhere, no status other than 200, nothing incremental.
          if (body.kind !== 'single' || body.singleResult.errors?.length || body.singleResult.data == null) return;
          if (rc.response.http.status !== undefined && rc.response.http.status !== 200) return;
          cache.storeResponse(key, trace, JSON.stringify({ data: body.singleResult.data }));
        },
      };
    },
  };
}

/** Printed once per parsed document (Apollo keeps parsed documents per query text): whitespace and comments do not split keys. */
const printed = new WeakMap<DocumentNode, string>();

/**
 * The key of a whole response: the normalised operation, the operation name,
 * the variables (keys sorted) and the caller's scope — role and a librarian's
 * branch, anonymous apart.
 */
export function responseKey(document: DocumentNode, operationName: string | null, variables: Record<string, unknown>, caller: Caller): string {
  let text = printed.get(document);
  if (text === undefined) {
    text = print(document);
    printed.set(document, text);
  }
  return `${caller.role}:${caller.branch ?? ''}\n${operationName ?? ''}\n${canonicalJson(variables)}\n${text}`;
}

/** JSON with object keys sorted, so `{a, b}` and `{b, a}` are one key. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
