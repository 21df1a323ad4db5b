import { benchBorrow } from './borrow';
import { benchCache } from './cache';

/** `npm run bench [-- borrow|cache]`: the benchmarks, one after another, on this machine's loopback. */
const BENCHES: Record<string, () => Promise<void>> = { borrow: benchBorrow, cache: benchCache };

async function main(): Promise<void> {
  const chosen = process.argv.slice(2);
  for (const name of chosen.length ? chosen : Object.keys(BENCHES)) {
    const bench = BENCHES[name];
    if (!bench) throw new Error(`unknown benchmark "${name}"; choose from ${Object.keys(BENCHES).join(', ')}`);
    await bench();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
