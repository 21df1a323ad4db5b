import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

/**
 * The gateway is a separate process from the sites: loading it must not load
 * a site's code, the SQL layer or a database driver (pg would also change
 * its global INT8 parser inside the gateway). Checked in a fresh process,
 * where nothing else has filled the module cache.
 */
const ROOT = resolve(__dirname, '..', '..');

function modulesLoadedBy(entry: string): string[] {
  const script = `require(${JSON.stringify(entry)}); process.stdout.write(JSON.stringify(Object.keys(require.cache)))`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, encoding: 'utf8' });
  return (JSON.parse(out) as string[]).map((p) => p.slice(ROOT.length + 1));
}

describe('loading gateway/server', () => {
  const loaded = modulesLoadedBy('./gateway/server.ts');

  it('loads the gateway itself (the check sees what is loaded)', () => {
    expect(loaded).toEqual(expect.arrayContaining(['gateway/server.ts', 'gateway/router/router.ts', 'contracts/protocol.ts', 'cache/coherent-cache.ts']));
  });

  it('loads no module of sql/, subgraphs/ or launch/, and no database driver', () => {
    const offending = loaded.filter((p) => /^(sql|subgraphs|launch)\//.test(p) || /node_modules\/(pg|pg-[^/]+|@electric-sql\/pglite|mssql|tedious)\//.test(p));
    expect(offending).toEqual([]);
  });
});
