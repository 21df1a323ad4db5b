import DataLoader from 'dataloader';
import type { ResponseTrace } from '../../cache';
import { cacheLine, typeLine } from '../../contracts';
import { dedupe, type Json } from './answers';
import { stripReserved } from './inject';
import type { FetchPlan, RootFieldPlan } from './plan';
import { argumentValue, argumentValues } from './selection';
import type { SubgraphError, SubgraphResponse } from './sites';

/** The part of the coherence cache reads go through: keyed by line (`Type:key`) and variant. */
export interface EntityCache {
  /** `dependsOn`: further lines whose writes make the answer stale; `keep`: whether the fill's value may be installed. */
  /** `trace`: the request's record of the lines it read, for the response cache. */
  read<T>(line: string, variant: string, fill: () => Promise<T>, dependsOn?: readonly string[], keep?: (value: T) => boolean, trace?: ResponseTrace): Promise<T>;
}

/** What a subgraph's reads are: one root field, or one `_entities` fetch. The router does them; this wrapper caches them. */
export interface Reads {
  /**
   * `deadlineAt`: when the client's request runs out of time (epoch ms); without it the site client's budget applies.
   * `trace`: the request's record of the cache lines it read (the response cache); reads that are not cached ignore it.
   */
  root(plan: RootFieldPlan, variables: Json, deadlineAt?: number, trace?: ResponseTrace): Promise<SubgraphResponse>;
  entities(plan: EntitiesPlan, variables: Json, deadlineAt?: number, trace?: ResponseTrace): Promise<SubgraphResponse>;
}

type EntitiesPlan = Extract<FetchPlan, { kind: 'entities' }>;
type EntityAnswer = { value: unknown; errors: SubgraphError[]; partial: boolean };

export interface CachedReadsOptions {
  subgraph: string;
  /** The types whose rows this subgraph's sites hold (its answers are made of them). */
  ownedTypes: readonly string[];
  cache: EntityCache;
  /**
   * For subgraphs whose answers change with the clock, not only with writes
   * (a loan becomes overdue at its due time): cached answers are kept per time
   * bucket of this length, so none is older than one bucket.
   */
  timeBucketMs?: number;
}

/**
 * Reads through the coherent entity cache (docs/ARCHITECTURE.md §5). Only
 * clean answers are installed: one with an error, a missing site or a null
 * still answers its own request and stays out of the cache. Answers are kept
 * as JSON text, so every reader gets its own objects (the gateway merges
 * later fetches into what it gets).
 */
/**
 * Reports that read rows of types their subgraph does not own (a site's
 * report statement reads its whole database): their answers also depend on
 * those types' lines, so a new copy, a moved reader or a renamed title makes
 * them stale.
 */
const READS_ALSO: Record<string, readonly string[]> = {
  systemStats: ['Copy', 'Reader', 'Book'],
  circulation: ['Reader', 'Book', 'Branch'],
  borrowingMatrix: ['Reader'],
};

export class CachedReads implements Reads {
  constructor(
    private readonly routed: Reads,
    private readonly o: CachedReadsOptions,
  ) {}

  /**
   * A located lookup is its entity's line (`Copy:Q1-QS00001`); a list or
   * replicated field is one line per field (`Query.loans`) with the arguments
   * in the variant. Both depend on the type lines `dependencies` names.
   */
  async root(plan: RootFieldPlan, variables: Json, deadlineAt?: number, trace?: ResponseTrace): Promise<SubgraphResponse> {
    // The schema's own name: no row, no line, the same for every request.
    if (plan.field.name.value === '__typename') return this.routed.root(plan, variables, deadlineAt);
    const line =
      plan.rule.kind === 'locate'
        ? cacheLine(plan.rule.type, String(argumentValue(plan.field, plan.rule.arg, variables)))
        : `Query.${plan.field.name.value}`;
    // The client's own arguments too: the query sent to sites can drop one (TOPK sends `first: null`), so
    // `topBooks(first: 3)` and `topBooks(first: 10)` would otherwise share an answer.
    const variant = `${this.o.subgraph}:${this.timeBucket()}:${plan.query}:${JSON.stringify(variables)}:${JSON.stringify(argumentValues(plan.field, variables))}`;
    const dependsOn = [...this.dependencies(plan.rule.kind === 'locate' ? plan.rule.type : undefined), ...(READS_ALSO[plan.field.name.value] ?? []).map(typeLine)];
    // Only the text is cached; an answer that must not be is handed back beside it.
    let uncached: SubgraphResponse | undefined;
    const fill = async () => {
      const answer = await this.routed.root(plan, variables, deadlineAt);
      if (answer.errors?.length || answer.data?.[plan.key] == null) {
        uncached = answer;
        return UNCACHED;
      }
      stripReserved(answer.data);
      return JSON.stringify(answer);
    };
    this.bucketEnds(trace);
    const text = await this.o.cache.read(line, variant, fill, dependsOn, isCacheable, trace);
    return uncached ?? (JSON.parse(text) as SubgraphResponse);
  }

  /** Each representation is one cache line (`Type:key`); the misses of one fetch are batched into one routed fetch. */
  async entities(plan: EntitiesPlan, variables: Json, deadlineAt?: number, trace?: ResponseTrace): Promise<SubgraphResponse> {
    this.bucketEnds(trace);
    const reps = (variables.representations ?? []) as Json[];
    const { representations: _, ...rest } = variables;
    const variant = `${plan.variant}:${this.timeBucket()}:${JSON.stringify(rest)}`;
    const misses = new DataLoader<number, EntityAnswer>((indices) => this.fetchMisses(plan, variables, reps, indices, deadlineAt), { cache: false });
    const results = await Promise.all(
      reps.map(async (rep, i) => {
        let uncached: EntityAnswer | undefined;
        const fill = async () => {
          const r = await misses.load(i);
          if (r.errors.length || r.partial || r.value === null) {
            uncached = r;
            return UNCACHED;
          }
          stripReserved(r.value);
          return JSON.stringify(r.value);
        };
        const text = await this.o.cache.read(entityLine(rep), variant, fill, this.dependencies(String(rep.__typename)), isCacheable, trace);
        return uncached ?? { value: JSON.parse(text) as unknown, errors: [] as SubgraphError[] };
      }),
    );
    return { data: { _entities: results.map((r) => r.value) }, errors: dedupe(results.flatMap((r) => r.errors)) };
  }

  /** One routed `_entities` fetch for the representations at `indices`; errors keep the client's indices. */
  private async fetchMisses(plan: EntitiesPlan, variables: Json, reps: Json[], indices: readonly number[], deadlineAt?: number): Promise<EntityAnswer[]> {
    const answer = await this.routed.entities(plan, { ...variables, representations: indices.map((i) => reps[i]) }, deadlineAt);
    const values = (answer.data?._entities ?? []) as unknown[];
    const general = (answer.errors ?? []).filter((e) => e.path?.[0] !== '_entities');
    return indices.map((original, j) => ({
      value: values[j] ?? null,
      errors: [
        ...(j === 0 ? general : []),
        ...(answer.errors ?? [])
          .filter((e) => e.path?.[0] === '_entities' && e.path[1] === j)
          .map((e) => ({ ...e, path: ['_entities', original, ...e.path!.slice(2)] })),
      ],
      partial: general.length > 0,
    }));
  }

  /**
   * What a cached answer of this subgraph depends on besides its own line. A
   * subgraph's answers are made of the rows of the types it owns (its
   * @replicated and @fragmented types): an answer about one owned entity
   * (`reader(id)`, `_entities` of Reader) is that entity's row, so its own
   * line is enough; any other answer — a list, a count, another type's
   * gathered fields such as `Reader.loans` or `Book.availability` — depends
   * on which rows of the owned types exist, so on their type lines
   * (`Loan:*`), which every write of such a row makes stale (`staleLines` in
   * contracts/operations.ts).
   */
  private dependencies(entityType: string | undefined): string[] {
    return this.o.ownedTypes.filter((t) => t !== entityType).map(typeLine);
  }

  /** A whole response with an answer of this time bucket is stale when the bucket ends, write or not. */
  private bucketEnds(trace: ResponseTrace | undefined): void {
    if (trace && this.o.timeBucketMs) trace.expiresAt((this.timeBucket() + 1) * this.o.timeBucketMs);
  }

  private timeBucket(): number {
    return this.o.timeBucketMs ? Math.floor(Date.now() / this.o.timeBucketMs) : 0;
  }
}

/** What a fill answers when its answer must not be cached (the answer itself travels beside it). */
const UNCACHED = '';
const isCacheable = (text: string) => text !== UNCACHED;

/** One cache line per entity: its type and key, as mutations name them (`Reader:Q3-DG0042`). */
function entityLine(rep: Json): string {
  const { __typename, ...key } = rep;
  const values = Object.values(key);
  return cacheLine(String(__typename), values.length === 1 ? String(values[0]) : JSON.stringify(key));
}
