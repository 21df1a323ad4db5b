import { EXAMPLE_OPERATIONS } from './examples';
import { htmlPage, pageFile, vendorFile, type Asset } from './static';

/** What a browser opening the gateway's address (`/`, `/graphql`) gets. */
export const EXPLORER_CHOICES = ['landing', 'sandbox', 'graphiql'] as const;
export type ExplorerChoice = (typeof EXPLORER_CHOICES)[number];

export function isExplorerChoice(value: string): value is ExplorerChoice {
  return (EXPLORER_CHOICES as readonly string[]).includes(value);
}

export interface ExplorerOptions {
  /** Off with `--no-introspection`: the pages still load, say so, and GraphiQL asks for no schema. */
  introspection: boolean;
  graphqlPath: string;
}

/** What every explorer page reads from its `libfed-config` block. */
function pageConfig(o: ExplorerOptions) {
  return { graphqlPath: o.graphqlPath, introspection: o.introspection, examples: EXAMPLE_OPERATIONS };
}

const INTROSPECTION_OFF =
  'Schema introspection is turned off on this gateway (it was started with --no-introspection): the explorer shows no schema, documentation or completion. Operations still run.';

/**
 * The explorer's files: GraphiQL and React as their packages ship them (UMD
 * builds, nothing fetched from elsewhere), LibFed's pages, and the page that
 * loads Apollo Sandbox from Apollo's servers when the browser can reach them.
 */
export function explorerAssets(o: ExplorerOptions): { pages: Record<ExplorerChoice, Asset>; files: Record<string, Asset> } {
  const config = pageConfig(o);
  const notice = o.introspection ? '' : INTROSPECTION_OFF;
  const pages = {
    landing: htmlPage('landing.html', { notice }, config),
    sandbox: htmlPage('sandbox.html', { notice: o.introspection ? '' : `${INTROSPECTION_OFF} Apollo Sandbox needs the schema: use the offline explorer.` }, config),
    graphiql: htmlPage('explorer.html', { notice }, config),
  };
  const files: Record<string, Asset> = {
    '/explorer': pages.graphiql,
    '/explorer/': pages.graphiql,
    '/explorer/sandbox': pages.sandbox,
    '/explorer/graphiql.min.js': vendorFile('graphiql', 'graphiql.min.js', 'js'),
    '/explorer/graphiql.min.css': vendorFile('graphiql', 'graphiql.min.css', 'css'),
    '/explorer/react.production.min.js': vendorFile('react', 'umd/react.production.min.js', 'js'),
    '/explorer/react-dom.production.min.js': vendorFile('react-dom', 'umd/react-dom.production.min.js', 'js'),
    '/explorer/explorer.js': pageFile('explorer.js', 'js'),
    '/explorer/sandbox.js': pageFile('sandbox.js', 'js'),
    '/explorer/session.js': pageFile('session.js', 'js'),
    '/explorer/pages.css': pageFile('pages.css', 'css'),
  };
  return { pages, files };
}
