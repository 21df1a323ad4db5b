import { defineCommand, exitWithUsageError, readCommandLine, UsageError } from '../platform';
import { benchBorrow } from './borrow';
import { benchCache } from './cache';

/** `npm run bench [-- borrow|cache]`: the benchmarks, one after another, on this machine's loopback. */
const BENCHES: Record<string, () => Promise<void>> = { borrow: benchBorrow, cache: benchCache };

const COMMAND = defineCommand({
  usage: `npm run bench [-- ${Object.keys(BENCHES).join('|')} ...]`,
  description:
    "LibFed's benchmarks against a baseline run side by side, reported as ratios of medians over repeated runs.\n" +
    'BENCH_ROUNDS and BENCH_N (and BENCH_SECONDS, BENCH_CONCURRENCY for cache) set the repetitions.',
  options: {},
  positionals: { name: 'BENCH...', description: `benchmarks to run, of ${Object.keys(BENCHES).join(', ')} (default: all, in that order)` },
});

async function main(): Promise<void> {
  const { positionals: chosen } = readCommandLine(COMMAND);
  const unknown = chosen.find((name) => !BENCHES[name]);
  if (unknown !== undefined) exitWithUsageError(UsageError.expected('benchmark', unknown, `one of ${Object.keys(BENCHES).join(', ')}`));
  for (const name of chosen.length ? chosen : Object.keys(BENCHES)) await BENCHES[name]();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
