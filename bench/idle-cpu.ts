import { startChain } from '../launch/chain';
import { redisPrefixArgs } from './fixture';
import { cpuSeconds } from './proc';
import { removeWideChains, wideChain } from './scenarios/fanout';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Idle cost of one gateway and its sites: an n-site chain (not seeded),
 * started, left to settle, then CPU ms per second of the gateway and of the
 * sites (summed) over `samples` idle windows, with their medians.
 * `tsx bench/idle-cpu.ts [sites=8] [windowS=10] [samples=3]`; IDLE_GATEWAY_ARGS
 * adds gateway flags (space-separated).
 */
async function main(): Promise<void> {
  const [n = 8, windowS = 10, samples = 3] = process.argv.slice(2).map(Number);
  const { configFile, dataDir } = wideChain(n);
  const chain = await startChain({ configFile, dataDir, port: 0, readyTimeoutMs: 600_000, gatewayArgs: [...redisPrefixArgs('idle'), ...(process.env.IDLE_GATEWAY_ARGS?.split(' ').filter(Boolean) ?? [])] });
  try {
    const gateway = chain.gateways[0].child.pid!;
    const sites = [...chain.sites.values()].map((s) => s.child.pid!);
    await sleep(5000);
    const gw: number[] = [];
    const st: number[] = [];
    for (let i = 0; i < samples; i++) {
      const g0 = cpuSeconds(gateway);
      const s0 = sites.map(cpuSeconds);
      await sleep(windowS * 1000);
      gw.push(((cpuSeconds(gateway) - g0) * 1000) / windowS);
      st.push((sites.map(cpuSeconds).reduce((a, b, j) => a + b - s0[j], 0) * 1000) / windowS);
      console.log(`sample ${i + 1}: gateway ${gw[i].toFixed(1)} ms/s, ${n} sites ${st[i].toFixed(1)} ms/s`);
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    console.log(`${n} sites, median of ${samples} × ${windowS} s: gateway ${median(gw).toFixed(1)} ms/s, sites ${median(st).toFixed(1)} ms/s`);
  } finally {
    await chain.stop();
    removeWideChains();
  }
}

void main();
