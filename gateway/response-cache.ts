import { HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import { print, type DocumentNode, type FormattedExecutionResult } from 'graphql';
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
          const data = cache.lookupResponse(key);
          if (data === undefined) {
            // Every read of this request records its lines here (router/source.ts hands it to the entity cache).
            rc.contextValue.responseTrace = cache.traceResponse();
            return null;
          }
          served = true;
          // A fresh result around the shared, frozen data: later plugins may set the result's fields, never the data's.
          return { http: { headers: new HeaderMap() }, body: { kind: 'single', singleResult: { data: data as Record<string, unknown> } } };
        },
        async willSendResponse(rc) {
          const trace = rc.contextValue.responseTrace;
          if (served || key === undefined || trace === undefined) return;
          const body = rc.response.body;
          // Only a clean, complete answer: no error anywhere, no status other than 200, nothing incremental.
          if (body.kind !== 'single' || body.singleResult.errors?.length || body.singleResult.data == null) return;
          if (rc.response.http.status !== undefined && rc.response.http.status !== 200) return;
          // The stored data is parsed back from the text it will be written as, so the two agree by construction.
          const text = JSON.stringify(body.singleResult.data);
          const data = deepFreeze(JSON.parse(text) as object);
          if (cache.storeResponse(key, trace, data, text.length)) storedText.set(data, text);
        },
      };
    },
  };
}

/** The JSON text of each stored answer's data, made once when it is stored: a hit is written, never serialized again. */
const storedText = new WeakMap<object, string>();

/**
 * Apollo's `stringifyResult`: its own serialization (JSON and a newline), but
 * a result that is exactly a stored answer — the data of a hit, no errors, no
 * extensions — is written from the text kept with it. Byte for byte the same.
 */
export function stringifyResult(result: FormattedExecutionResult): string {
  const text = result.errors === undefined && result.extensions === undefined && result.data ? storedText.get(result.data) : undefined;
  return text === undefined ? `${JSON.stringify(result)}\n` : `{"data":${text}}\n`;
}

/** Frozen all the way down: a stored answer is shared by every hit, and nothing may change it in place. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
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
