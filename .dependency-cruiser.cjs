/**
 * The import rules between LibFed's folders (docs/ARCHITECTURE.md §8), checked
 * by `npm run lint:imports` as part of `npm test`. Each folder may import only
 * the folders listed for it; bench/, chaos/ and test/ may import anything.
 */
const FOLDERS = ['schema', 'contracts', 'platform', 'sql', 'cache', 'subgraphs', 'gateway', 'launch', 'cli', 'bench', 'chaos', 'test'];
const ALLOWED = {
  schema: [],
  platform: [],
  contracts: ['schema', 'platform'],
  cache: [],
  sql: ['schema'],
  // Demo data: it generates ids (a contract between sites and gateway) and is run as a command.
  'sql/seed': ['schema', 'contracts', 'platform', 'sql'],
  // libfed migrate: run as a command, like the seed.
  'sql/adopt': ['schema', 'platform', 'sql'],
  subgraphs: ['schema', 'contracts', 'platform', 'sql'],
  gateway: ['schema', 'contracts', 'platform', 'cache'],
  launch: ['schema', 'platform'],
  // The operator's command: it speaks the site protocol (contracts) and finds a chain where the launcher left it.
  cli: ['schema', 'contracts', 'platform', 'launch'],
};
const DRIVERS = '^node_modules/(pg|pg-[^/]+|@electric-sql/pglite|mssql|tedious)/';

const folderRules = Object.entries(ALLOWED).map(([from, allowed]) => {
  const top = from.split('/')[0];
  const forbidden = FOLDERS.filter((f) => f !== top && !allowed.includes(f));
  // A subfolder with rules of its own (sql/seed) is not held to its parent's.
  const nested = Object.keys(ALLOWED).filter((f) => f.startsWith(`${from}/`));
  return {
    name: `${from}-imports`,
    comment: `${from}/ may import ${allowed.length ? allowed.join(', ') : 'no other LibFed folder'}`,
    severity: 'error',
    from: { path: `^${from}/`, ...(nested.length ? { pathNot: `^(${nested.join('|')})/` } : {}) },
    to: { path: `^(${forbidden.join('|')})/` },
  };
});

module.exports = {
  forbidden: [
    ...folderRules,
    {
      name: 'no-database-driver-outside-sites',
      comment: 'only sql/ (and the tools that run the chain) load a database driver',
      severity: 'error',
      from: { path: '^(schema|contracts|platform|cache|gateway|launch|cli)/' },
      to: { path: DRIVERS },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(data|dist)/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
