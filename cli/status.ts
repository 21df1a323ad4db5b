import type { InDoubt, ReplicatedTable } from '../contracts';
import { ChainUnreachable, getJson, participants, type Target } from './target';

/**
 * `libfed status`: every site's health and readiness, the gateway's view of
 * each site (phi and breaker, when the gateway's `/ready` reports them),
 * participants still prepared (in doubt once past their deadline), and the
 * replicated tables' highest version and checksum per site.
 */
export interface SiteStatus {
  id: string;
  url: string;
  pid: number | null;
  health: 'ok' | 'unreachable' | 'failing';
  ready: boolean | null;
  reason: string | null;
  /** From the gateway's /ready body, when it has them; null otherwise. */
  phi: number | null;
  breaker: string | null;
  prepared: number | null;
  inDoubt: number | null;
  locks: number | null;
  replicas: Partial<Record<ReplicatedTable, { rows: number; maxVersion: number; checksum: string }>> | null;
}

export interface ChainStatus {
  gateway: { url: string; health: 'ok' | 'unreachable' | 'failing'; ready: boolean | null };
  sites: SiteStatus[];
  inDoubt: (InDoubt & { site: string })[];
  /** Whether every site's replicated tables have the same checksums; null when some site did not say. */
  replicasAgree: boolean | null;
  source: string;
}

const healthOf = (answer: { status: number } | undefined) => (!answer ? 'unreachable' : answer.status === 200 ? 'ok' : 'failing');

export async function chainStatus(target: Target, now = Date.now()): Promise<ChainStatus> {
  const base = (url: string) => url.replace(/\/graphql\/?$/, '').replace(/\/+$/, '');
  const gatewayBase = base(target.gatewayUrl);
  const [gatewayHealth, gatewayReady] = await Promise.all([getJson(`${gatewayBase}/health`), getJson(`${gatewayBase}/ready`)]);
  const readyBody = gatewayReady?.body as { ready?: boolean; sites?: { site: string; phi?: number; breaker?: string }[] } | undefined;
  const client = target.secrets ? participants(target, 3000) : undefined;
  const inDoubt: ChainStatus['inDoubt'] = [];
  const sites = await Promise.all(
    target.sites.map(async (site): Promise<SiteStatus> => {
      const [health, ready] = await Promise.all([getJson(`${base(site.url)}/health`), getJson(`${base(site.url)}/ready`)]);
      const fromGateway = readyBody?.sites?.find((s) => s.site === site.id);
      const status: SiteStatus = {
        id: site.id,
        url: site.url,
        pid: site.pid,
        health: healthOf(health),
        ready: ready ? (ready.body as { ready?: boolean }).ready === true : null,
        reason: ready ? ((ready.body as { reason?: string }).reason ?? null) : 'unreachable',
        phi: typeof fromGateway?.phi === 'number' ? fromGateway.phi : null,
        breaker: typeof fromGateway?.breaker === 'string' ? fromGateway.breaker : null,
        prepared: null,
        inDoubt: null,
        locks: null,
        replicas: null,
      };
      if (!client || status.health === 'unreachable') return status;
      try {
        const [tx, summary] = await Promise.all([client.call(site.id, 'status', {}), client.call(site.id, 'replica-summary', {})]);
        const past = tx.prepared.filter((p) => new Date(p.deadline).getTime() <= now);
        inDoubt.push(...past.map((p) => ({ site: site.id, ...p })));
        status.prepared = tx.prepared.length;
        status.inDoubt = past.length;
        status.locks = tx.locks;
        status.replicas = Object.fromEntries(summary.tables.map(({ table, ...rest }) => [table, rest]));
      } catch {
        // The site answers /health but not signed calls (another chain's secret, or busy): its columns stay n/a.
      }
      return status;
    }),
  );
  if (gatewayHealth === undefined && sites.every((s) => s.health === 'unreachable')) {
    const tried = [`gateway ${target.gatewayUrl}`, ...target.sites.map((s) => `${s.id} ${s.url}`)].join(', ');
    throw new ChainUnreachable(`no process of the chain answered; tried ${tried} (addresses from ${target.source})`);
  }
  return {
    gateway: { url: target.gatewayUrl, health: healthOf(gatewayHealth), ready: readyBody ? readyBody.ready === true : null },
    sites,
    inDoubt,
    replicasAgree: agreement(sites),
    source: target.source,
  };
}

function agreement(sites: SiteStatus[]): boolean | null {
  if (sites.some((s) => !s.replicas)) return null;
  const fingerprints = new Set(sites.map((s) => JSON.stringify(Object.entries(s.replicas!).map(([t, r]) => [t, r!.checksum]))));
  return fingerprints.size === 1;
}

const na = (v: unknown) => (v === null || v === undefined ? 'n/a' : String(v));

/** The status as a table for people. */
export function statusTable(s: ChainStatus): string {
  const header = ['site', 'url', 'pid', 'health', 'ready', 'phi', 'breaker', 'prepared', 'in-doubt', 'locks', 'SACH v', 'CHINHANH v', 'staff v'];
  const rows = s.sites.map((site) => [
    site.id,
    site.url,
    na(site.pid),
    site.health,
    site.ready === null ? 'n/a' : site.ready ? 'yes' : `no${site.reason ? ` (${site.reason})` : ''}`,
    site.phi === null ? 'n/a' : site.phi.toFixed(2),
    na(site.breaker),
    na(site.prepared),
    na(site.inDoubt),
    na(site.locks),
    na(site.replicas?.SACH?.maxVersion),
    na(site.replicas?.CHINHANH?.maxVersion),
    na(site.replicas?.libfed_staff?.maxVersion),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  const out = [
    `gateway ${s.gateway.url}: ${s.gateway.health}${s.gateway.ready === null ? '' : s.gateway.ready ? ', ready' : ', not ready'}`,
    '',
    line(header),
    ...rows.map(line),
    '',
    s.inDoubt.length ? `in doubt (past their deadline; libfed recover resolves them):` : 'in doubt: none',
    ...s.inDoubt.map((t) => `  ${t.site} ${t.gid} (commit point ${t.commitSite}, deadline ${t.deadline})`),
    `replicas: ${s.replicasAgree === null ? 'n/a (not every site answered)' : s.replicasAgree ? 'every site has the same checksums' : 'checksums differ; run libfed check-replicas'}`,
  ];
  return `${out.join('\n')}\n`;
}
