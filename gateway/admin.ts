import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorJson, SITE_ID } from '../schema';
import { NonceCache, readBody, sendJson, verify } from '../platform';
import { describeIssues, repairRequestSchema, replicaKey } from '../contracts';
import type { MutationService } from './coordinator';
import type { SiteChanges } from './sites';
import { z } from 'zod';

const siteId = z.string().regex(SITE_ID);
const addSiteSchema = z.object({ site: z.object({ id: siteId, url: z.string().url(), name: z.string().min(1).max(255), address: z.string().min(1).max(255) }), join: z.boolean().default(false) });
const removeSiteSchema = z.object({ site: siteId, force: z.boolean().default(false) });

/**
 * The operator's endpoints (`libfed recover`, `libfed check-replicas
 * --repair`): `POST /admin/recover` runs a recovery round now, `POST
 * /admin/repair-replicas` makes replicated rows equal at every site through
 * the coordinator. They are signed like site calls, with the chain's site
 * secret: whoever holds it can already write at every site, so it grants
 * nothing new, and no staff token can reach them.
 */
export interface AdminRoutes {
  /** Answers `path` if it is an admin route; false otherwise. */
  serve(path: string, req: IncomingMessage, res: ServerResponse): Promise<boolean>;
}

const MAX_BODY_BYTES = 4 * 1024 * 1024;

export function adminRoutes(o: { siteSecrets: readonly string[]; mutations: MutationService; sites: SiteChanges }): AdminRoutes {
  const nonces = new NonceCache();
  return {
    async serve(path, req, res) {
      if (!path.startsWith('/admin/')) return false;
      if (req.method !== 'POST') {
        sendJson(res, 405, { errors: [errorJson('BAD_REQUEST', `${path} takes POST only`)] });
        return true;
      }
      const raw = await readBody(req, MAX_BODY_BYTES);
      const verdict = verify(req.headers, 'POST', req.url ?? path, raw, o.siteSecrets, Date.now(), nonces);
      if (!verdict.ok) {
        sendJson(res, 401, { errors: [errorJson('UNAUTHENTICATED', `${path} serves only calls signed with the chain's site secret: ${verdict.reason}`)] });
        return true;
      }
      if (path === '/admin/recover') {
        sendJson(res, 200, await o.mutations.recoverNow());
        return true;
      }
      let body: unknown;
      try {
        body = JSON.parse(raw || '{}');
      } catch {
        sendJson(res, 400, { errors: [errorJson('BAD_REQUEST', 'the body is not JSON')] });
        return true;
      }
      // `libfed sites add|remove` (gateway/sites): the site list changes without a restart.
      if (path === '/admin/sites/add' || path === '/admin/sites/remove') {
        const add = path === '/admin/sites/add' ? addSiteSchema.safeParse(body) : undefined;
        const remove = add ? undefined : removeSiteSchema.safeParse(body);
        const issues = add && !add.success ? add.error : remove && !remove.success ? remove.error : undefined;
        if (issues) {
          sendJson(res, 400, { errors: [errorJson('BAD_REQUEST', describeIssues(issues))] });
          return true;
        }
        try {
          if (add?.success) sendJson(res, 200, await o.sites.add(add.data.site, { join: add.data.join }));
          else if (remove?.success) sendJson(res, 200, await o.sites.remove(remove.data.site, { force: remove.data.force }));
        } catch (error) {
          const code = (error as { extensions?: { code?: string } }).extensions?.code ?? 'INTERNAL_SERVER_ERROR';
          sendJson(res, 409, { errors: [errorJson(code as never, (error as Error).message)] });
        }
        return true;
      }
      if (path === '/admin/repair-replicas') {
        const parsed = repairRequestSchema.safeParse(body);
        if (!parsed.success) {
          sendJson(res, 400, { errors: [errorJson('BAD_REQUEST', describeIssues(parsed.error))] });
          return true;
        }
        sendJson(res, 200, { repaired: await repairEach(o.mutations, parsed.data.repairs) });
        return true;
      }
      sendJson(res, 404, { errors: [errorJson('BAD_REQUEST', `no admin route ${path}: there are /admin/recover, /admin/repair-replicas, /admin/sites/add and /admin/sites/remove`)] });
      return true;
    },
  };
}

/** One transaction per row, in turn: a refused row leaves the others to be repaired, and each answer says which. */
async function repairEach(mutations: MutationService, repairs: Parameters<MutationService['repairReplica']>[0][]) {
  const results = [];
  for (const repair of repairs) {
    const row = { table: repair.row.table, key: replicaKey(repair.row), version: repair.version };
    try {
      results.push({ ...row, outcome: 'COMMITTED', ...(await mutations.repairReplica(repair)) });
    } catch (error) {
      const extensions = (error as { extensions?: { code?: string; gid?: string } }).extensions;
      results.push({ ...row, outcome: extensions?.code === 'TX_IN_DOUBT' ? 'IN_DOUBT' : 'REFUSED', code: extensions?.code ?? 'INTERNAL_SERVER_ERROR', message: (error as Error).message, gid: extensions?.gid ?? null });
    }
  }
  return results;
}
