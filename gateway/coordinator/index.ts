export { Coordinator, CoordinatorCrashed, type CoordinatorOptions, type CrashPoint, type TxPlan, type TxView } from './coordinator';
export { LocalWaitForGraph, findVictim, type WaitForGraph, type TxInfo } from './waitfor';
export { planMutation, locate, MUTATIONS, type PlanningContext } from './mutations';
export { MutationService, type CacheWriter, type TransactionsReport } from './service';
export { RedisWaitForGraph, type RedisWaitForGraphOptions } from './redis-waitfor';
