import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { resolveConfig } from '../platform';
import { parseSites } from '../schema';
import { RUNTIME_FILE } from '../launch/chain';
import { adminCall, ChainUnreachable, findTarget } from './target';

/**
 * `libfed sites add|remove` on a running chain. Add: the site goes into the
 * sites config (comments and order kept); the launcher, which watches that
 * file, starts it (its database created and migrated); once it is in the
 * runtime file, the first gateway seeds it (replicated tables, its CHINHANH
 * row by 2PC) and routes to it, then every other gateway routes to it.
 * Remove: every gateway drains it and reports what it still holds; only when
 * every gateway removed it from routing (it held nothing, or `--force`) does
 * it leave the config, and the launcher stops it.
 */
export interface SiteValues {
  config?: string;
  data: string;
  port?: number;
  id?: string;
  name?: string;
  address?: string;
  database?: string;
  force: boolean;
  'wait-ms': number;
}

interface RuntimeFile {
  gateways: { url: string }[];
  sites: { id: string; url: string }[];
}

function runtime(values: SiteValues): RuntimeFile {
  const path = join(resolve(values.data), RUNTIME_FILE);
  if (!existsSync(path)) throw new ChainUnreachable(`no running chain: ${path} does not exist (sites add|remove need the launcher that watches the sites config)`);
  return JSON.parse(readFileSync(path, 'utf8')) as RuntimeFile;
}

/** Edits the sites config in place; the edited text is checked like a start would check it before it is written. */
function editConfig(file: string, edit: (sites: { items: unknown[] } & { add(v: unknown): void }) => void): void {
  const doc = parseDocument(readFileSync(file, 'utf8'));
  edit(doc.get('sites') as never);
  const text = doc.toString();
  parseSites(text, file);
  writeFileSync(file, text);
}

export async function addSite(values: SiteValues): Promise<{ site: string; copied: number; caughtUp: number; branch: string | null }> {
  const { id, name, address } = values;
  if (!id || !name || !address) throw new Error('libfed sites add needs --id, --name and --address');
  const file = resolveConfig(values.config);
  const target = findTarget(values);
  if (!target.config.sites.some((s) => s.id === id)) {
    // The URL is the launcher's to choose on a chain on port 0; the config's own port follows the others'.
    const port = Math.max(...target.config.sites.map((s) => Number(new URL(s.url).port) || 0)) + 1;
    editConfig(file, (sites) => sites.add({ id, name, address, url: `http://127.0.0.1:${port}`, database: values.database ?? 'pglite' }));
  }
  const until = Date.now() + values['wait-ms'];
  let started: { id: string; url: string } | undefined;
  while (!(started = runtime(values).sites.find((s) => s.id === id))) {
    if (Date.now() > until) throw new ChainUnreachable(`the launcher did not start site ${id} within ${values['wait-ms']} ms; see its log`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const [first, ...others] = runtime(values).gateways;
  const site = { id, name, address, url: started.url };
  const seeded = await adminCall<{ site: string; copied: number; caughtUp: number; branch: string | null }>({ ...target, gatewayUrl: first.url }, '/admin/sites/add', { site, join: true }, values['wait-ms']);
  for (const g of others) await adminCall({ ...target, gatewayUrl: g.url }, '/admin/sites/add', { site, join: false });
  return seeded;
}

export async function removeSite(values: SiteValues): Promise<{ site: string; removed: boolean; holds: unknown }> {
  const { id } = values;
  if (!id) throw new Error('libfed sites remove needs --id');
  const target = findTarget(values);
  const answers = [];
  for (const g of runtime(values).gateways) answers.push(await adminCall<{ site: string; removed: boolean; holds: unknown }>({ ...target, gatewayUrl: g.url }, '/admin/sites/remove', { site: id, force: values.force }));
  const removed = answers.every((a) => a.removed);
  if (removed) editConfig(resolveConfig(values.config), (sites) => (sites.items = sites.items.filter((item) => (item as { get(k: string): unknown }).get('id') !== id)));
  return { site: id, removed, holds: answers[0]?.holds ?? null };
}
