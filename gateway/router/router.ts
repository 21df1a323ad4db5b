import { LRUCache } from 'lru-cache';
import { DEFAULT_PAGE_SIZE, errorJson, MAX_PAGE_SIZE, parsePeriod, type SubgraphDistribution } from '../../schema';
import { mergeGathered } from './merge';
import { limitOf, movedTo, pathInMerged, responseOf, unavailable, withoutMoved, type Answer, type Json } from './answers';
import { EntityRouter } from './entities';
import { homesFrom, placeReaders, READER_HOMES_QUERY, unresolvedReaders } from './homes';
import type { Locations } from './locations';
import { PAGE_AFTER, PAGE_FIRST, planFetch, type FetchPlan, type GatheredField, type RootFieldPlan } from './plan';
import { perSiteLimit, secondRound, withSecondRound } from './pages';
import { argumentValue } from './selection';
import { SiteUnavailable, type SiteClient, type SiteHealth, type SubgraphError, type SubgraphResponse } from './sites';

export interface FragmentRouterOptions {
  distribution: SubgraphDistribution;
  /** The routed sites; may be a getter over the gateway's SiteDirectory, so read it on each use, never keep a copy. */
  siteIds: readonly string[];
  client: SiteClient;
  health: SiteHealth;
  /** docs/ARCHITECTURE.md §3 rule 4: the site an id was born at, from its prefix, if it has one. */
  birthSite: (id: string) => string | undefined;
  /** Distinct fetch texts whose plans are kept. */
  planCacheSize?: number;
  /**
   * Where moved entities and ids without a site prefix were last seen. One store
   * for every router of the gateway, so a committed move is known to all at once.
   */
  locations: Locations;
}

/**
 * The horizontal axis of distribution (docs/ARCHITECTURE.md §3), for one
 * logical subgraph: for each read fetch the planner sends, it picks the
 * sites, sends them the fetch in parallel and merges their answers, so the
 * gateway sees one subgraph where there are N site databases. Routing and
 * merging only: the cache and the coordinator are other parts of the data
 * source (`source.ts`).
 */
export class FragmentRouter {
  private readonly plans: LRUCache<string, FetchPlan>;
  private readonly locations: Locations;

  private readonly entityRouter: EntityRouter;
  /** The types whose rows this subgraph's sites hold (their answers are made of them). */
  readonly ownedTypes: string[];

  constructor(private readonly o: FragmentRouterOptions) {
    this.plans = new LRUCache({ max: o.planCacheSize ?? 1000 });
    this.ownedTypes = [...o.distribution.entities].filter(([, rule]) => rule.kind !== 'gather').map(([type]) => type);
    this.locations = o.locations;
    this.entityRouter = new EntityRouter({
      // Read through: the site list changes while the gateway runs (gateway/sites).
      get siteIds() {
        return o.siteIds;
      },
      health: o.health,
      locations: this.locations,
      birthSite: o.birthSite,
      ask: (site, query, variables, deadlineAt) => this.ask(site, query, variables, deadlineAt),
      askAny: (query, variables, deadlineAt) => this.askAny(query, variables, deadlineAt),
      gatherSites: (fields, variables) => this.gatherSites(fields, variables),
    });
  }

  /** The fetch's plan, kept per fetch text. */
  plan(query: string): FetchPlan {
    let plan = this.plans.get(query);
    if (!plan) {
      plan = planFetch(query, this.o.distribution);
      this.plans.set(query, plan);
    }
    return plan;
  }

  /** Sends one request to one site; a site that cannot answer becomes a value, not an exception. */
  private async ask(site: string, query: string, variables: Json, deadlineAt?: number): Promise<Answer> {
    const started = performance.now();
    try {
      const response = await this.o.client.send(site, this.o.distribution.name, { query, variables }, deadlineAt);
      this.o.health.succeeded(site, performance.now() - started);
      return { site, response };
    } catch (error) {
      if (!(error instanceof SiteUnavailable)) throw error;
      this.o.health.failed(site);
      return { site, down: error };
    }
  }

  /** Rule 3: replicated data from the fastest healthy site, the next one on failure. */
  private async askAny(query: string, variables: Json, deadlineAt?: number): Promise<Answer> {
    let last: Answer | undefined;
    for (const site of this.o.health.preferred()) {
      last = await this.ask(site, query, variables, deadlineAt);
      if ('response' in last) return last;
    }
    return last ?? { site: '?', down: new SiteUnavailable('?', 'no sites configured') };
  }

  /** One read root field, from the sites its rule names; `deadlineAt` is when the client's request runs out of time. */
  async root(plan: RootFieldPlan, variables: Json, deadlineAt?: number): Promise<SubgraphResponse> {
    const rule = plan.rule;
    switch (rule.kind) {
      case 'coordinator':
        throw new Error(`${plan.field.name.value} is the coordinator's view, not a read of the sites`);
      case 'replicated':
        return responseOf(await this.askAny(plan.query, variables, deadlineAt), [plan.key]);
      case 'locate':
        return this.locate(plan, String(argumentValue(plan.field, rule.arg, variables)), variables, deadlineAt);
      case 'gather':
        return this.gather(plan, plan.gathered!, variables, deadlineAt);
    }
  }

  /**
   * Rule 4: to where the id was last seen, else its birth site, following one
   * ENTITY_MOVED; ids without a site prefix are asked of every site. A
   * remembered site is a hint: when it does not answer, or no longer has the
   * entity (it moved on, and is forgotten), the birth site, which always
   * knows, is asked instead.
   */
  private async locate(plan: RootFieldPlan, id: string, variables: Json, deadlineAt?: number): Promise<SubgraphResponse> {
    const remembered = this.locations.get(id);
    const born = this.o.birthSite(id);
    const site = remembered ?? born;
    if (!site) return this.askAll(plan, id, variables, deadlineAt);
    const answer = await this.askFollowing(site, plan, id, variables, deadlineAt);
    if (remembered === undefined || remembered === born) return responseOf(answer, [plan.key]);
    const down = 'down' in answer && answer.site === remembered;
    const gone = 'response' in answer && answer.response.data?.[plan.key] == null && !answer.response.errors?.length;
    if (!down && !gone) return responseOf(answer, [plan.key]);
    // A site that is down may still hold the entity: only one that answered without it is forgotten.
    if (gone) this.locations.delete(id);
    if (!born) return this.askAll(plan, id, variables, deadlineAt);
    return responseOf(await this.askFollowing(born, plan, id, variables, deadlineAt, down ? answer : undefined), [plan.key]);
  }

  /** Asks `site`, following one ENTITY_MOVED; a move to the site that was just `down` answers that instead of waiting on it again. */
  private async askFollowing(site: string, plan: RootFieldPlan, id: string, variables: Json, deadlineAt?: number, down?: Answer): Promise<Answer> {
    const answer = await this.ask(site, plan.query, variables, deadlineAt);
    const moved = 'response' in answer ? movedTo(answer.response, [plan.key]) : undefined;
    if (!moved) return answer;
    this.locations.set(id, moved);
    if (down?.site === moved) return down;
    return this.ask(moved, plan.query, variables, deadlineAt);
  }

  private async askAll(plan: RootFieldPlan, id: string, variables: Json, deadlineAt?: number): Promise<SubgraphResponse> {
    const answers = await Promise.all(this.o.siteIds.map((s) => this.ask(s, plan.query, variables, deadlineAt)));
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
  private async gather(plan: RootFieldPlan, gathered: GatheredField, variables: Json, deadlineAt?: number): Promise<SubgraphResponse> {
    const badLimit = pageSizeError(gathered, variables) ?? periodError(gathered, variables);
    if (badLimit) return { data: { [plan.key]: null }, errors: [{ ...badLimit, path: [plan.key] }] };
    const sites = this.gatherSites([gathered], variables);
    if (typeof sites === 'string') {
      return { data: { [plan.key]: null }, errors: [errorJson('UNKNOWN_BRANCH', sites, {}, [plan.key])] };
    }
    const limit = limitOf(gathered, variables);
    const { answers, cut, errors } =
      plan.more !== undefined
        ? await this.gatherPage(plan, gathered, sites, limit ?? DEFAULT_PAGE_SIZE, variables, deadlineAt)
        : { answers: await Promise.all(sites.map((s) => this.ask(s, plan.query, variables, deadlineAt))), cut: limit, errors: [] as SubgraphError[] };
    const parts: unknown[] = [];
    for (const a of answers) if ('response' in a) parts.push(a.response.data?.[plan.key] ?? null);
    errors.push(...(await this.placeReaders(parts, gathered, answers)));
    const merged = mergeGathered(parts, gathered.shape, cut) ?? null;
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

  /**
   * A gathered page (pages.ts): every site asked for its likely share of the
   * page, then those whose rows may still belong on it asked for the rest, in
   * one second round. A site that does not answer that round ends the page at
   * its last row's rank in the first round (`cut`): an exact prefix, if not the
   * longest one (other sites' second-round rows may sort before it), and it is
   * reported; with nothing to end at (it sent no row) its part is missing, as
   * a site that is down.
   */
  private async gatherPage(plan: RootFieldPlan, gathered: GatheredField, sites: string[], first: number, variables: Json, deadlineAt?: number) {
    const rule = gathered.shape.rule;
    if (rule.merge !== 'SORTED') throw new Error('a gathered page merges SORTED');
    const after = (argumentValue(gathered.field, 'after', variables) ?? null) as string | null;
    const ask = (site: string, query: string, n: number, from: string | null) => this.ask(site, query, { ...variables, [PAGE_FIRST]: n, [PAGE_AFTER]: from }, deadlineAt);
    const each = perSiteLimit(first, sites.length);
    const answers = await Promise.all(sites.map((s) => ask(s, plan.query, each, after)));
    const errors: SubgraphError[] = [];
    const asked = secondRound(answers.map((a) => ('response' in a ? (a.response.data?.[plan.key] ?? null) : null)), rule.orderBy, first, after);
    // A page whose rows the client did not select (only `totalCount`) is whole after the first round.
    const rowsShown = gathered.shape.keys('edges').length > 0 || gathered.shape.pageInfoKeys.length > 0;
    if (!asked.length || !rowsShown) return { answers, cut: first, errors };
    const second = await Promise.all(asked.map((m) => ask(answers[m.index].site, plan.more!, m.first, m.after)));
    const joined = withSecondRound(plan.key, answers, asked, second);
    let cut = first;
    for (const { more, answer } of joined.failed) {
      errors.push(...('down' in answer ? [unavailable(answer.down)] : (answer.response.errors ?? [])));
      if (more.rank > 0) cut = Math.min(cut, more.rank);
    }
    return { answers: joined.answers, cut, errors };
  }

  /**
   * GROUPS with `resolveHome` (homes.ts): every site is asked for the readers
   * the gathered parts left unplaced. A site that does not answer here is
   * reported unless the gather already did: its readers' loans elsewhere are
   * then missing from the groups, never silently.
   */
  private async placeReaders(parts: unknown[], gathered: GatheredField, gatherAnswers: Answer[]): Promise<SubgraphError[]> {
    const rule = gathered.shape.rule;
    if (rule.merge !== 'GROUPS' || !rule.resolveHome) return [];
    const ids = unresolvedReaders(parts);
    if (!ids.length) return [];
    const answers = await Promise.all(this.o.siteIds.map((s) => this.ask(s, READER_HOMES_QUERY, { ids })));
    placeReaders(parts, gathered.shape, homesFrom(answers));
    const reported = new Set(gatherAnswers.filter((a) => 'down' in a).map((a) => a.site));
    return answers.flatMap((a) => ('down' in a && !reported.has(a.site) ? [unavailable(a.down)] : []));
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

  /** `_entities`: each representation to the site that holds it (entities.ts). */
  entities(plan: Extract<FetchPlan, { kind: 'entities' }>, variables: Json, deadlineAt?: number): Promise<SubgraphResponse> {
    return this.entityRouter.fetch(plan, variables, deadlineAt);
  }
}


/**
 * The sites' page-size rule, checked at the gateway first:
 * TOPK asks the sites for every group (`first: null`), so only the gateway
 * sees the client's `first`.
 */
function pageSizeError(g: GatheredField, variables: Json): SubgraphError | undefined {
  const arg = g.shape.rule.limitArg;
  const value = arg ? argumentValue(g.field, arg, variables) : undefined;
  if (value === undefined || value === null) return undefined;
  if (Number.isInteger(value) && (value as number) >= 0 && (value as number) <= MAX_PAGE_SIZE) return undefined;
  return errorJson('PAGE_SIZE_OUT_OF_RANGE', `${arg} must be between 0 and ${MAX_PAGE_SIZE}, got ${JSON.stringify(value)}`, { argument: arg, max: MAX_PAGE_SIZE });
}

/** A report's period (`from`, `to`), checked as every site would check it, so a bad one is answered once and reaches no site. */
function periodError(g: GatheredField, variables: Json): SubgraphError | undefined {
  const names = (g.field.arguments ?? []).map((a) => a.name.value);
  if (!names.includes('from') && !names.includes('to')) return undefined;
  const parsed = parsePeriod(argumentValue(g.field, 'from', variables), argumentValue(g.field, 'to', variables));
  return 'message' in parsed ? parsed : undefined;
}
