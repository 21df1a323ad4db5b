import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startChain, type ChainHandle } from '../launch/chain';
import { loadSites } from '../schema';
import { generateDemoData } from '../sql/seed';
import { benchLogin, loginAs, percentile, post, summarize } from './stats';

/**
 * `borrowCopy` latency: one site (reader and copy at the same branch: a local
 * transaction) against across sites (reader at Q3, copy at Q1: two-phase
 * commit), measured side by side in one chain, alternating, each borrow
 * returned (untimed) so the next can borrow again.
 */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const PER_ROUND = Number(process.env.BENCH_N ?? 100);

async function borrowAndReturn(url: string, readerId: string, copyId: string): Promise<number> {
  const started = performance.now();
  const res = await post(url, `mutation($r: ID!, $c: ID!) { borrowCopy(readerId: $r, copyId: $c) { id } }`, { r: readerId, c: copyId });
  const ms = performance.now() - started;
  if (!res.data?.borrowCopy) throw new Error(`borrowCopy failed: ${JSON.stringify(res.errors)}`);
  const back = await post(url, `mutation($l: ID!) { returnCopy(loanId: $l) { id } }`, { l: res.data.borrowCopy.id });
  if (!back.data?.returnCopy) throw new Error(`returnCopy failed: ${JSON.stringify(back.errors)}`);
  return ms;
}

export async function benchBorrow(): Promise<void> {
  const configFile = resolve(__dirname, '..', 'schema', 'sites.yaml');
  const config = loadSites(configFile);
  const now = new Date();
  const data = generateDemoData({ branches: config.sites.map((s) => ({ id: s.id, name: s.name, address: s.address })), now });
  const openAt = (id: string) => data.loans.filter((l) => l.readerId === id && l.returnedAt === null).length;
  const reader = (site: string) => data.readers.find((r) => r.homeBranchId === site && r.id.startsWith(`${site}-`) && openAt(r.id) < 5)!.id;
  const copy = (site: string) => data.copies.find((c) => c.branchId === site && c.id.startsWith(`${site}-`) && c.status === 'Có sẵn')!.id;
  const single = { reader: reader('Q1'), copy: copy('Q1') };
  const cross = { reader: reader('Q3'), copy: data.copies.filter((c) => c.branchId === 'Q1' && c.id.startsWith('Q1-') && c.status === 'Có sẵn')[1].id };

  const dir = mkdtempSync(join(tmpdir(), 'libfed-bench-'));
  let chain: ChainHandle | undefined;
  try {
    const password = benchLogin();
    chain = await startChain({ configFile, dataDir: dir, port: 0, demo: true, demoNow: now });
    const url = chain.gatewayUrl;
    await loginAs(url, 'quanly', password);
    for (let i = 0; i < 10; i++) {
      await borrowAndReturn(url, single.reader, single.copy);
      await borrowAndReturn(url, cross.reader, cross.copy);
    }
    const rounds: { single: number[]; cross: number[] }[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const r = { single: [] as number[], cross: [] as number[] };
      for (let i = 0; i < PER_ROUND; i++) {
        r.single.push(await borrowAndReturn(url, single.reader, single.copy));
        r.cross.push(await borrowAndReturn(url, cross.reader, cross.copy));
      }
      rounds.push(r);
      console.log(`round ${round + 1}: single-site p50 ${percentile(r.single, 50).toFixed(1)} ms, cross-site p50 ${percentile(r.cross, 50).toFixed(1)} ms`);
    }
    summarize('borrowCopy', [
      ['single-site (local transaction)', rounds.map((r) => r.single)],
      ['cross-site (two-phase commit)', rounds.map((r) => r.cross)],
    ]);
  } finally {
    await chain?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
