import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { parseArgs } from 'node:util';
import { httpFailure } from '../contracts';
import { readSupergraph } from '../schema';
import { exitOnSignals, listen, serveApollo } from '../platform';

/**
 * The centralised baseline of `npm run bench`: a plain @apollo/gateway with its
 * default data sources, on the same supergraph, over ONE site that holds all
 * the data. `tsx bench/plain-gateway.ts --site URL` prints a ready line.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({ options: { site: { type: 'string' }, port: { type: 'string', default: '0' } } });
  const site = values.site!.replace(/\/+$/, '');
  const gateway = new ApolloGateway({
    supergraphSdl: readSupergraph(),
    buildService: ({ name }) => new RemoteGraphQLDataSource({ url: `${site}/${name}` }),
  });
  const apollo = new ApolloServer({ gateway, stopOnTerminationSignals: false });
  await apollo.start();
  const http = await listen(Number(values.port), '127.0.0.1', (req, res) => serveApollo(apollo, req, res, async () => ({}), 1024 * 1024), httpFailure);
  console.log(JSON.stringify({ event: 'ready', url: `http://127.0.0.1:${http.port}/graphql` }));
  exitOnSignals(async () => {
    await http.close();
    await apollo.stop();
  });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
