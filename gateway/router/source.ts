import type { GraphQLDataSource, GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { ResponseTrace } from '../../cache';
import { dedupe, type Json } from './answers';
import { CachedReads, type EntityCache, type Reads } from './cached';
import { stripReserved } from './inject';
import { CoordinatedMutations, type MutationRunner, type RequestContext } from './mutations';
import { READ_BACK_KEY, type FetchPlan, type RootFieldPlan } from './plan';
import { FragmentRouter, type FragmentRouterOptions } from './router';
import type { SubgraphError, SubgraphResponse } from './sites';

export interface SubgraphSourceOptions extends FragmentRouterOptions {
  /** Carries out coordinated mutations and answers the coordinator's views; without it the subgraph is read-only. */
  mutations?: MutationRunner;
  /** The coherent entity cache; without it every read goes to the sites. */
  cache?: EntityCache;
  /** See `CachedReadsOptions.timeBucketMs`. */
  timeBucketMs?: number;
}

type GatewayGraphQLResponse = Awaited<ReturnType<GraphQLDataSource['process']>>;

/**
 * The gateway's data source for one logical subgraph: it plans each fetch
 * the query planner sends and hands it to the part that does it — reads to
 * the router (through the cache, when there is one), mutations and the
 * coordinator's views to the coordinator.
 */
export class SubgraphSource implements GraphQLDataSource {
  private readonly router: FragmentRouter;
  private readonly reads: Reads;
  private readonly mutations?: CoordinatedMutations;

  constructor(o: SubgraphSourceOptions) {
    this.router = new FragmentRouter(o);
    this.reads = o.cache
      ? new CachedReads(this.router, { subgraph: o.distribution.name, ownedTypes: this.router.ownedTypes, cache: o.cache, timeBucketMs: o.timeBucketMs })
      : this.router;
    if (o.mutations) {
      this.mutations = new CoordinatedMutations({
        runner: o.mutations,
        locations: o.locations,
        readBack: (f, variables, key) => {
          const plan = this.router.plan(f.readBackQuery) as Extract<FetchPlan, { kind: 'roots' }>;
          // A fresh budget: the mutation has committed, and its own wait (locks, 2PC) must not starve the read-back.
          return this.roots(plan.fields, { ...variables, [READ_BACK_KEY]: key }, {});
        },
      });
    }
  }

  async process(options: GraphQLDataSourceProcessOptions): Promise<GatewayGraphQLResponse> {
    const plan = this.router.plan(options.request.query ?? '');
    const variables = withDefaults(plan, options.request.variables ?? {});
    const context = contextOf(options);
    const deadlineAt = typeof context.deadlineAt === 'number' ? context.deadlineAt : undefined;
    const trace = context.responseTrace instanceof ResponseTrace ? context.responseTrace : undefined;
    if (plan.kind === 'mutation') trace?.refuse('a mutation');
    const result =
      plan.kind === 'entities'
        ? await this.reads.entities(plan, variables, deadlineAt, trace)
        : plan.kind === 'mutation'
          ? await this.coordinator().run(plan.fields, variables, context, headerKey(options))
          : await this.roots(plan.fields, variables, context, deadlineAt, trace);
    stripReserved(result.data);
    return result as GatewayGraphQLResponse;
  }

  private async roots(fields: RootFieldPlan[], variables: Json, context: RequestContext, deadlineAt?: number, trace?: ResponseTrace): Promise<SubgraphResponse> {
    // The coordinator's views (transactions, the audit trail) go through no cache line: a response with one is never kept.
    if (fields.some((f) => f.rule.kind === 'coordinator')) trace?.refuse('a coordinator view');
    const answers = await Promise.all(fields.map((f) => (f.rule.kind === 'coordinator' ? this.coordinator().view(f, variables, context) : this.reads.root(f, variables, deadlineAt, trace))));
    const data: Json = {};
    const errors: SubgraphError[] = [];
    answers.forEach((answer, i) => {
      data[fields[i].key] = answer.data?.[fields[i].key] ?? null;
      errors.push(...(answer.errors ?? []));
    });
    return { data, errors: dedupe(errors) };
  }

  private coordinator(): CoordinatedMutations {
    if (!this.mutations) throw new Error('this gateway has no coordinator');
    return this.mutations;
  }
}

/**
 * The fetch's variables as GraphQL execution sees them: a variable the client
 * left out takes its declared default, so routing, limits, merges, locations
 * and cache keys read the value the sites use.
 */
function withDefaults(plan: FetchPlan, variables: Json): Json {
  const missing = Object.keys(plan.defaults).filter((name) => !(name in variables));
  return missing.length ? { ...Object.fromEntries(missing.map((name) => [name, plan.defaults[name]])), ...variables } : variables;
}

/** The request's GraphQL context (who sent it, and when its time runs out: `deadlineAt`); a health check or a fetch without one has none. */
function contextOf(options: GraphQLDataSourceProcessOptions): RequestContext {
  return 'context' in options && options.context ? (options.context as RequestContext) : {};
}

/** The client's `Idempotency-Key` HTTP header, if it sent one. */
function headerKey(options: GraphQLDataSourceProcessOptions): string | undefined {
  const incoming = 'incomingRequestContext' in options ? options.incomingRequestContext : undefined;
  return incoming?.request.http?.headers.get('idempotency-key') ?? undefined;
}
