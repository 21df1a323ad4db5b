export { FragmentRouter, type EntityCache, type FragmentRouterOptions, type MutationRunner, type MutationResult } from './router';
export { lruLocations, type Locations, type LruLocationsOptions } from './locations';
export { HttpSiteClient, SiteHealth, SiteUnavailable, type SiteClient, type SubgraphRequest, type SubgraphResponse } from './sites';
export { planFetch, UnroutableFetch } from './plan';
export { kWayMerge, compareText, compareValues, sumDeep, mergeGathered } from './merge';
export { RESERVED } from './inject';
