export { PhiAccrualDetector, PHI_DEFAULTS, type PhiAccrualOptions } from './phi';
export { SiteMonitor, MONITOR_DEFAULTS, type BreakerState, type SiteMonitorOptions, type SiteState } from './monitor';
export { GuardedParticipantClient } from './participants';
export { SiteWatch, type SiteWatchOptions } from './watch';
