import type { GraphQLDataSource, GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import DataLoader from 'dataloader';
import { LRUCache } from 'lru-cache';
import type { GraphQLError } from 'graphql';
import type { SubgraphDistribution } from '../../schema';
import { stripReserved } from './inject';
import { mergeGathered } from './merge';
import { dedupe, limitOf, movedTo, responseOf, unavailable, withoutMoved, type Answer, type Json } from './answers';
import { EntityRouter } from './entities';
import { planFetch, READ_BACK_KEY, type FetchPlan, type GatheredField, type MutationFieldPlan, type RootFieldPlan } from './plan';
import { argumentValue, argumentValues, project } from './selection';
import { SiteUnavailable, type SiteClient, type SiteHealth, type SubgraphError, type SubgraphResponse } from './sites';

export interface FragmentRouterOptions {
  distribution: SubgraphDistribution;
  siteIds: readonly string[];
  client: SiteClient;
  health: SiteHealth;
  /** DESIGN §3 rule 4: the site an id was born at, from its prefix, if it has one. */
  birthSite: (id: string) => string | undefined;
  /** Distinct fetch texts whose plans are kept. */
  planCacheSize?: number;
  /** Entities whose current site is remembered after a move or an ask-all lookup. */
  locationCacheSize?: number;
  /** Carries out coordinated mutations; returns the key of the entity to read back. */
  mutations?: MutationRunner;
  /** The coherent entity cache (DESIGN §5); without it every entity is fetched. */
  cache?: EntityCache;
  /**
   * For subgraphs whose answers change with the clock, not only with writes
   * (a loan becomes overdue at its due time): cached answers are kept per time
   * bucket of this length, so none is older than one bucket.
   */
  timeBucketMs?: number;
}

/** The part of the coherence cache the router uses: read through, keyed by line (`Type:key`) and variant. */
export interface EntityCache {
  read<T>(line: string, variant: string, fill: () => Promise<T>): Promise<T>;
}

/** A fill whose answer must not be cached (an error, a missing site, no such entity): it still answers this request. */
class Uncacheable extends Error {
  constructor(readonly result: { value: unknown; errors: SubgraphError[] }) {
    super('not cacheable');
  }
}

/** What a committed mutation produced: the entity to read back, its transaction, and where a moved entity lives now. */
export interface MutationResult {
  key: string;
  gid: string;
  moved?: { id: string; site: string };
}

export interface MutationRunner {
  /** `idempotencyKey`: a retry with the same key answers the first outcome instead of doing the work again. */
  run(field: string, args: Record<string, unknown>, idempotencyKey?: string): Promise<MutationResult>;
  /** The coordinator's own views (`@coordinatorView` fields: `transactions`, `transaction(gid)`), answered by the gateway. */
  view(field: string, args: Record<string, unknown>): Promise<unknown>;
}

type GatewayGraphQLResponse = Awaited<ReturnType<GraphQLDataSource['process']>>;
/**
 * The horizontal axis of distribution (DESIGN §3): one data source per logical
 * subgraph. For each fetch the planner sends, it picks the sites, sends them
 * the fetch in parallel and merges their answers, so the gateway sees one
 * subgraph where there are N site databases.
 */
export class FragmentRouter implements GraphQLDataSource {
  private readonly plans: LRUCache<string, FetchPlan>;
  private readonly locations: LRUCache<string, string>;

  private readonly entityRouter: EntityRouter;

  constructor(private readonly o: FragmentRouterOptions) {
    this.plans = new LRUCache({ max: o.planCacheSize ?? 1000 });
    this.locations = new LRUCache({ max: o.locationCacheSize ?? 100_000 });
    this.entityRouter = new EntityRouter({
      siteIds: o.siteIds,
      health: o.health,
      locations: this.locations,
      birthSite: o.birthSite,
      ask: (site, query, variables) => this.ask(site, query, variables),
      askAny: (query, variables) => this.askAny(query, variables),
      gatherSites: (fields, variables) => this.gatherSites(fields, variables),
    });
  }

  async process(options: GraphQLDataSourceProcessOptions): Promise<GatewayGraphQLResponse> {
    const query = options.request.query ?? '';
    const variables = options.request.variables ?? {};
    const plan = this.plan(query);
    const result =
      plan.kind === 'entities'
        ? await this.entities(plan, variables)
        : plan.kind === 'mutation'
          ? await this.mutation(plan.fields, variables)
          : await this.roots(plan.fields, variables);
    stripReserved(result.data);
    return result as GatewayGraphQLResponse;
  }

  /**
   * DESIGN §4: mutations are carried out by the coordinator, not the planner.
   * Fields run one after another (GraphQL's serial mutation order); each answer
   * is read back from the committed data through the read path.
   */
  private async mutation(fields: MutationFieldPlan[], variables: Json): Promise<SubgraphResponse> {
    const data: Json = {};
    const errors: SubgraphError[] = [];
    for (const f of fields) {
      if (!this.o.mutations) throw new Error('this gateway has no coordinator');
      let key: string;
      try {
        const args = argumentValues(f.field, variables);
        ({ key } = await this.o.mutations.run(f.field.name.value, args, typeof args.idempotencyKey === 'string' ? args.idempotencyKey : undefined));
      } catch (error) {
        const e = error as GraphQLError;
        if (!e.extensions?.code) throw error;
        data[f.key] = null;
        errors.push({ message: e.message, path: [f.key], extensions: e.extensions });
        continue;
      }
      const readBack = this.plan(f.readBackQuery);
      const answer = await this.roots((readBack as Extract<FetchPlan, { kind: 'roots' }>).fields, { ...variables, [READ_BACK_KEY]: key });
      data[f.key] = answer.data?.[f.key] ?? null;
      errors.push(...(answer.errors ?? []));
    }
    return { data, errors: errors.length ? errors : undefined };
  }

  private timeBucket(): number {
    return this.o.timeBucketMs ? Math.floor(Date.now() / this.o.timeBucketMs) : 0;
  }

  private plan(query: string): FetchPlan {
    let plan = this.plans.get(query);
    if (!plan) {
      plan = planFetch(query, this.o.distribution);
      this.plans.set(query, plan);
    }
    return plan;
  }

  /** Sends one request to one site; a site that cannot answer becomes a value, not an exception. */
  private async ask(site: string, query: string, variables: Json): Promise<Answer> {
    const started = performance.now();
    try {
      const response = await this.o.client.send(site, this.o.distribution.name, { query, variables });
      this.o.health.succeeded(site, performance.now() - started);
      return { site, response };
    } catch (error) {
      if (!(error instanceof SiteUnavailable)) throw error;
      this.o.health.failed(site);
      return { site, down: error };
    }
  }

  /** Rule 3: replicated data from the fastest healthy site, the next one on failure. */
  private async askAny(query: string, variables: Json): Promise<Answer> {
    let last: Answer | undefined;
    for (const site of this.o.health.preferred()) {
      last = await this.ask(site, query, variables);
      if ('response' in last) return last;
    }
    return last ?? { site: '?', down: new SiteUnavailable('?', 'no sites configured') };
  }

  private async roots(fields: RootFieldPlan[], variables: Json): Promise<SubgraphResponse> {
    const answers = await Promise.all(fields.map((f) => this.cachedRoot(f, variables)));
    const data: Json = {};
    const errors: SubgraphError[] = [];
    answers.forEach((answer, i) => {
      data[fields[i].key] = answer.data?.[fields[i].key] ?? null;
      errors.push(...(answer.errors ?? []));
    });
    return { data, errors: dedupe(errors) };
  }

  /**
   * Root fields through the coherent cache too: a located lookup is its
   * entity's line (`Copy:Q1-QS00001`), a list or replicated field is one line
   * per field (`Query.loans`) with the arguments in the variant. Mutations name
   * the lines they make stale.
   */
  private async cachedRoot(plan: RootFieldPlan, variables: Json): Promise<SubgraphResponse> {
    const cache = this.o.cache;
    if (!cache || plan.rule.kind === 'coordinator' || plan.field.name.value === '__typename') return this.root(plan, variables);
    const line =
      plan.rule.kind === 'locate'
        ? `${plan.rule.type}:${String(argumentValue(plan.field, plan.rule.arg, variables))}`
        : `Query.${plan.field.name.value}`;
    const variant = `${this.o.distribution.name}:${this.timeBucket()}:${plan.query}:${JSON.stringify(variables)}`;
    try {
      // Kept as JSON text: every reader gets its own objects, since the gateway merges later fetches into what it gets.
      const text = await cache.read(line, variant, async () => {
        const answer = await this.root(plan, variables);
        if (answer.errors?.length || answer.data?.[plan.key] == null) throw new Uncacheable({ value: answer, errors: [] });
        stripReserved(answer.data);
        return JSON.stringify(answer);
      });
      return JSON.parse(text) as SubgraphResponse;
    } catch (error) {
      if (error instanceof Uncacheable) return error.result.value as SubgraphResponse;
      throw error;
    }
  }

  private async root(plan: RootFieldPlan, variables: Json): Promise<SubgraphResponse> {
    const rule = plan.rule;
    switch (rule.kind) {
      case 'coordinator': {
        if (!this.o.mutations) throw new Error('this gateway has no coordinator');
        const report = await this.o.mutations.view(plan.field.name.value, argumentValues(plan.field, variables));
        return { data: { [plan.key]: project(report, plan.field.selectionSet, new Map()) } };
      }
      case 'replicated':
        return responseOf(await this.askAny(plan.query, variables), [plan.key]);
      case 'locate':
        return this.locate(plan, String(argumentValue(plan.field, rule.arg, variables)), variables);
      case 'gather':
        return this.gather(plan, plan.gathered!, variables);
    }
  }

  /**
   * Rule 4: to where the id was last seen, else its birth site, following one
   * ENTITY_MOVED; ids without a site prefix are asked of every site. A remembered
   * site that no longer has the entity (it moved on) is forgotten and the birth
   * site, which always knows, is asked instead.
   */
  private async locate(plan: RootFieldPlan, id: string, variables: Json): Promise<SubgraphResponse> {
    const remembered = this.locations.get(id);
    const born = this.o.birthSite(id);
    const site = remembered ?? born;
    if (!site) return this.askAll(plan, id, variables);
    const response = await this.askFollowing(site, plan, id, variables);
    if (remembered && remembered !== born && response.data?.[plan.key] == null && !response.errors?.length) {
      this.locations.delete(id);
      return born ? this.askFollowing(born, plan, id, variables) : this.askAll(plan, id, variables);
    }
    return response;
  }

  private async askFollowing(site: string, plan: RootFieldPlan, id: string, variables: Json): Promise<SubgraphResponse> {
    let answer = await this.ask(site, plan.query, variables);
    const moved = 'response' in answer ? movedTo(answer.response, [plan.key]) : undefined;
    if (moved) {
      this.locations.set(id, moved);
      answer = await this.ask(moved, plan.query, variables);
    }
    return responseOf(answer, [plan.key]);
  }

  private async askAll(plan: RootFieldPlan, id: string, variables: Json): Promise<SubgraphResponse> {
    const answers = await Promise.all(this.o.siteIds.map((s) => this.ask(s, plan.query, variables)));
    const found = answers.find((a) => 'response' in a && a.response.data?.[plan.key] != null);
    if (found && 'response' in found) {
      this.locations.set(id, found.site);
      return { data: found.response.data, errors: withoutMoved(found.response.errors) };
    }
    // Not found where we could look: if a site was down, it may be there.
    const errors = answers.flatMap((a) => ('down' in a ? [unavailable(a.down, [plan.key])] : withoutMoved(a.response.errors)));
    return { data: { [plan.key]: null }, errors };
  }

  /** Rule 1 and 5: one site when the branch argument names it, else every site in parallel; merged; missing sites reported. */
  private async gather(plan: RootFieldPlan, gathered: GatheredField, variables: Json): Promise<SubgraphResponse> {
    const sites = this.gatherSites([gathered], variables);
    if (typeof sites === 'string') {
      return { data: { [plan.key]: null }, errors: [{ message: sites, path: [plan.key], extensions: { code: 'UNKNOWN_BRANCH' } }] };
    }
    const answers = await Promise.all(sites.map((s) => this.ask(s, plan.query, variables)));
    const errors: SubgraphError[] = [];
    const parts: unknown[] = [];
    for (const a of answers) {
      if ('down' in a) errors.push(unavailable(a.down));
      else {
        parts.push(a.response.data?.[plan.key] ?? null);
        errors.push(...(a.response.errors ?? []));
      }
    }
    const merged = mergeGathered(parts, gathered.shape, limitOf(gathered, variables));
    return { data: { [plan.key]: merged ?? null }, errors };
  }

  /** Sites for gathered fields: all of them unless every field names a branch; a string is an unknown-branch message. */
  private gatherSites(fields: GatheredField[], variables: Json): string[] | string {
    const named = new Set<string>();
    for (const g of fields) {
      const arg = g.shape.rule.branchArg;
      const branch = arg ? argumentValue(g.field, arg, variables) : undefined;
      if (branch === undefined || branch === null) return [...this.o.siteIds];
      if (!this.o.siteIds.includes(String(branch))) {
        return `${arg} "${branch}" names no branch; the branches are ${this.o.siteIds.join(', ')}`;
      }
      named.add(String(branch));
    }
    return [...named];
  }

  /**
   * `_entities` through the coherent cache: each representation is one cache
   * line (`Type:key`); misses of one fetch are batched into one routed fetch.
   * Only clean answers are installed: an error, a missing site or a null stays
   * out of the cache.
   */
  private async entities(plan: Extract<FetchPlan, { kind: 'entities' }>, variables: Json): Promise<SubgraphResponse> {
    const cache = this.o.cache;
    if (!cache) return this.entityRouter.fetch(plan, variables);
    const reps = (variables.representations ?? []) as Json[];
    const { representations: _, ...rest } = variables;
    const variant = `${plan.variant}:${this.timeBucket()}:${JSON.stringify(rest)}`;
    const misses = new DataLoader<number, { value: unknown; errors: SubgraphError[]; partial: boolean }>(
      async (indices) => {
        const answer = await this.entityRouter.fetch(plan, { ...variables, representations: indices.map((i) => reps[i]) });
        const values = (answer.data?._entities ?? []) as unknown[];
        const general = (answer.errors ?? []).filter((e) => e.path?.[0] !== '_entities');
        return indices.map((original, j) => ({
          value: values[j] ?? null,
          errors: [
            ...(j === 0 ? general : []),
            ...(answer.errors ?? []).filter((e) => e.path?.[0] === '_entities' && e.path[1] === j).map((e) => ({ ...e, path: ['_entities', original, ...e.path!.slice(2)] })),
          ],
          partial: general.length > 0,
        }));
      },
      { cache: false },
    );
    const results = await Promise.all(
      reps.map((rep, i) =>
        cache
          .read(entityLine(rep), variant, async () => {
            const r = await misses.load(i);
            if (r.errors.length || r.partial || r.value === null) throw new Uncacheable(r);
            stripReserved(r.value);
            return JSON.stringify(r.value);
          })
          .then(
            // Kept as JSON text: the gateway merges later fetches into the objects it gets.
            (text) => ({ value: JSON.parse(text) as unknown, errors: [] as SubgraphError[] }),
            (error) => {
              if (error instanceof Uncacheable) return error.result;
              throw error;
            },
          ),
      ),
    );
    return { data: { _entities: results.map((r) => r.value) }, errors: dedupe(results.flatMap((r) => r.errors)) };
  }

}

/** One cache line per entity (DESIGN §5): its type and key, as mutations name them (`Reader:Q3-DG0042`). */
function entityLine(rep: Json): string {
  const { __typename, ...key } = rep;
  const values = Object.values(key);
  return `${String(__typename)}:${values.length === 1 ? String(values[0]) : JSON.stringify(key)}`;
}

