import { errorJson } from '../../schema';
import { dedupe, limitOf, movedTo, pathInMerged, reindex, unavailable, withoutMoved, type Answer, type Json } from './answers';
import type { Locations } from './locations';
import { mergeGathered } from './merge';
import type { EntityTypePlan, FetchPlan, GatheredField } from './plan';
import type { SiteHealth, SiteUnavailable, SubgraphError, SubgraphResponse } from './sites';

/** What the entity router borrows from its FragmentRouter: the sites, their health, the remembered locations and how to ask. */
export interface EntityRouterDeps {
  siteIds: readonly string[];
  health: SiteHealth;
  locations: Locations;
  birthSite: (id: string) => string | undefined;
  ask(site: string, query: string, variables: Json, deadlineAt?: number): Promise<Answer>;
  askAny(query: string, variables: Json, deadlineAt?: number): Promise<Answer>;
  gatherSites(fields: GatheredField[], variables: Json): string[] | string;
}

/** One `_entities` fetch in flight: where each representation goes and what came back for it. */
interface EntityBatch {
  query: string;
  variables: Json;
  /** When the client's request runs out of time (epoch ms), for every fetch of the batch. */
  deadlineAt: number | undefined;
  reps: Json[];
  targets: (string[] | 'any')[];
  /** Owned entities whose id names no site: asked of every site. */
  lookups: Set<number>;
  /** Owned entities sent where they were last seen rather than to their birth site. */
  remembered: Set<number>;
  answers: { site: string; value: unknown }[][];
  errors: SubgraphError[];
  /** Errors inside a gathered entity's fields, by the site that raised them: their list indices are re-pointed after the merge. */
  gatheredErrors: { site: string; error: SubgraphError }[];
  /** Sites that did not answer this fetch: a move pointing at one is not sent there again. */
  down: Map<string, SiteUnavailable>;
}

/**
 * docs/ARCHITECTURE.md §3 rule 2: an `_entities` fetch split by representation — owned types
 * to their site (birth site, remembered site, or every site for an unprefixed
 * id), gathered types to every site — and put back together in the original
 * order with error paths re-indexed.
 */
export class EntityRouter {
  constructor(private readonly o: EntityRouterDeps) {}

  async fetch(plan: Extract<FetchPlan, { kind: 'entities' }>, variables: Json, deadlineAt?: number): Promise<SubgraphResponse> {
    const reps = (variables.representations ?? []) as Json[];
    const batch: EntityBatch = {
      query: plan.query,
      variables,
      deadlineAt,
      reps,
      targets: reps.map((rep) => this.entitySites(plan.types.get(String(rep.__typename)), rep, variables)),
      lookups: new Set(),
      remembered: new Set(),
      answers: reps.map(() => []),
      errors: [],
      gatheredErrors: [],
      down: new Map(),
    };
    // A gathered field naming no branch is refused as the root field is, not answered with nothing.
    reps.forEach((rep, i) => {
      const type = plan.types.get(String(rep.__typename));
      if (type?.rule.kind !== 'gather') return;
      const sites = this.o.gatherSites(type.gathered, variables);
      if (typeof sites === 'string') batch.errors.push(errorJson('UNKNOWN_BRANCH', sites, {}, ['_entities', i]));
    });
    batch.targets.forEach((t, i) => {
      if (plan.types.get(String(reps[i].__typename))?.rule.kind !== 'fragmented') return;
      if (t !== 'any' && t.length > 1) batch.lookups.add(i);
      const id = String(reps[i].id);
      const remembered = this.o.locations.get(id);
      if (remembered !== undefined && remembered !== this.o.birthSite(id)) batch.remembered.add(i);
    });
    const replicatedSite = this.o.health.preferred()[0];
    const bySite = new Map<string, number[]>();
    batch.targets.forEach((sites, i) => {
      for (const s of sites === 'any' ? [replicatedSite] : sites) bySite.set(s, [...(bySite.get(s) ?? []), i]);
    });
    await Promise.all([...bySite].map(([site, indices]) => this.entitiesAt(batch, site, indices)));
    await this.retryStale(batch);
    const data = batch.answers.map((answers, i) => this.entityResult(plan.types.get(String(reps[i].__typename)), answers, batch.targets[i], variables));
    for (const { site, error } of batch.gatheredErrors) {
      const i = error.path![1] as number;
      const part = batch.answers[i].find((a) => a.site === site)?.value;
      batch.errors.push({ ...error, path: ['_entities', i, ...pathInMerged(error.path!.slice(2), part, data[i])] });
    }
    return { data: { _entities: data }, errors: dedupe(batch.errors) };
  }

  private entitySites(type: EntityTypePlan | undefined, rep: Json, variables: Json): string[] | 'any' {
    if (!type || type.rule.kind === 'replicated') return 'any';
    if (type.rule.kind === 'gather') {
      const sites = this.o.gatherSites(type.gathered, variables);
      return typeof sites === 'string' ? [] : sites;
    }
    const id = String(rep.id);
    const site = this.o.locations.get(id) ?? this.o.birthSite(id);
    return site ? [site] : [...this.o.siteIds];
  }

  /** Sends the representations `indices` to `site`, follows moves once, and files each answer under its original index. */
  private async entitiesAt(batch: EntityBatch, site: string, indices: number[]): Promise<void> {
    const send = (to: string, subset: number[]) =>
      this.o.ask(to, batch.query, { ...batch.variables, representations: subset.map((i) => batch.reps[i]) }, batch.deadlineAt);
    let answer = await send(site, indices);
    if ('down' in answer && batch.targets[indices[0]] === 'any') {
      answer = await this.o.askAny(batch.query, { ...batch.variables, representations: indices.map((i) => batch.reps[i]) }, batch.deadlineAt);
    }
    const moves = new Map<string, number[]>();
    this.file(batch, answer, indices, (original, to) => moves.set(to, [...(moves.get(to) ?? []), original]));
    await Promise.all(
      [...moves].map(async ([to, moved]) => {
        // The birth site points at a site that just did not answer: asking it again would only wait again.
        const down = batch.down.get(to);
        this.file(batch, down ? { site: to, down } : await send(to, moved), moved, () => {});
      }),
    );
  }

  /**
   * Entities not found where they were last seen: their birth site (or every
   * site) is asked instead. A site that answered without them is forgotten (they
   * moved on); one that did not answer may still hold them and is kept.
   */
  private async retryStale(batch: EntityBatch): Promise<void> {
    const stale = [...batch.remembered].filter((i) => batch.answers[i].every((a) => a.value === null));
    if (stale.length === 0) return;
    const bySite = new Map<string, number[]>();
    for (const i of stale) {
      const id = String(batch.reps[i].id);
      if (batch.answers[i].length > 0) this.o.locations.delete(id);
      batch.answers[i] = [];
      const born = this.o.birthSite(id);
      if (!born) batch.lookups.add(i);
      for (const s of born ? [born] : this.o.siteIds) bySite.set(s, [...(bySite.get(s) ?? []), i]);
    }
    batch.errors = batch.errors.filter((e) => !(e.path?.[0] === '_entities' && stale.includes(e.path[1] as number)));
    await Promise.all([...bySite].map(([site, indices]) => this.entitiesAt(batch, site, indices)));
  }

  /** Files one site's `_entities` answer for `indices`; ENTITY_MOVED slots go to `onMoved` instead. */
  private file(batch: EntityBatch, answer: Answer, indices: number[], onMoved: (original: number, to: string) => void): void {
    const gathered = (i: number) => batch.targets[i] !== 'any' && batch.targets[i].length > 1 && !batch.lookups.has(i);
    if ('down' in answer) {
      batch.down.set(answer.site, answer.down);
      for (const i of indices) if (!gathered(i) && !batch.lookups.has(i)) batch.errors.push(unavailable(answer.down, ['_entities', i]));
      if (indices.some((i) => gathered(i) || batch.lookups.has(i))) batch.errors.push(unavailable(answer.down));
      return;
    }
    const values = (answer.response.data?._entities ?? []) as unknown[];
    if (answer.response.data?._entities && values.length !== indices.length) {
      // As Apollo's gateway treats it: an answer that does not line up with the representations is no answer.
      batch.errors.push(errorJson('INTERNAL_SERVER_ERROR', `branch site ${answer.site} answered ${values.length} entities for ${indices.length} representations`, { site: answer.site }));
      for (const original of indices) batch.answers[original].push({ site: answer.site, value: null });
      return;
    }
    indices.forEach((original, j) => {
      const moved = movedTo(answer.response, ['_entities', j]);
      const id = String(batch.reps[original].id);
      if (moved) {
        this.o.locations.set(id, moved);
        onMoved(original, moved);
        return;
      }
      const value = values[j] ?? null;
      // An id without a site prefix was asked of every site: remember the one that has it.
      if (value !== null && batch.lookups.has(original)) this.o.locations.set(id, answer.site);
      batch.answers[original].push({ site: answer.site, value });
    });
    for (const e of withoutMoved(answer.response.errors)) {
      const error = reindex(e, indices);
      const i = error.path?.[0] === '_entities' ? error.path[1] : undefined;
      if (typeof i === 'number' && gathered(i) && error.path!.length > 2) batch.gatheredErrors.push({ site: answer.site, error });
      else batch.errors.push(error);
    }
  }

  private entityResult(type: EntityTypePlan | undefined, answers: { site: string; value: unknown }[], targets: string[] | 'any', variables: Json): unknown {
    if (!type || type.rule.kind !== 'gather') {
      // Owned or replicated: one answer; for an id asked of every site, the one that has it.
      return answers.find((a) => a.value !== null)?.value ?? null;
    }
    const order = targets === 'any' ? [] : targets;
    const values = order.map((s) => answers.find((a) => a.site === s)?.value).filter((v): v is Json => v != null) as Json[];
    if (values.length === 0) return null;
    const merged: Json = { ...values[0] };
    for (const g of type.gathered) merged[g.key] = mergeGathered(values.map((v) => v[g.key]), g.shape, limitOf(g, variables));
    return merged;
  }
}
