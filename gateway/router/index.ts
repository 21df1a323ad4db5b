export { SubgraphSource, type SubgraphSourceOptions } from './source';
export { FragmentRouter, type FragmentRouterOptions } from './router';
export { CachedReads, type EntityCache, type Reads } from './cached';
export { CoordinatedMutations, type MutationRunner, type MutationResult, type RequestContext } from './mutations';
export { lruLocations, type Locations, type LruLocationsOptions } from './locations';
export { GuardedSiteClient, HttpSiteClient, SiteHealth, SiteUnavailable, type SiteClient, type SiteGuard, type SubgraphRequest, type SubgraphResponse } from './sites';
export { planFetch, UnroutableFetch } from './plan';
export { kWayMerge, compareText, compareValues, sumDeep, mergeGathered } from './merge';
export { RESERVED } from './inject';
