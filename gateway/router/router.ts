import type { GraphQLDataSource, GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import DataLoader from 'dataloader';
import { LRUCache } from 'lru-cache';
import type { GraphQLError } from 'graphql';
import { cacheLine, typeLine } from '../../contracts';
import { MAX_PAGE_SIZE, type SubgraphDistribution } from '../../schema';
import { stripReserved } from './inject';
import { mergeGathered } from './merge';
import { dedupe, limitOf, movedTo, pathInMerged, responseOf, unavailable, withoutMoved, type Answer, type Json } from './answers';
import { EntityRouter } from './entities';
import type { Locations } from './locations';
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
  /**
   * Where moved entities and ids without a site prefix were last seen. One store
   * for every router of the gateway, so a committed move is known to all at once.
   */
  locations: Locations;
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
  /** `dependsOn`: further lines whose writes make the answer stale (see `dependencies`). */
  read<T>(line: string, variant: string, fill: () => Promise<T>, dependsOn?: readonly string[]): Promise<T>;
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
  private readonly locations: Locations;

  private readonly entityRouter: EntityRouter;
  /** The types whose rows this subgraph's sites hold (their answers are made of them). */
  private readonly ownedTypes: string[];

  constructor(private readonly o: FragmentRouterOptions) {
    this.plans = new LRUCache({ max: o.planCacheSize ?? 1000 });
    this.ownedTypes = [...o.distribution.entities].filter(([, rule]) => rule.kind !== 'gather').map(([type]) => type);
    this.locations = o.locations;
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
    const plan = this.plan(query);
    const variables = withDefaults(plan, options.request.variables ?? {});
    const result =
      plan.kind === 'entities'
        ? await this.entities(plan, variables)
        : plan.kind === 'mutation'
          ? await this.mutation(plan.fields, variables, headerKey(options))
          : await this.roots(plan.fields, variables);
    stripReserved(result.data);
    return result as GatewayGraphQLResponse;
  }

  /**
   * DESIGN §4: mutations are carried out by the coordinator, not the planner.
   * Fields run one after another (GraphQL's serial mutation order); each answer
   * is read back from the committed data through the read path. Every field is
   * nullable: a refusal or a failed read-back nulls that field only, and always
   * with an error at its path.
   */
  private async mutation(fields: MutationFieldPlan[], variables: Json, header?: string): Promise<SubgraphResponse> {
    const data: Json = {};
    const errors: SubgraphError[] = [];
    for (const f of fields) {
      // An `Idempotency-Key` header names the whole operation; each field gets its own key from it.
      const answer = await this.mutationField(f, variables, header === undefined ? undefined : `${header}#${f.key}`);
      data[f.key] = answer.value;
      errors.push(...answer.errors);
    }
    return { data, errors: errors.length ? errors : undefined };
  }

  private async mutationField(f: MutationFieldPlan, variables: Json, headerKey?: string): Promise<{ value: unknown; errors: SubgraphError[] }> {
    if (!this.o.mutations) throw new Error('this gateway has no coordinator');
    let result: MutationResult;
    try {
      const args = argumentValues(f.field, variables);
      // The argument wins over the header.
      const key = typeof args.idempotencyKey === 'string' ? args.idempotencyKey : headerKey;
      result = await this.o.mutations.run(f.field.name.value, args, key);
    } catch (error) {
      const e = error as GraphQLError;
      if (!e.extensions?.code) throw error;
      return { value: null, errors: [{ message: e.message, path: [f.key], extensions: e.extensions }] };
    }
    // Rule 4: the move is durable now, while the birth site may not have its phase 2 yet: read the entity where it went.
    if (result.moved) this.locations.set(result.moved.id, result.moved.site);
    // A site down or slow after the commit: once more. `locate` falls back from a remembered site that does not answer to the birth site.
    let read = await this.readBack(f, variables, result.key);
    if (read.kind === 'failed') read = await this.readBack(f, variables, result.key);
    if (read.kind === 'read') return { value: read.value, errors: [] };
    return { value: null, errors: [committedReadFailed(f.key, result, read.cause)] };
  }

  /** The committed entity through the read path; anything short of the whole entity without errors is a failed read. */
  private async readBack(f: MutationFieldPlan, variables: Json, key: string): Promise<{ kind: 'read'; value: unknown } | { kind: 'failed'; cause: string }> {
    const plan = this.plan(f.readBackQuery) as Extract<FetchPlan, { kind: 'roots' }>;
    const answer = await this.roots(plan.fields, { ...variables, [READ_BACK_KEY]: key });
    const value = answer.data?.[f.key];
    if (value != null && !answer.errors?.length) return { kind: 'read', value };
    const error = answer.errors?.[0];
    return { kind: 'failed', cause: error ? `${String(error.extensions?.code ?? 'error')}: ${error.message}` : `no site answered ${key}` };
  }

  /**
   * Issue 16 item 2, the read half of one rule: what a cached answer of this
   * subgraph depends on besides its own line. A subgraph's answers are made of
   * the rows of the types it owns (its @replicated and @fragmented types): an
   * answer about one owned entity (`reader(id)` here, `_entities` of Reader)
   * is that entity's row, so its own line is enough; any other answer — a
   * list, a count, another type's gathered fields such as `Reader.loans` or
   * `Book.availability` — depends on which rows of the owned types exist, so
   * on their type lines (`Loan:*`), which every write of such a row makes
   * stale (`staleLines` in gateway/coordinator).
   */
  private dependencies(entityType: string | undefined): string[] {
    return this.ownedTypes.filter((t) => t !== entityType).map(typeLine);
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
   * per field (`Query.loans`) with the arguments in the variant; both depend on
   * the type lines `dependencies` names, which writes make stale (`staleLines`).
   */
  private async cachedRoot(plan: RootFieldPlan, variables: Json): Promise<SubgraphResponse> {
    const cache = this.o.cache;
    if (!cache || plan.rule.kind === 'coordinator' || plan.field.name.value === '__typename') return this.root(plan, variables);
    const line =
      plan.rule.kind === 'locate'
        ? cacheLine(plan.rule.type, String(argumentValue(plan.field, plan.rule.arg, variables)))
        : `Query.${plan.field.name.value}`;
    // The client's own arguments too: the query sent to sites can drop one (TOPK sends `first: null`), so
    // `topBooks(first: 3)` and `topBooks(first: 10)` would otherwise share an answer.
    const variant = `${this.o.distribution.name}:${this.timeBucket()}:${plan.query}:${JSON.stringify(variables)}:${JSON.stringify(argumentValues(plan.field, variables))}`;
    const dependsOn = this.dependencies(plan.rule.kind === 'locate' ? plan.rule.type : undefined);
    try {
      // Kept as JSON text: every reader gets its own objects, since the gateway merges later fetches into what it gets.
      const text = await cache.read(
        line,
        variant,
        async () => {
          const answer = await this.root(plan, variables);
          if (answer.errors?.length || answer.data?.[plan.key] == null) throw new Uncacheable({ value: answer, errors: [] });
          stripReserved(answer.data);
          return JSON.stringify(answer);
        },
        dependsOn,
      );
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
   * ENTITY_MOVED; ids without a site prefix are asked of every site. A
   * remembered site is a hint: when it does not answer, or no longer has the
   * entity (it moved on, and is forgotten), the birth site, which always
   * knows, is asked instead.
   */
  private async locate(plan: RootFieldPlan, id: string, variables: Json): Promise<SubgraphResponse> {
    const remembered = this.locations.get(id);
    const born = this.o.birthSite(id);
    const site = remembered ?? born;
    if (!site) return this.askAll(plan, id, variables);
    const answer = await this.askFollowing(site, plan, id, variables);
    if (remembered === undefined || remembered === born) return responseOf(answer, [plan.key]);
    const down = 'down' in answer && answer.site === remembered;
    const gone = 'response' in answer && answer.response.data?.[plan.key] == null && !answer.response.errors?.length;
    if (!down && !gone) return responseOf(answer, [plan.key]);
    // A site that is down may still hold the entity: only one that answered without it is forgotten.
    if (gone) this.locations.delete(id);
    if (!born) return this.askAll(plan, id, variables);
    return responseOf(await this.askFollowing(born, plan, id, variables, down ? answer : undefined), [plan.key]);
  }

  /** Asks `site`, following one ENTITY_MOVED; a move to the site that was just `down` answers that instead of waiting on it again. */
  private async askFollowing(site: string, plan: RootFieldPlan, id: string, variables: Json, down?: Answer): Promise<Answer> {
    const answer = await this.ask(site, plan.query, variables);
    const moved = 'response' in answer ? movedTo(answer.response, [plan.key]) : undefined;
    if (!moved) return answer;
    this.locations.set(id, moved);
    if (down?.site === moved) return down;
    return this.ask(moved, plan.query, variables);
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
    const badLimit = pageSizeError(gathered, variables);
    if (badLimit) return { data: { [plan.key]: null }, errors: [{ ...badLimit, path: [plan.key] }] };
    const sites = this.gatherSites([gathered], variables);
    if (typeof sites === 'string') {
      return { data: { [plan.key]: null }, errors: [{ message: sites, path: [plan.key], extensions: { code: 'UNKNOWN_BRANCH' } }] };
    }
    const answers = await Promise.all(sites.map((s) => this.ask(s, plan.query, variables)));
    const errors: SubgraphError[] = [];
    const parts: unknown[] = [];
    for (const a of answers) if ('response' in a) parts.push(a.response.data?.[plan.key] ?? null);
    const merged = mergeGathered(parts, gathered.shape, limitOf(gathered, variables)) ?? null;
    for (const a of answers) {
      if ('down' in a) errors.push(unavailable(a.down));
      else {
        // A site's error inside the list names its own index: the client needs the merged list's.
        const part = a.response.data?.[plan.key];
        for (const e of a.response.errors ?? []) {
          errors.push(e.path?.[0] === plan.key ? { ...e, path: [plan.key, ...pathInMerged(e.path.slice(1), part, merged)] } : e);
        }
      }
    }
    return { data: { [plan.key]: merged }, errors };
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
          .read(
            entityLine(rep),
            variant,
            async () => {
              const r = await misses.load(i);
              if (r.errors.length || r.partial || r.value === null) throw new Uncacheable(r);
              stripReserved(r.value);
              return JSON.stringify(r.value);
            },
            this.dependencies(String(rep.__typename)),
          )
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

/**
 * After a commit, a failed read-back is not a failed mutation: the client must
 * hear that the change is durable, or it retries and does the work twice.
 */
function committedReadFailed(key: string, result: MutationResult, cause: string): SubgraphError {
  return {
    message: `the mutation committed (transaction ${result.gid}); only reading back ${result.key} failed (${cause}). Do not retry the mutation: read ${result.key} later`,
    path: [key],
    extensions: { code: 'TX_COMMITTED_READ_FAILED', gid: result.gid, id: result.key },
  };
}

/**
 * The sites' page-size rule, checked at the gateway first (issue 16 item 8):
 * TOPK asks the sites for every group (`first: null`), so only the gateway
 * sees the client's `first`.
 */
function pageSizeError(g: GatheredField, variables: Json): SubgraphError | undefined {
  const arg = g.shape.rule.limitArg;
  const value = arg ? argumentValue(g.field, arg, variables) : undefined;
  if (value === undefined || value === null) return undefined;
  if (Number.isInteger(value) && (value as number) >= 0 && (value as number) <= MAX_PAGE_SIZE) return undefined;
  return { message: `${arg} must be between 0 and ${MAX_PAGE_SIZE}, got ${JSON.stringify(value)}`, extensions: { code: 'PAGE_SIZE_OUT_OF_RANGE', argument: arg, max: MAX_PAGE_SIZE } };
}

/**
 * The fetch's variables as GraphQL execution sees them: a variable the client
 * left out takes its declared default, so routing, limits, merges, locations
 * and cache keys read the value the sites use (issue 17 item 2).
 */
function withDefaults(plan: FetchPlan, variables: Json): Json {
  const missing = Object.keys(plan.defaults).filter((name) => !(name in variables));
  return missing.length ? { ...Object.fromEntries(missing.map((name) => [name, plan.defaults[name]])), ...variables } : variables;
}

/** The client's `Idempotency-Key` HTTP header, if it sent one. */
function headerKey(options: GraphQLDataSourceProcessOptions): string | undefined {
  const incoming = 'incomingRequestContext' in options ? options.incomingRequestContext : undefined;
  return incoming?.request.http?.headers.get('idempotency-key') ?? undefined;
}

/** One cache line per entity (DESIGN §5): its type and key, as mutations name them (`Reader:Q3-DG0042`). */
function entityLine(rep: Json): string {
  const { __typename, ...key } = rep;
  const values = Object.values(key);
  return cacheLine(String(__typename), values.length === 1 ? String(values[0]) : JSON.stringify(key));
}

