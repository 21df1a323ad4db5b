import type { Scenario } from '../scenario';
import type { ScenarioHeader } from '../results';
import { fanout } from './fanout';
import { memory } from './memory';
import { nested } from './nested';
import { reports } from './reports';
import { routing } from './routing';
import { size } from './size';
import { stalenessScenario } from './staleness';
import { writes } from './writes';

/** The scenarios, in the order a full run measures them (the fixture's chain is shared, so writes come after reads). */
export const SCENARIOS: Scenario[] = [routing, nested, size, reports, stalenessScenario, writes, memory, fanout];

/** Listed in every full run's summary as not implemented, so a missing figure is never mistaken for a good one. */
export const UNIMPLEMENTED: (ScenarioHeader & { why: string })[] = [];
