import type { Fixture } from './fixture';
import type { LoadTarget } from './measure';
import type { ScenarioHeader, ScenarioResult } from './results';
import { bearerHeaders } from './stats';

/** How long and how often: `--quick` shortens both. */
export interface BenchOptions {
  quick: boolean;
  rounds: number;
  windowS: number;
  scale: number;
  log: (line: string) => void;
}

export interface Scenario extends ScenarioHeader {
  /** Other names `npm run bench -- NAME` accepts. */
  aliases?: string[];
  /** Whether it measures the shared fixture (bench/fixture.ts) or starts its own processes. */
  usesFixture: boolean;
  run(o: BenchOptions, fixture: Fixture | undefined): Promise<ScenarioResult>;
}

/** A target that POSTs one GraphQL query with autocannon, checked once first. */
export function queryTarget(o: {
  name: string;
  baseline?: string;
  url: string;
  query: string;
  variables?: Record<string, unknown>;
  token?: string;
  connections: number;
  processes: LoadTarget['processes'];
}): LoadTarget {
  const body = JSON.stringify({ query: o.query, variables: o.variables ?? {} });
  const headers = bearerHeaders(o.token);
  const once = async () => {
    const res = await fetch(o.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    const answer = (await res.json()) as { data?: unknown; errors?: unknown[] };
    if (answer.errors || !answer.data) throw new Error(`${o.name} answered ${o.query} with errors: ${JSON.stringify(answer.errors)}`);
  };
  return {
    name: o.name,
    baseline: o.baseline,
    processes: o.processes,
    check: once,
    warm: async () => {
      for (let i = 0; i < 5; i++) await Promise.all(Array.from({ length: o.connections }, once));
    },
    load: (durationS) => ({ kind: 'http', url: o.url, body, headers, connections: o.connections, durationS }),
  };
}
