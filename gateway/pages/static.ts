import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';

/**
 * Serving the browser pages' files. Every URL a page may load is a key of one
 * table, each naming its file on disk: a request path is looked up, never
 * joined onto a directory, so no path (`/explorer/../../etc/passwd`, an
 * encoded dot, a symlink) reaches a file the table does not name.
 */
export interface Asset {
  /** Bytes of the answer: read once, on first use. */
  body: () => Buffer;
  contentType: string;
  /**
   * `vendor`: a file of an installed package, cached by the browser for a day
   * (a deploy of another version changes its ETag, and the day bounds a stale copy);
   * `page`: LibFed's own files, revalidated on every load (cheap: a 304);
   * `html`: pages, never stored (they carry the gateway's settings).
   */
  caching: 'vendor' | 'page' | 'html';
}

export const CONTENT_TYPES = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
} as const;

const CACHE_CONTROL: Record<Asset['caching'], string> = {
  vendor: 'public, max-age=86400',
  page: 'no-cache',
  html: 'no-store',
};

/**
 * Nothing but this gateway: scripts, styles, fonts and fetches from its own
 * origin (inline styles because GraphiQL's editor sets them; `data:` for the
 * fonts its stylesheet inlines). The offline pages need no more, and a browser
 * refuses anything else even if a script asked for it.
 */
export const SAME_ORIGIN_ONLY =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'self'; base-uri 'none'; form-action 'self'";

/** The folder of an installed package, found the way Node finds it (packages whose `exports` hide their other files included). */
export function packageDir(name: string): string {
  let dir = dirname(require.resolve(name));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === name) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`package ${name} is not installed (npm ci installs it)`);
    dir = parent;
  }
}

/** A file of an installed package, e.g. `vendorFile('react', 'umd/react.production.min.js', 'js')`. */
export function vendorFile(pkg: string, file: string, kind: keyof typeof CONTENT_TYPES): Asset {
  return { body: once(() => readFileSync(join(packageDir(pkg), file))), contentType: CONTENT_TYPES[kind], caching: 'vendor' };
}

/** A file of gateway/pages/assets. */
export function pageFile(file: string, kind: keyof typeof CONTENT_TYPES): Asset {
  return { body: once(() => readFileSync(join(__dirname, 'assets', file))), contentType: CONTENT_TYPES[kind], caching: 'page' };
}

/**
 * A page of gateway/pages/assets with `{{>part}}` replaced by the markup every
 * page shares (`assets/_part.html`: the head's meta lines, the login bar),
 * `{{name}}` by the HTML-escaped value of `fields[name]`, and `{{config}}` by
 * a JSON data block (not run as a script, so the same-origin policy above
 * holds; `<` escaped so no value ends it).
 */
export function htmlPage(file: string, fields: Record<string, string>, config: unknown): Asset {
  return {
    body: once(() => {
      const asset = (name: string) => readFileSync(join(__dirname, 'assets', name), 'utf8');
      const template = asset(file).replace(/\{\{>(\w+)\}\}/g, (_, part: string) => asset(`_${part}.html`).replace(/\n$/, ''));
      const json = JSON.stringify(config).replace(/</g, '\\u003c');
      const filled = template.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
        if (name === 'config') return `<script type="application/json" id="libfed-config">${json}</script>`;
        if (!(name in fields)) throw new Error(`${file}: no value for {{${name}}}`);
        return escapeHtml(fields[name]);
      });
      return Buffer.from(filled);
    }),
    contentType: CONTENT_TYPES.html,
    caching: 'html',
  };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function once<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}

/** Each asset's bytes, gzip and ETag, made on first use: one map per server. */
export function preparedAssets(): Map<Asset, Prepared> {
  return new Map();
}

interface Prepared {
  raw: Buffer;
  gzip: Buffer;
  etag: string;
}

/**
 * Answers GET and HEAD for the assets of `table` (with ETag, 304 and gzip when
 * the browser takes it); any other method is 405. `headers` are added to every
 * answer (a Content-Security-Policy).
 */
export function serveAsset(req: IncomingMessage, res: ServerResponse, asset: Asset, prepared: Map<Asset, Prepared>, headers: Record<string, string> = {}): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
    return void res.end(`${req.method} is not served here: this is a page of the gateway; GraphQL is at /graphql\n`);
  }
  let p = prepared.get(asset);
  if (!p) {
    const raw = asset.body();
    // Compressed once per file: GraphiQL's bundle is 3.5 MB and about 0.8 MB gzipped.
    p = { raw, gzip: gzipSync(raw), etag: `"${createHash('sha256').update(raw).digest('base64url').slice(0, 27)}"` };
    prepared.set(asset, p);
  }
  const common = { 'content-type': asset.contentType, 'cache-control': CACHE_CONTROL[asset.caching], etag: p.etag, vary: 'accept-encoding', 'x-content-type-options': 'nosniff', ...headers };
  if (asset.caching !== 'html' && req.headers['if-none-match'] === p.etag) {
    res.writeHead(304, common);
    return void res.end();
  }
  const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  const body = gzip ? p.gzip : p.raw;
  res.writeHead(200, { ...common, 'content-length': String(body.length), ...(gzip ? { 'content-encoding': 'gzip' } : {}) });
  res.end(req.method === 'HEAD' ? undefined : body);
}
