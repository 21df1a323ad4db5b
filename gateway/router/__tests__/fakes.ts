import { parse, print, type FieldNode, type OperationDefinitionNode } from 'graphql';
import { loadDistribution, type SubgraphName } from '../../../schema';
import { lruLocations } from '../locations';
import { SubgraphSource, type SubgraphSourceOptions } from '../source';
import { SiteHealth, SiteUnavailable, type SiteClient, type SubgraphRequest, type SubgraphResponse } from '../sites';

/** Fake sites for the router's unit tests: answers per site, and every call recorded. */

export type Handler = (request: SubgraphRequest) => SubgraphResponse | 'down';
export const SITES = ['Q1', 'Q3', 'Q5'];
const distribution = loadDistribution();

/** A SiteClient whose sites answer from `handlers`; returns [client, calls] so tests assert exact routing. */
export function fakeSites(handlers: Record<string, Handler>): [SiteClient, { site: string; request: SubgraphRequest }[]] {
  const calls: { site: string; request: SubgraphRequest }[] = [];
  const client: SiteClient = {
    async send(site, _subgraph, request) {
      calls.push({ site, request });
      const answer = handlers[site]?.(request) ?? 'down';
      if (answer === 'down') throw new SiteUnavailable(site, 'connection refused');
      return JSON.parse(JSON.stringify(answer));
    },
  };
  return [client, calls];
}

export function router(subgraph: SubgraphName, client: SiteClient, options: Partial<SubgraphSourceOptions> = {}) {
  return new SubgraphSource({
    distribution: distribution.get(subgraph)!,
    siteIds: SITES,
    client,
    health: new SiteHealth(() => SITES),
    birthSite: (id) => SITES.find((s) => id.startsWith(`${s}-`)),
    locations: lruLocations(),
    ...options,
  });
}

export const run = (r: SubgraphSource, query: string, variables: Record<string, unknown> = {}) =>
  r.process({ request: { query: print(parse(query)), variables }, context: {}, kind: 'health check' } as never);

export const ENTITIES = (selection: string) =>
  `query($representations: [_Any!]!) { _entities(representations: $representations) { ${selection} } }`;

/** The response key of a request's first root field: the alias the router chose (`transferCopy: copy(id: ...)`). */
export function rootKey(request: SubgraphRequest): string {
  const op = parse(request.query).definitions[0] as OperationDefinitionNode;
  const field = op.selectionSet.selections[0] as FieldNode;
  return field.alias?.value ?? field.name.value;
}

/**
 * A located entity that moves between sites: `holder` answers it (at the root or in `_entities`), its birth site
 * answers ENTITY_MOVED while it is away, any other site answers null. Set `at` to move it, `down` to stop a site.
 */
export function movingEntity(id: string, entity: Record<string, unknown>, at: string) {
  const state = { at, down: new Set<string>() };
  const born = id.slice(0, id.indexOf('-'));
  const answer = (site: string): Handler => (request) => {
    if (state.down.has(site)) return 'down';
    const reps = request.variables?.representations as { id: string }[] | undefined;
    const here = state.at === site;
    const moved = !here && site === born;
    const error = (path: (string | number)[]) => ({ message: `moved to ${state.at}`, path, extensions: { code: 'ENTITY_MOVED', site: state.at } });
    if (reps) {
      return {
        data: { _entities: reps.map((r) => (r.id === id && here ? entity : null)) },
        errors: moved ? reps.flatMap((r, j) => (r.id === id ? [error(['_entities', j])] : [])) : undefined,
      };
    }
    const key = rootKey(request);
    return { data: { [key]: here ? entity : null }, errors: moved ? [error([key])] : undefined };
  };
  const handlers = Object.fromEntries(SITES.map((s) => [s, answer(s)]));
  return { state, handlers };
}
