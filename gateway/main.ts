import { parseArgs } from 'node:util';
import { loadSites } from '../schema';
import type { CrashPoint } from './coordinator';
import { exitOnSignals } from '../platform';
import { startGateway } from './server';

/**
 * One gateway process: `tsx gateway/main.ts [--config FILE] [--port N]
 * [--site Q1=http://host:port ...]`. `--site` overrides a site's URL from the
 * config. Prints one JSON line `{"event":"ready","url":...}` once it listens.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string', default: 'schema/sites.yaml' },
      port: { type: 'string', default: '4000' },
      host: { type: 'string', default: '127.0.0.1' },
      site: { type: 'string', multiple: true, default: [] },
      'site-timeout-ms': { type: 'string', default: '5000' },
      'prepared-ttl-ms': { type: 'string', default: '10000' },
      'lock-wait-ms': { type: 'string', default: '5000' },
      'recovery-interval-ms': { type: 'string', default: '1000' },
      'max-open-loans': { type: 'string', default: '5' },
      'redis-prefix': { type: 'string', default: 'libfed:' },
      'no-cache': { type: 'boolean', default: false },
      'cache-max-bytes': { type: 'string' },
      'instance-id': { type: 'string' },
    },
  });
  const config = loadSites(values.config!);
  for (const override of values.site!) {
    const [id, url] = override.split('=', 2);
    const site = config.sites.find((s) => s.id === id);
    if (!site || !url) throw new Error(`--site ${override}: expected ID=URL with ID one of ${config.sites.map((s) => s.id).join(', ')}`);
    site.url = url;
  }
  const handle = await startGateway({
    config,
    port: Number(values.port),
    host: values.host,
    siteTimeoutMs: Number(values['site-timeout-ms']),
    preparedTtlMs: Number(values['prepared-ttl-ms']),
    lockWaitMs: Number(values['lock-wait-ms']),
    recoveryIntervalMs: Number(values['recovery-interval-ms']),
    maxOpenLoans: Number(values['max-open-loans']),
    redisUrl: process.env.REDIS_URL || undefined,
    redisKeyPrefix: values['redis-prefix'],
    cache: !values['no-cache'],
    cacheMaxBytes: values['cache-max-bytes'] === undefined ? undefined : Number(values['cache-max-bytes']),
    instanceId: values['instance-id'],
    // Test hook only (crash-point tests): LIBFED_CRASH_AT=after-prepare|after-decision.
    crashAt: process.env.LIBFED_CRASH_AT as CrashPoint | undefined,
  });
  console.log(JSON.stringify({ event: 'ready', url: handle.url }));
  exitOnSignals(() => handle.stop());
}

main().catch((error: Error) => {
  console.error(`gateway failed to start: ${error.message}`);
  process.exit(1);
});
