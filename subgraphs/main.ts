import { parseArgs } from 'node:util';
import { loadSites, siteById } from '../schema';
import { migrate, openSiteDatabase } from '../sql';
import { generateDemoData, isSeeded, loadDemoData } from '../sql/seed';
import { exitOnSignals } from '../platform';
import { startSiteServer } from './server';

/**
 * One site process: `tsx subgraphs/main.ts --site Q1 [--config FILE] [--data DIR]
 * [--port N] [--demo [--demo-now ISO] [--scale N]]`. It migrates the site
 * database, seeds the demo data on first start if asked, and prints one JSON
 * line `{"event":"ready",...}` on stdout once it listens.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      site: { type: 'string' },
      config: { type: 'string', default: 'schema/sites.yaml' },
      data: { type: 'string', default: 'data' },
      port: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      demo: { type: 'boolean', default: false },
      'demo-now': { type: 'string' },
      scale: { type: 'string', default: '1' },
      peer: { type: 'string', multiple: true, default: [] },
    },
  });
  const config = loadSites(values.config!);
  const site = values.site ? siteById(config, values.site) : undefined;
  if (!site) throw new Error(`--site must name a site of ${values.config}: ${config.sites.map((s) => s.id).join(', ')}`);
  const port = values.port !== undefined ? Number(values.port) : Number(new URL(site.url).port);

  const db = await openSiteDatabase(site, values.data!);
  await migrate(db, site.id);
  if (values.demo && !(await isSeeded(db))) {
    const now = values['demo-now'] ? new Date(values['demo-now']) : new Date();
    const branches = config.sites.map((s) => ({ id: s.id, name: s.name, address: s.address }));
    await loadDemoData(db, site.id, generateDemoData({ branches, now, scale: Number(values.scale) }));
  }
  // Peers for self-recovery: the config's URLs, overridden by --peer ID=URL.
  // A site on a random port (tests) has no reason to trust the config's URLs for the others.
  const peers: Record<string, string> = port === 0 ? {} : Object.fromEntries(config.sites.map((s) => [s.id, s.url]));
  for (const p of values.peer!) {
    const [id, url] = p.split('=', 2);
    if (id && url) peers[id] = url;
  }
  // Test hook only (cache fill-race test): LIBFED_TEST_SLOW_ANSWERS=readers:1500.
  const [slowSubgraph, slowMs] = (process.env.LIBFED_TEST_SLOW_ANSWERS ?? '').split(':');
  const slowAnswers = slowSubgraph && Number(slowMs) > 0 ? { subgraphs: [slowSubgraph], ms: Number(slowMs) } : undefined;
  const handle = await startSiteServer({ siteId: site.id, db, port, host: values.host, peers, slowAnswers });
  console.log(JSON.stringify({ event: 'ready', site: site.id, url: handle.url }));

  exitOnSignals(async () => {
    await handle.stop();
    await db.close();
  });
}

main().catch((error: Error) => {
  console.error(`site failed to start: ${error.message}`);
  process.exit(1);
});
