import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { parseArgs } from 'node:util';
import { httpFailure } from '../contracts';
import { readSupergraph } from '../schema';
import { responseCachePlugin } from './response-cache';
import { exitOnSignals, listen, parseSecrets, requestSigner, serveApollo, SITE_SECRETS_ENV, type RequestSigner } from '../platform';

/**
 * The default data source, its requests signed as a site demands (platform/signing.ts). Signed in
 * the fetcher, not in `willSendRequest`: the body is serialised only after that hook, and the
 * signature must cover the exact bytes sent. The fetcher itself stays the default, so the
 * baseline's transport is the plain gateway's.
 */
class SignedDataSource extends RemoteGraphQLDataSource {
  constructor(url: string, sign: RequestSigner) {
    super({ url });
    const send = this.fetcher;
    this.fetcher = (target, init = {}) => send(target, { ...init, headers: { ...init.headers, ...sign(init.method ?? 'GET', target, init.body ?? '') } });
  }
}

/**
 * The centralised baseline of `npm run bench`: a plain @apollo/gateway with its
 * default data sources, on the same supergraph, over ONE site that holds all
 * the data. `tsx bench/plain-gateway.ts --site URL [--response-cache-ttl-s N]`
 * prints a ready line; with a TTL it keeps whole responses that long
 * (bench/response-cache.ts). LIBFED_SITE_SECRETS, as for any gateway, holds the
 * secret it signs with.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({ options: { site: { type: 'string' }, port: { type: 'string', default: '0' }, 'response-cache-ttl-s': { type: 'string' } } });
  const ttlS = Number(values['response-cache-ttl-s'] ?? 0);
  const site = values.site!.replace(/\/+$/, '');
  const sign = requestSigner(parseSecrets(process.env[SITE_SECRETS_ENV])[0]);
  const gateway = new ApolloGateway({
    supergraphSdl: readSupergraph(),
    buildService: ({ name }) => new SignedDataSource(`${site}/${name}`, sign),
  });
  const apollo = new ApolloServer({ gateway, stopOnTerminationSignals: false, plugins: ttlS > 0 ? [responseCachePlugin({ ttlMs: ttlS * 1000 })] : [] });
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
