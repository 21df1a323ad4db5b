import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { exitOnSignals } from '../platform';
import { startChain } from './chain';

/**
 * `npm start [-- --data DIR --port N --config FILE --scale N --gateways K --no-cache]`:
 * every site and K gateways as separate processes on this machine, demo data
 * seeded on first start. Ctrl-C or SIGTERM stops them all.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      data: { type: 'string', default: 'data' },
      port: { type: 'string', default: '4000' },
      config: { type: 'string', default: 'schema/sites.yaml' },
      scale: { type: 'string', default: '1' },
      gateways: { type: 'string', default: '1' },
      'no-cache': { type: 'boolean', default: false },
    },
  });
  const gateways = Number(values.gateways);
  if (!Number.isInteger(gateways) || gateways < 1 || gateways > 16) throw new Error(`--gateways must be 1..16, got "${values.gateways}"`);
  if (gateways > 1 && !process.env.REDIS_URL && !values['no-cache']) {
    throw new Error('--gateways above 1 needs REDIS_URL (redis://host:6379): the gateways keep their entity caches coherent through it. Set it, or add --no-cache.');
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`--port must be a port number, got "${values.port}"`);
  console.log('starting the branch sites and the gateway (the first start creates and seeds the site databases)...');
  const chain = await startChain({
    configFile: resolve(values.config!),
    dataDir: resolve(values.data!),
    port,
    demo: true,
    scale: Number(values.scale),
    gateways,
    gatewayArgs: values['no-cache'] ? ['--no-cache'] : [],
    log: (line) => console.error(line),
  });
  for (const [id, site] of chain.sites) console.log(`  site ${id} at ${site.url}`);
  for (const g of chain.gateways.slice(1)) console.log(`  gateway at http://localhost:${new URL(g.url).port}/graphql`);
  console.log(`LibFed ready at http://localhost:${new URL(chain.gatewayUrl).port}/graphql`);
  let stopping = false;
  for (const [id, site] of chain.sites) {
    site.child.once('exit', (code, signal) => {
      if (!stopping) console.error(`site ${id} exited (${signal ?? code}); the gateway reports it as BRANCH_UNAVAILABLE`);
    });
  }
  exitOnSignals(async () => {
    stopping = true;
    console.log('stopping...');
    await chain.stop();
  });
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
