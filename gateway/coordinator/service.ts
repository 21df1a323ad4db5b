import type { Logger } from 'pino';
import { libfedError } from '../../schema';
import type { MutationResult, MutationRunner } from '../router';
import { ParticipantUnreachable, type ParticipantClient } from '../../subgraphs/participant';
import { Coordinator, type TxView } from './coordinator';
import { planMutation, type PlanningContext } from './mutations';
import type { WaitForGraph } from './waitfor';

/** The write side of the coherence cache: called after commit, before the client's answer. */
export interface CacheWriter {
  write(lines: readonly string[]): Promise<unknown>;
}

export interface MutationServiceOptions {
  coordinator: Coordinator;
  cache?: CacheWriter;
  planning: PlanningContext;
  client: ParticipantClient;
  waitFor: WaitForGraph;
  log: Logger;
}

/** What managers see through `transactions`. */
export interface TransactionsReport {
  inFlight: TxView[];
  inDoubt: { site: string; gid: string; commitSite: string; deadline: string; createdAt: string }[];
  waitFor: { waiter: string; holder: string }[];
  unavailableSites: string[];
}

/** The gateway's write path: plan, run, audit-log; answers the key of the entity to read back. */
export class MutationService implements MutationRunner {
  constructor(private readonly o: MutationServiceOptions) {}

  async run(field: string, args: Record<string, unknown>): Promise<MutationResult> {
    const started = Date.now();
    let gid: string | undefined;
    let sites: string[] = [];
    try {
      const plan = await planMutation(this.o.planning, field, args);
      gid = this.o.coordinator.newGid();
      sites = [...plan.ops.keys()];
      const applied = await this.o.coordinator.run(plan, gid);
      // DESIGN §5: every other gateway's copy of what changed is invalid before the client hears of the commit.
      await this.o.cache?.write(plan.lines);
      const entity = applied.find((a) => a.entity)?.entity;
      if (!entity) throw new Error(`mutation ${field} produced no entity to answer with`);
      this.o.log.info({ audit: true, mutation: field, args, gid, sites, outcome: 'COMMITTED', ms: Date.now() - started }, 'mutation committed');
      return { key: entity.id, gid, moved: plan.moved };
    } catch (error) {
      const e = error instanceof ParticipantUnreachable ? libfedError('BRANCH_UNAVAILABLE', `${error.message}; nothing was changed`, { site: error.siteId }) : error;
      const code = (e as { extensions?: { code?: string } }).extensions?.code ?? 'INTERNAL_SERVER_ERROR';
      this.o.log.info({ audit: true, mutation: field, args, gid, sites, outcome: 'ABORTED', code, ms: Date.now() - started }, 'mutation refused');
      throw e;
    }
  }

  view(field: string, _args: Record<string, unknown>): Promise<unknown> {
    if (field === 'transactions') return this.transactions();
    throw new Error(`no coordinator view ${field}`);
  }

  async transactions(): Promise<TransactionsReport> {
    const inDoubt: TransactionsReport['inDoubt'] = [];
    const unavailableSites: string[] = [];
    await Promise.all(
      this.o.planning.siteIds.map(async (site) => {
        try {
          const status = await this.o.client.call<{ prepared: Omit<TransactionsReport['inDoubt'][number], 'site'>[] }>(site, 'status', {});
          inDoubt.push(...status.prepared.map((p) => ({ site, ...p })));
        } catch {
          unavailableSites.push(site);
        }
      }),
    );
    const inFlight = this.o.coordinator.inFlightView().map((t) => ({ ...t, phase: t.phase.toUpperCase() as TxView['phase'] }));
    return { inFlight, inDoubt, waitFor: await this.o.waitFor.edges(), unavailableSites };
  }
}
