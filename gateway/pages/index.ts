import type { IncomingMessage, ServerResponse } from 'node:http';
import { explorerAssets, type ExplorerChoice } from './explorer';
import { reportsAssets } from './reports';
import { preparedAssets, SAME_ORIGIN_ONLY, serveAsset, type Asset } from './static';

export { EXPLORER_CHOICES, isExplorerChoice, type ExplorerChoice } from './explorer';
export { EXAMPLE_OPERATIONS, type ExampleOperation } from './examples';

export interface BrowserPagesOptions {
  introspection: boolean;
  /** What `/` and `/graphql` show a browser: a page linking both explorers (the default), Apollo Sandbox, or GraphiQL. */
  explorer: ExplorerChoice;
  graphqlPath?: string;
}

/** Folders whose every path is answered here: one the table lacks is 404, never passed on. */
const OWN_PREFIXES = ['/explorer/', '/reports/'];

/**
 * The gateway's pages for people with a browser: the explorer (`/explorer/`),
 * the managers' reports (`/reports/`) and what a browser gets at `/` and `/graphql`. Answers the request and
 * returns true, or returns false for every request that is not for a page
 * (GraphQL over GET or POST included), which the caller serves as before.
 */
export function browserPages(options: BrowserPagesOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  const graphqlPath = options.graphqlPath ?? '/graphql';
  const explorer = explorerAssets({ introspection: options.introspection, graphqlPath });
  const files: Record<string, Asset> = { ...explorer.files, ...reportsAssets({ introspection: options.introspection, graphqlPath }) };
  const entry = explorer.pages[options.explorer];
  const prepared = preparedAssets();
  // Sandbox's page loads Apollo's script and frame: only the offline pages are held to this origin.
  const headersOf = (asset: Asset): Record<string, string> => (asset === explorer.pages.sandbox ? {} : { 'content-security-policy': SAME_ORIGIN_ONLY });
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://gateway');
    const path = url.pathname;
    if ((path === '/' || path === graphqlPath || path === `${graphqlPath}/`) && wantsPage(req, url)) {
      serveAsset(req, res, entry, prepared, headersOf(entry));
      return true;
    }
    const asset = Object.hasOwn(files, path) ? files[path] : undefined;
    if (asset) {
      serveAsset(req, res, asset, prepared, headersOf(asset));
      return true;
    }
    if (!OWN_PREFIXES.some((p) => path.startsWith(p))) return false;
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' });
    res.end(`no page ${path}: the explorer is at /explorer/, the reports at /reports/\n`);
    return true;
  };
}

/** A browser navigating to the address, not a GraphQL request over GET (which carries `query`) nor a client asking for JSON. */
function wantsPage(req: IncomingMessage, url: URL): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  if (url.searchParams.has('query')) return false;
  return /\btext\/html\b/.test(String(req.headers.accept ?? ''));
}
