import { Counter, Gauge, type Registry } from 'prom-client';
import type { MesiState } from './bus';

/** Why an instance dropped its whole L1 and went to bypass (README, "Lost connections"). */
export type BypassReason = 'connection-lost' | 'bus-error' | 'expelled' | 'lease-expired';
/** Why the L1 was emptied: a bypass, or the drain fence lapsing (hits stop until it is renewed). */
export type DropReason = BypassReason | 'fence-lapsed';

/**
 * One counter per name per registry, labelled by instance: several caches may
 * share a registry (tests, or K gateways in one process) without clashing.
 */
function counter<L extends string>(registry: Registry, name: string, help: string, labelNames: L[]): Counter<L> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<L>;
  return new Counter({ name, help, labelNames, registers: [registry] });
}

function gauge(registry: Registry, name: string, help: string): Gauge<'instance'> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Gauge<'instance'>;
  return new Gauge({ name, help, labelNames: ['instance'], registers: [registry] });
}

/** The cache's counters for one instance, exported at the gateway's /metrics. */
export function cacheMetrics(registry: Registry, instance: string) {
  const perInstance = (name: string, help: string) => counter(registry, name, help, ['instance']).labels({ instance });
  const transitions = counter(registry, 'libfed_cache_transitions_total', 'MESI state changes of lines in this instance', [
    'instance',
    'from',
    'to',
  ]);
  const l1Drops = counter(registry, 'libfed_cache_l1_drops_total', 'Whole-L1 drops, by reason', ['instance', 'reason']);
  return {
    hits: perInstance('libfed_cache_hits_total', 'Entity reads answered from this instance\'s L1'),
    misses: perInstance('libfed_cache_misses_total', 'Entity reads that had to be filled from the sites'),
    bypassed: perInstance(
      'libfed_cache_bypassed_reads_total',
      'Entity reads sent straight to the sites because the instance is not coherent (no bus, lost lease)',
    ),
    invalidationsSent: perInstance('libfed_cache_invalidations_sent_total', 'Lines this instance told another instance to drop'),
    invalidationsReceived: perInstance('libfed_cache_invalidations_received_total', 'Lines another instance told this one to drop'),
    fillsDiscarded: perInstance(
      'libfed_cache_fills_discarded_total',
      'Fills not installed because their line was invalidated, evicted or rewritten while they ran',
    ),
    holdersRevoked: perInstance(
      'libfed_cache_holders_revoked_total',
      'Holders removed from the directory because they did not ack an invalidation in time',
    ),
    transition: (from: MesiState, to: MesiState) => {
      if (from !== to) transitions.inc({ instance, from, to });
    },
    l1Dropped: (reason: DropReason) => l1Drops.inc({ instance, reason }),
    bytes: gauge(registry, 'libfed_cache_bytes', 'Bytes of answers (and their variant keys) held in this instance\'s L1').labels({ instance }),
    evictions: perInstance('libfed_cache_evictions_total', 'Answers or lines evicted to keep the L1 within its line, byte and per-line bounds'),
  };
}

export type CacheMetrics = ReturnType<typeof cacheMetrics>;

/** The whole-response cache's counters for one instance (`CoherentCache.lookupResponse`, `storeResponse`). */
export function responseMetrics(registry: Registry, instance: string) {
  const perInstance = (name: string, help: string) => counter(registry, name, help, ['instance']).labels({ instance });
  return {
    hits: perInstance('libfed_response_cache_hits_total', 'Whole responses answered from this instance before any query plan ran'),
    misses: perInstance('libfed_response_cache_misses_total', 'Queries with no valid whole response kept (or the cache not coherent): the plan ran'),
    stores: perInstance('libfed_response_cache_stores_total', 'Whole responses kept, every part read through a line still valid'),
    invalidations: perInstance('libfed_response_cache_invalidations_total', 'Whole responses dropped because a line they were built from was invalidated, written or evicted'),
  };
}

export type ResponseMetrics = ReturnType<typeof responseMetrics>;
