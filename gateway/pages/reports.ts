import { htmlPage, pageFile, vendorFile, type Asset } from './static';

/**
 * The managers' reports page (`/reports/`): plain HTML and one script that
 * asks the public GraphQL API, with Chart.js from its package's UMD build.
 * Which reports it shows is the table at the top of assets/reports.js.
 */
export function reportsAssets(o: { graphqlPath: string; introspection: boolean }): Record<string, Asset> {
  const page = htmlPage('reports.html', {}, { graphqlPath: o.graphqlPath, introspection: o.introspection });
  return {
    '/reports': page,
    '/reports/': page,
    '/reports/reports.js': pageFile('reports.js', 'js'),
    '/reports/reports.css': pageFile('reports.css', 'css'),
    '/reports/chart.umd.js': vendorFile('chart.js', 'dist/chart.umd.js', 'js'),
  };
}
