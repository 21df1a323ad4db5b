import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * CPU time and memory of the processes a benchmark started, read from /proc
 * (Linux). CPU is utime + stime of the whole process (all its threads), so a
 * delta around a measured window is what that process spent serving it.
 */
let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** CPU seconds (user + system) `pid` has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may hold spaces: state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicks();
}

/** Resident memory now (VmRSS) and the peak since start (VmHWM), in MiB. */
export function memoryMiB(pid: number): { rssMiB: number; peakRssMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMiB: kib('VmRSS') / 1024, peakRssMiB: kib('VmHWM') / 1024 };
}

/** A process being measured, and which side of the system it is on (CPU per request is split by role). */
export interface Measured {
  name: string;
  role: 'gateway' | 'site';
  pid: number;
}

/** CPU seconds of each process; `stop()` gives the deltas since `start`. */
export function cpuWindow(processes: readonly Measured[]): { stop(): Map<string, number> } {
  const before = new Map(processes.map((p) => [p.name, cpuSeconds(p.pid)]));
  return {
    stop: () => new Map(processes.map((p) => [p.name, cpuSeconds(p.pid) - before.get(p.name)!])),
  };
}

/** The highest VmRSS of each process, sampled every `intervalMs` until `stop()` (VmHWM would include start-up and seeding). */
export function rssSampler(processes: readonly Measured[], intervalMs = 200): { stop(): Map<string, number> } {
  const peak = new Map(processes.map((p) => [p.name, memoryMiB(p.pid).rssMiB]));
  const sample = () => {
    for (const p of processes) peak.set(p.name, Math.max(peak.get(p.name)!, memoryMiB(p.pid).rssMiB));
  };
  const timer = setInterval(sample, intervalMs);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}
