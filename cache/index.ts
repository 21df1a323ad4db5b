export type {
  BusEvent,
  BusListener,
  BusMessage,
  CoherenceBus,
  DirectoryOp,
  DirectoryOpOf,
  DirectoryReplies,
  Holder,
  Joined,
  MesiState,
  WrittenLine,
} from './bus';
export { systemClock, type Clock } from './clock';
export { CoherentCache, type CachePhase, type CoherentCacheOptions, type WriteOutcome } from './coherent-cache';
export { LocalCoherenceBus, type LocalCoherenceBusOptions } from './local-bus';
export { cacheMetrics, type BypassReason, type CacheMetrics } from './metrics';
export { ResponseTrace } from './responses';
export { RedisCoherenceBus, type RedisCoherenceBusOptions } from './redis-bus';
