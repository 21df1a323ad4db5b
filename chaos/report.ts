import { describe, isMutation, type HistoryEntry } from './history';
import type { FaultRun } from './nemesis';
import { INVARIANTS, type InvariantId, type Violation } from './violation';

/** The run's summary, as printed: operations, faults, recovery, every invariant with its violations. */
export interface Summary {
  mutations: { total: number; ok: number; refused: Record<string, number>; ambiguous: number; resolved: Record<string, number> };
  reads: { total: number; ok: number; errors: Record<string, number> };
  ryw: Record<string, number>;
  faults: Record<string, number>;
  faultErrors: string[];
  recoveryMs: number;
  recovered: boolean;
  violations: Record<InvariantId, number>;
}

const count = (m: Record<string, number>, k: string) => (m[k] = (m[k] ?? 0) + 1);

export function summarize(entries: HistoryEntry[], runs: FaultRun[], recovery: { ms: number; settled: boolean }, violations: Violation[]): Summary {
  const s: Summary = {
    mutations: { total: 0, ok: 0, refused: {}, ambiguous: 0, resolved: {} },
    reads: { total: 0, ok: 0, errors: {} },
    ryw: {},
    faults: {},
    faultErrors: runs.filter((r) => r.error).map((r) => `${r.kind} ${r.target} at ${(r.startedMs / 1000).toFixed(1)}s: ${r.error}`),
    recoveryMs: recovery.ms,
    recovered: recovery.settled,
    violations: { a: 0, b: 0, c: 0, d: 0, e: 0, f: 0 },
  };
  for (const e of entries) {
    if (isMutation(e)) {
      s.mutations.total++;
      if (e.outcome.kind === 'ok') s.mutations.ok++;
      else if (e.outcome.kind === 'refused') count(s.mutations.refused, e.outcome.code);
      else {
        s.mutations.ambiguous++;
        count(s.mutations.resolved, `${e.outcome.reason} → ${e.resolution?.result ?? 'unknown'} (${e.resolution?.via ?? 'none'})`);
      }
    } else if (e.op === 'read') {
      s.reads.total++;
      if (e.outcome.kind === 'ok') s.reads.ok++;
      else count(s.reads.errors, e.outcome.kind === 'refused' ? e.outcome.code : e.outcome.reason);
    } else if (e.check) count(s.ryw, e.check.verdict);
  }
  for (const r of runs) count(s.faults, r.kind);
  for (const v of violations) s.violations[v.invariant]++;
  return s;
}

const line = (m: Record<string, number>) =>
  Object.entries(m)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`)
    .join(', ') || 'none';

export function printReport(print: (line: string) => void, s: Summary, violations: Violation[], entries: HistoryEntry[], t0: number, historyFile: string, cap = 5): void {
  const byId = new Map(entries.map((e) => [e.id, e]));
  print('');
  print('== chaos summary ==');
  print(`mutations: ${s.mutations.total} — acknowledged ${s.mutations.ok}, refused ${Object.values(s.mutations.refused).reduce((a, b) => a + b, 0)}, ambiguous ${s.mutations.ambiguous}`);
  print(`  refused by code: ${line(s.mutations.refused)}`);
  print(`  ambiguous, resolved: ${line(s.mutations.resolved)}`);
  print(`reads: ${s.reads.total} — ok ${s.reads.ok}; errors: ${line(s.reads.errors)}`);
  print(`read-your-writes checks: ${line(s.ryw)}`);
  print(`faults: ${line(s.faults)}`);
  for (const f of s.faultErrors) print(`  fault did not go as planned: ${f}`);
  print(`recovery: ${s.recovered ? 'settled' : 'NOT settled'} after ${(s.recoveryMs / 1000).toFixed(1)} s`);
  for (const id of Object.keys(INVARIANTS) as InvariantId[]) {
    const vs = violations.filter((v) => v.invariant === id);
    print(`${id}. ${INVARIANTS[id]}: ${vs.length === 0 ? 'OK' : `${vs.length} VIOLATION(S)`}`);
    const kinds = new Map<string, Violation[]>();
    for (const v of vs) kinds.set(v.kind, [...(kinds.get(v.kind) ?? []), v]);
    for (const [kind, list] of kinds) {
      print(`   ${kind}: ${list.length}`);
      for (const v of list.slice(0, cap)) {
        print(`     - ${v.message}`);
        for (const eid of v.entries.slice(-4)) print(`         ${describe(byId.get(eid)!, t0)}`);
      }
      if (list.length > cap) print(`     … ${list.length - cap} more in the history file`);
    }
  }
  print(`history and schedule: ${historyFile}`);
  print(violations.length === 0 ? 'RESULT: no violations' : `RESULT: ${violations.length} violation(s)`);
}
