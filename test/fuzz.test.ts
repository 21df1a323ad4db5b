import { createHmac, randomBytes } from 'node:crypto';
import { maxHeaderSize } from 'node:http';
import fc from 'fast-check';
import { TX_ACTIONS, type TxAction } from '../contracts';
import { sign, SIGNATURE_HEADERS, signFetch } from '../platform';
import { ERROR_CODES, SUBGRAPHS, type ErrorCode } from '../schema';
import { COPY_STATUS } from '../sql/migrations';
import type { DemoData } from '../sql/seed';
import { chainChecksum, type Checksum } from './checksum';
import { demoData, loanId } from './fixture';
import { startTestChain, type TestChain } from './harness';

/**
 * A fuzz test: well over 1,000 generated hostile requests (fast-check), to
 * the gateway and straight to the sites, against one real chain.
 *
 * To the gateway: bodies that are not JSON, JSON that is not a GraphQL
 * request, batches, syntax errors, queries nested past the depth limit,
 * alias, directive and token floods, fragment cycles and bombs, huge strings,
 * SQL-injection and odd Unicode strings in every argument of the real read
 * queries (inline and as variables), wrongly typed variables, unknown ids,
 * crafted cursors, odd methods and content types; from anonymous callers, a
 * librarian and the manager, and with forged, tampered, re-signed and expired
 * bearer tokens. Hostile mutations too, but only ones that cannot succeed:
 * anonymous or forged-token ones, a librarian's at another branch or of the
 * manager's only, and the manager's with arguments that name nothing, are
 * too long or name no branch.
 *
 * Straight to the sites: every subgraph endpoint and every `/tx/<action>`,
 * unsigned, with garbage or wrong signatures, stale, tampered, replayed; and
 * signed requests that cannot change anything (malformed bodies, hostile
 * reads).
 *
 * What it shows: every gateway answer is HTTP < 500 and JSON, and is either
 * a result without errors or a list of errors that each carry a message and
 * an `extensions.code` of the catalogue (schema/errors.ts) — and never one of
 * the catalogue's codes that, with every site up and one request at a time,
 * mean a bug or a failure (NEVER: INTERNAL_SERVER_ERROR, BRANCH_UNAVAILABLE,
 * TX_IN_DOUBT, ...). Every mutation answers null with a code, a forged token
 * UNAUTHENTICATED. Every site answer is < 500 and JSON, a badly signed one
 * 401 UNAUTHENTICATED, a signed one never an internal error. Afterwards
 * every process is alive and every site database's checksum (test/checksum.ts:
 * the audit trail and the participant's log of finished transactions, which
 * grow with refusals, left out) is what it was before.
 *
 * The last test prints what the gateway answered, by code.
 */

/** Runs per property; they sum to over 1,000 requests (a few runs send two). */
const RUNS = { envelope: 300, reads: 500, tokens: 120, mutations: 300, sitesUnsigned: 200, sitesSigned: 200 };
/**
 * Codes that are in the catalogue but must not answer a hostile request while every site is up: a bug,
 * a site that failed, or a transaction left undecided or holding a lock (requests are sent one at a time).
 */
const NEVER: ErrorCode[] = ['INTERNAL_SERVER_ERROR', 'BRANCH_UNAVAILABLE', 'TX_IN_DOUBT', 'TX_LOCK_TIMEOUT', 'TX_COMMITTED_READ_FAILED'];
const LIBRARIAN = 'thuthu_q1';
const MANAGER = 'quanly';
/** Larger than the gateway's string cap (1000) in ASCII, so its length is over the cap however it is counted. */
const OVER_CAP = { min: 1100, max: 4000 };
/** A request not answered by then is a hung process: the property fails, naming it. */
const TIMEOUT_MS = 30_000;

// ---------------------------------------------------------------------------------------------
// Shared state, set in beforeAll.

let chain: TestChain;
let data: DemoData;
let before: Checksum;
const tokens: Record<string, string> = {};
/** A real cursor of each list, read as the manager, to craft hostile ones from. */
const cursors: Record<string, string> = {};
/** The JWT secret of this chain's gateway: set before the chain starts, so an expired token can be signed with it. */
const JWT_SECRET = randomBytes(32).toString('hex');
let sent = 0;
let startedAt = 0;
/** The gateway's recent log lines (its stdout and stderr), to show the entry an INTERNAL_SERVER_ERROR's `ref` names. */
const gatewayLog: string[] = [];
/** Each site's last log lines, to say why a site stopped answering. */
const siteLogs = new Map<string, string[]>();

/** Keeps the last `max` lines a process writes (its JSON log lines on stdout, anything on stderr) in `into`. */
function follow(child: TestChain['gateway']['child'], into: string[], max: number): void {
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on('data', (chunk: Buffer) => {
      into.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      into.splice(0, Math.max(0, into.length - max));
    });
  }
}

/** `fetch`, but a failure (a process that died or hung) says which process, how it ended and what it last logged. */
async function fetchFrom(target: TestChain['gateway'], log: string[], url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (error) {
    const { exitCode, signalCode } = target.child;
    throw new Error(`${target.name} did not answer (${String(error)}${exitCode !== null || signalCode !== null ? `; it exited, code ${exitCode}, signal ${signalCode}` : ''}); its last log lines:\n${cut(log.slice(-15).join('\n'), 3000)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Showing a request: fast-check prints a counterexample with this, long strings cut.

function cut(value: unknown, max = 400): string {
  const s = typeof value === 'string' ? value : value instanceof Uint8Array ? `bytes ${Buffer.from(value).toString('hex')}` : (JSON.stringify(value) ?? String(value));
  return s.length > max ? `${s.slice(0, max - 100)}…[${s.length} chars]…${s.slice(-80)}` : s;
}

/** `request`, printed by fast-check through `describe`. */
function shown<T extends object>(request: T, describe: (r: T) => string): T {
  Object.defineProperty(request, fc.toStringMethod, { value: () => describe(request), enumerable: false });
  return request;
}

// ---------------------------------------------------------------------------------------------
// Hostile values.

/** An enum value: written bare inline (`role: THUTHU`), as its name in variables. */
class EnumValue {
  constructor(readonly name: string) {}
  toJSON(): string {
    return this.name;
  }
}

/** Strings an attacker tries in every argument: SQL, LIKE patterns, NUL, escapes, Vietnamese and astral Unicode. */
const NASTY = [
  "'; DROP TABLE SACH;--",
  "' OR '1'='1",
  '1 OR 1=1',
  "1' OR 1=1 --",
  "'); DELETE FROM DOCGIA; --",
  "'; UPDATE QUYENSACH SET TinhTrang = 'ON_LOAN';--",
  "' UNION SELECT username, password_hash FROM libfed_staff --",
  "'; SELECT pg_sleep(3);--",
  "Q1-QS00001' OR 'a'='a",
  "quanly'--",
  '%',
  '_',
  '%%',
  'a%',
  '\\',
  "\\'",
  '"',
  '`',
  '$1',
  '?',
  ':name',
  '\u0000',
  'Q1\u0000',
  'a\u0000b',
  '',
  ' ',
  '\n\r\t',
  '\uFEFF',
  '\u202Eesrever',
  '\u200B',
  'Nguyễn Văn Ánh',
  'Trần Thị Ưu Đãi – Lịch sử Việt Nam',
  'Q１',
  'İı ß ﬁ',
  '𝕷𝖎𝖇𝕱𝖊𝖉 😀 🏳️‍🌈 𠜎𠜱',
  '\uD800',
  '\uDFFF\uD800',
  'null',
  'undefined',
  'NaN',
  '-1',
  '1e309',
  '{{7*7}}',
  '${jndi:ldap://x/a}',
  '<script>alert(1)</script>',
  '../../etc/passwd',
  '__proto__',
  'constructor',
];

const nasty = fc.constantFrom(...NASTY);
/** Strings of moderate length: the list above, random Unicode (lone surrogates too), and mixtures. */
const hostileShort: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: nasty },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
  { weight: 1, arbitrary: fc.tuple(nasty, fc.string({ unit: 'grapheme', maxLength: 10 }), nasty).map((p) => p.join('')) },
);
/** ASCII over the string cap: refused whatever the rest of the request is. */
const overCap = fc.tuple(fc.integer(OVER_CAP), fc.constantFrom('x', "'; DROP TABLE SACH;--", '%_')).map(([n, s]) => s.repeat(Math.ceil(n / s.length)).slice(0, n));
/** 10 KB to 300 KB: over the string cap, and near or over the body limit (256 KiB). */
const huge = fc.tuple(fc.integer({ min: 10_000, max: 300_000 }), fc.constantFrom('a', 'ắ', '😀', "' OR 1=1 --")).map(([n, s]) => s.repeat(Math.ceil(n / s.length)));
const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 12, arbitrary: hostileShort },
  { weight: 2, arbitrary: overCap },
  { weight: 1, arbitrary: huge },
);
/** A value of the wrong type for whatever argument it goes to. */
const wrongType: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(-1, 0, 1e9, 1.5, -0.5, 2 ** 31, -(2 ** 31) - 1, Number.MAX_SAFE_INTEGER, 1e21, true, false, null, [], {}, [null], ['Q1'], { id: 'Q1' }, { $ne: null }),
  fc.double(),
  fc.array(hostileShort, { maxLength: 3 }),
  fc.dictionary(fc.constantFrom('a', 'id', 'isbn', '__proto__', 'constructor'), hostileShort, { maxKeys: 3 }),
);
/** Values of `first`: out of range, not integers, not numbers. */
const pageSize: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(-1, 0, 1, 100, 101, 1e9, 1.5, 2 ** 31, -(2 ** 31), Number.MAX_SAFE_INTEGER, 1e21, '5', '-1', null, true),
  fc.integer(),
  fc.double(),
);
const dateTime: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom('2026-01-01T00:00:00.000Z', '2026-13-45T99:99:99Z', '0000-01-01T00:00:00Z', '+275760-09-13T00:00:00.000Z', '-000001-01-01T00:00:00Z', '2026-01-01', '1', 'yesterday'),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  hostileShort,
);

/** A real cursor changed: one of its values replaced by a hostile one (kept otherwise well formed), or garbage. */
function cursor(list: string): fc.Arbitrary<unknown> {
  const real = cursors[list];
  const decoded = real ? (JSON.parse(Buffer.from(real, 'base64url').toString('utf8')) as unknown) : [];
  const parts = Array.isArray(decoded) ? decoded : [decoded];
  const replaced = fc.tuple(fc.nat({ max: Math.max(0, parts.length - 1) }), fc.oneof(hostileShort, wrongType)).map(([i, v]) => {
    const copy = [...parts];
    copy[i] = v;
    return Buffer.from(JSON.stringify(copy)).toString('base64url');
  });
  return fc.oneof(
    { weight: 3, arbitrary: replaced },
    { weight: 1, arbitrary: fc.constant(real ?? '') },
    { weight: 1, arbitrary: fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v)).toString('base64url')) },
    { weight: 1, arbitrary: fc.base64String({ maxLength: 80 }) },
    { weight: 2, arbitrary: hostileString },
  );
}

// ---------------------------------------------------------------------------------------------
// Real and unknown ids, from the demo data.

const real = {
  isbn: () => fc.constantFrom(...data.books.slice(0, 20).map((b) => b.isbn)),
  copy: () => fc.constantFrom(...data.copies.filter((_, i) => i % 50 === 0).map((c) => c.id)),
  reader: () => fc.constantFrom(...data.readers.filter((_, i) => i % 15 === 0).map((r) => r.id)),
  loan: () => fc.constantFrom(...data.loans.filter((_, i) => i % 150 === 0).map(loanId)),
  branch: () => fc.constantFrom(...data.branches.map((b) => b.id)),
  username: () => fc.constantFrom(MANAGER, ...data.branches.map((b) => `thuthu_${b.id.toLowerCase()}`)),
};

/** Ids that name nothing: never a real id in another spelling (a site may fold case or trim), but injections that must not match one. */
const unknownId: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: nasty },
  { weight: 2, arbitrary: fc.constantFrom('Q1-QS99999', 'Q3-DG9999', 'Q5-99999999', 'Q1-2147483648', 'Q1-00000000', 'Q1-99999999999', 'QS999999', 'DG99999', 'Q9-QS00001', 'Q9-00000001', '978-0-00-000000-0') },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }).map((s) => `ZZ-${s}`) },
  { weight: 1, arbitrary: overCap },
);
/** Branch ids that name no branch, real ones padded with whitespace among them (keys are taken exactly, by reads and mutations alike). */
const unknownBranch: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('Q9', 'Q2', 'Q10', '', 'Q1\u0000', "Q1' OR '1'='1", "Q1';--", '%', 'Q%', 'Q_', 'Q1,Q3', '*', 'ALL', 'Q１', 'Q1-QS00001') },
  { weight: 2, arbitrary: nasty },
  { weight: 1, arbitrary: overCap },
  { weight: 1, arbitrary: fc.constantFrom('Q1 ', ' Q1', '\tQ3', 'Q5\n', '\uFEFFQ1') },
);
const unknownUsername: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: nasty },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }).map((s) => `nobody_${s}`) },
  { weight: 1, arbitrary: overCap },
);

/** Lending-desk entities at the branches other than the librarian's (Q1): a librarian of Q1 may touch none of them. */
const foreign = {
  branch: () => fc.constantFrom(...data.branches.map((b) => b.id).filter((b) => b !== 'Q1')),
  availableCopy: () => fc.constantFrom(...data.copies.filter((c) => c.branchId !== 'Q1' && c.status === COPY_STATUS.AVAILABLE && /^Q\d-/.test(c.id) && !c.id.startsWith('Q1-')).slice(0, 40)),
  reader: () => fc.constantFrom(...data.readers.filter((r) => r.homeBranchId !== 'Q1' && /^Q\d-/.test(r.id) && !r.id.startsWith('Q1-')).slice(0, 40)),
  openLoan: () => fc.constantFrom(...data.loans.filter((l) => l.branchId !== 'Q1' && l.returnedAt === null).slice(0, 40).map(loanId)),
};

// ---------------------------------------------------------------------------------------------
// Writing operations.

/** One argument: its declared type, the value, and whether it is written inline or passed as a variable. */
interface Arg {
  type: string;
  value: unknown;
  inline: boolean;
  /** A variable declared with another type than the argument's (`$v: Int` for an ID). */
  declared?: string;
}

/** A GraphQL literal of any generated value: strings JSON-escaped (valid GraphQL escapes), enums bare. */
function literal(value: unknown): string {
  if (value instanceof EnumValue) return value.name;
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return `[${value.map(literal).join(', ')}]`;
  if (typeof value === 'object') return `{${Object.entries(value).map(([k, v]) => `${k}: ${literal(v)}`).join(', ')}}`;
  return String(value);
}

interface FieldCall {
  alias?: string;
  name: string;
  args: Record<string, Arg | undefined>;
  /** The selection; `@name` in it stands for the arguments `inner[name]` of a nested field (`copies@copies`). */
  selection: string;
  inner?: Record<string, Record<string, Arg | undefined>>;
}

/** `kind { alias: field(args) { selection } ... }` with the variables its non-inline arguments need. */
function operation(kind: 'query' | 'mutation', calls: FieldCall[]): { query: string; variables: Record<string, unknown> } {
  const declarations: string[] = [];
  const variables: Record<string, unknown> = {};
  const render = (args: Record<string, Arg | undefined>) => {
    const list = Object.entries(args).flatMap(([name, arg]) => {
      if (!arg) return [];
      if (arg.inline) return [`${name}: ${literal(arg.value)}`];
      const v = `v${declarations.length}`;
      declarations.push(`$${v}: ${arg.declared ?? arg.type}`);
      if (arg.value !== undefined) variables[v] = arg.value;
      return [`${name}: $${v}`];
    });
    return list.length ? `(${list.join(', ')})` : '';
  };
  const body = calls.map((call) => {
    const head = `${call.alias ? `${call.alias}: ` : ''}${call.name}${render(call.args)}`;
    const selection = call.selection.replace(/@(\w+)/g, (_, name: string) => render(call.inner?.[name] ?? {}));
    return `${head}${selection ? ` { ${selection} }` : ''}`;
  });
  return { query: `${kind}${declarations.length ? `(${declarations.join(', ')})` : ''} { ${body.join(' ')} }`, variables };
}

/** An argument of `type` whose value comes from `value`: inline or a variable, now and then declared with a wrong type. */
function arg(type: string, value: fc.Arbitrary<unknown>): fc.Arbitrary<Arg> {
  return fc.record({
    type: fc.constant(type),
    value,
    inline: fc.boolean(),
    declared: fc.oneof(
      { weight: 12, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.constantFrom('Int', 'String', 'ID', '[ID]', 'Boolean', 'Float', 'NoSuchType', `${type.replace('!', '')}`) },
    ),
  });
}
/** Sometimes left out (a nullable argument), sometimes explicitly null. */
const optional = (a: fc.Arbitrary<Arg>) => fc.option(a, { freq: 3, nil: undefined });

// ---------------------------------------------------------------------------------------------
// Requests to the gateway.

type Auth = { as: string | null } | { header: string; forgery: string };

interface GatewayRequest {
  what: string;
  method: string;
  /** null: no content-type header. */
  contentType: string | null;
  /** `apollo-require-preflight`, which lets a GET through Apollo's CSRF check. */
  preflight?: boolean;
  search?: string;
  body?: string | Uint8Array;
  auth: Auth;
  /** For a mutation: its root fields (aliases), each of which must answer null with a code; `accept` narrows the codes. */
  mutation?: { fields: string[]; accept?: ErrorCode[] };
}

function showGateway(r: GatewayRequest): string {
  const auth = 'as' in r.auth ? `as ${r.auth.as ?? 'anonymous'}` : `Authorization: ${cut(r.auth.header, 200)} (${r.auth.forgery})`;
  return `[${r.what}] ${r.method} ${r.search ? cut(r.search, 300) : '/graphql'} ${auth} content-type=${r.contentType}${r.preflight ? ' preflight' : ''} body=${r.body === undefined ? '-' : cut(r.body, 600)}`;
}

const post = (what: string, body: string | Uint8Array, auth: Auth, extra: Partial<GatewayRequest> = {}): GatewayRequest =>
  shown({ what, method: 'POST', contentType: 'application/json', body, auth, ...extra }, showGateway);

const callers: fc.Arbitrary<Auth> = fc.constantFrom<Auth>({ as: null }, { as: LIBRARIAN }, { as: MANAGER });

/** Bodies that are not JSON at all. */
const notJson = fc.oneof(
  fc.constantFrom('', '{', '[', '{"query":', '{"query": "{ branches { id } }"', 'query { branches { id } }', '\u0000\u0000', '<?xml version="1.0"?><q/>', 'query=%7B%7D', 'undefined', "{'query': '{ branches { id } }'}", '{"query": "{ branches { id } }",}', '\uFEFF{"query": "{ branches { id } }"}'),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.uint8Array({ minLength: 1, maxLength: 200 }),
);

/** JSON that is not a GraphQL request. */
const notGraphql = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.constantFrom(
    '{}',
    'null',
    '"{ branches { id } }"',
    '{"query": 5}',
    '{"query": null}',
    '{"query": ["{ branches { id } }"]}',
    '{"query": {"kind": "Document"}}',
    '{"query": "{ branches { id } }", "variables": "x"}',
    '{"query": "{ branches { id } }", "variables": [1, 2]}',
    '{"query": "{ branches { id } }", "operationName": 7}',
    '{"query": "{ branches { id } }", "operationName": "Nope"}',
    '{"query": "query A { branches { id } } query B { books { totalCount } }"}',
    '{"query": "{ branches { id } }", "extensions": 5}',
    '{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "abc"}}}',
    '{"query": "{ branches { id } }", "extensions": {"persistedQuery": {"version": 1, "sha256Hash": "0000000000000000000000000000000000000000000000000000000000000000"}}}',
    '{"__proto__": {"isAdmin": true}, "query": "{ branches { id } }"}',
    '{"constructor": {"prototype": {"role": "QUANLY"}}, "query": "{ staffAccounts { username } }"}',
    // Duplicate keys: JSON.parse keeps the last, a mutation that must fail even for the manager (no such account).
    '{"query": "{ branches { id } }", "query": "mutation { setStaffAccountDisabled(username: \\"nobody_fuzz\\", disabled: true) { username } }"}',
  ),
);

/** JSON arrays: batching is off, and a batch must not get past the limits by being one. */
const batches = fc
  .array(fc.oneof(fc.constant({ query: '{ branches { id } }' }), fc.constant({ query: '{ staffAccounts { username } }' }), fc.jsonValue({ maxDepth: 2 })), { maxLength: 50 })
  .chain((ops) => fc.constantFrom(JSON.stringify(ops), JSON.stringify([ops]), `  ${JSON.stringify(ops)}`));

const VALID = '{ books(first: 3, search: "a") { totalCount edges { node { isbn title } } } branches { id name } }';
const SALAD = ['{', '}', '(', ')', '[', ']', 'query', 'fragment', 'on', '...', '@', '$', ':', '"', '"""', '#', 'books', 'first', '1', '1.', '0x1', '!', '=', '|', '&', ',', 'branches', '\\u', '\u0000', '__typename', 'true'];
/** GraphQL with syntax errors: cut short, a character changed, or token salad. */
const syntaxErrors = fc.oneof(
  fc.nat({ max: VALID.length - 2 }).map((n) => VALID.slice(0, n)),
  fc.tuple(fc.nat({ max: VALID.length - 1 }), fc.string({ unit: 'binary', minLength: 1, maxLength: 3 })).map(([i, s]) => VALID.slice(0, i) + s + VALID.slice(i + 1)),
  fc.array(fc.constantFrom(...SALAD), { minLength: 1, maxLength: 60 }).map((t) => t.join(' ')),
  fc.constantFrom('{ books(first: 1) { totalCount ', '{ books(search: "unterminated) { totalCount } }', '{ books(search: """a) { totalCount } }', 'query($: ID) { branches { id } }', '{ branches { id } } }', '{ "\\uD800" }', '{ books(first: 01) { totalCount } }'),
);

/** A chain of object fields, each hop one more level: Reader.loans → Loan.copy → Copy.loans → Loan.reader → ... */
function deepChain(levels: number, start: number): string {
  const hops = ['loans { ', 'copy { ', 'loans { ', 'reader { '];
  let s = '';
  for (let i = 0; i < levels; i++) s += hops[(i + start) % hops.length];
  return `${s}id${' }'.repeat(levels)}`;
}
const deep = fc.oneof(
  fc.integer({ min: 4, max: 60 }).map((n) => `{ reader(id: "Q1-DG0001") { ${deepChain(n, 0)} } }`),
  fc.integer({ min: 4, max: 60 }).map((n) => `{ loans(first: 1) { edges { node { ${deepChain(n, 3)} } } } }`),
  fc.integer({ min: 4, max: 40 }).map((n) => `{ book(isbn: "x") { copies { ${deepChain(n, 2)} } } }`),
  // The same depth through a chain of fragments.
  fc.integer({ min: 4, max: 40 }).map((n) => {
    const frags = Array.from({ length: n }, (_, i) => `fragment F${i} on Reader { id loans { reader { ${i + 1 < n ? `...F${i + 1}` : 'id'} } } }`);
    return `{ reader(id: "Q1-DG0001") { ...F0 } } ${frags.join(' ')}`;
  }),
  // Introspection nested past the limit.
  fc.integer({ min: 4, max: 30 }).map((n) => `{ __schema { types { ${'fields { type { '.repeat(n)}name${' } }'.repeat(n)} } } }`),
  // Deeply nested list literals in an argument.
  fc.integer({ min: 10, max: 2000 }).map((n) => `{ books(search: ${'['.repeat(n)}"a"${']'.repeat(n)}) { totalCount } }`),
);

const ALIASED = ['branches { id }', '__typename', 'books(first: 1) { totalCount }', 'book(isbn: "x\' OR 1=1") { title }', 'loanStats { total }', 'readers(first: 100) { totalCount }'];
const aliasFloods = fc
  .tuple(fc.integer({ min: 20, max: 400 }), fc.constantFrom(...ALIASED), fc.boolean())
  .map(([n, field, reserved]) => `{ ${Array.from({ length: n }, (_, i) => `${reserved && i === 0 ? '__libfed_x' : `a${i}`}: ${field}`).join(' ')} }`);
const directiveFloods = fc.oneof(
  fc.integer({ min: 30, max: 300 }).map((n) => `{ branches { ${Array.from({ length: n }, () => '... @include(if: true) { id }').join(' ')} } }`),
  fc.integer({ min: 2, max: 200 }).map((n) => `{ branches { id ${'@include(if: true) '.repeat(n)} } }`),
  fc.integer({ min: 1, max: 200 }).map((n) => `{ branches { id ${Array.from({ length: n }, (_, i) => `@d${i}`).join(' ')} } }`),
  fc.tuple(fc.integer({ min: 1, max: 60 }), hostileShort).map(([n, s]) => `{ branches { id @skip(if: ${literal(s)}) ${'@deprecated '.repeat(n)}} }`),
);
const tokenFloods = fc.integer({ min: 4000, max: 9000 }).map((n) => `{ branches { ${'id '.repeat(n)}} }`);
const fragmentAttacks = fc.oneof(
  fc.constant('{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }'),
  fc.constant('{ ...A } fragment A on Query { ...A }'),
  // A fragment bomb: each level spreads the next twice, 2^n fields once expanded.
  fc.integer({ min: 5, max: 32 }).map((n) => {
    const frags = Array.from({ length: n }, (_, i) => `fragment F${i} on Query { ${i + 1 < n ? `a${i}: branches { id } ...F${i + 1} ...F${i + 1}` : 'branches { id }'} }`);
    return `{ ...F0 } ${frags.join(' ')}`;
  }),
  fc.constant('{ ...Unknown }'),
  fc.constant('{ ... on Mutation { login(username: "quanly", password: "x") { token } } }'),
  fc.constant('subscription { branches { id } }'),
  fc.constant('{ __schema { types { name fields { name args { name } } } } }'),
  fc.constant('{ __type(name: "Query") { fields { name } } }'),
  hostileShort.map((s) => `{ __type(name: ${literal(s)}) { name } }`),
);

/** `encodeURIComponent` of any string: a lone surrogate (which it refuses) becomes U+FFFD, as a UTF-8 encoder would make it. */
const uri = (s: string) => encodeURIComponent(s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD'));

/** Malformed envelopes: not JSON, not GraphQL, batches, syntax, limits, odd methods and content types, GET. */
function envelopeRequests(): fc.Arbitrary<GatewayRequest> {
  const asJson = (query: string, variables?: unknown) => JSON.stringify({ query, variables });
  const graphql = (what: string, queries: fc.Arbitrary<string>) => fc.tuple(queries, callers).map(([q, auth]) => post(what, asJson(q), auth));
  return fc.oneof(
    fc.tuple(notJson, callers).map(([b, auth]) => post('not JSON', b, auth)),
    fc.tuple(notGraphql, callers).map(([b, auth]) => post('not a GraphQL request', b, auth)),
    fc.tuple(batches, callers).map(([b, auth]) => post('batch', b, auth)),
    graphql('syntax error', syntaxErrors),
    graphql('too deep', deep),
    graphql('alias flood', aliasFloods),
    graphql('directive flood', directiveFloods),
    graphql('token flood', tokenFloods),
    graphql('fragments', fragmentAttacks),
    // Deeply nested variable values.
    fc.tuple(fc.integer({ min: 10, max: 3000 }), fc.constantFrom('String', '[String]', '[[ID]]', 'AddBookInput')).map(([n, type]) =>
      post('deep variable', `{"query": "query($v: ${type}) { books(search: \\"a\\") { totalCount } }", "variables": {"v": ${'['.repeat(n)}"a"${']'.repeat(n)}}}`, { as: MANAGER }),
    ),
    // A body over the limit.
    fc.integer({ min: 256 * 1024, max: 600 * 1024 }).map((n) => post('body too large', asJson('{ branches { id } }', { pad: 'x'.repeat(n) }), { as: null })),
    fc.tuple(fc.constantFrom(null, 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/graphql', 'application/json; charset=latin1', 'application/xml', '*/*'), callers).map(([contentType, auth]) =>
      post('content type', asJson(VALID), auth, { contentType }),
    ),
    fc.tuple(fc.constantFrom('PUT', 'DELETE', 'PATCH'), callers).map(([method, auth]) => post('method', asJson(VALID), auth, { method })),
    fc.tuple(fc.oneof(fc.constant(VALID), syntaxErrors, fc.constant('mutation { returnCopy(loanId: "Q1-99999999") { id } }'), hostileShort), fc.boolean(), callers, fc.boolean()).map(([q, preflight, auth, withVars]) =>
      shown<GatewayRequest>(
        { what: 'GET', method: 'GET', contentType: null, preflight, auth, search: `?query=${uri(q)}${withVars ? `&variables=${uri('{"x": [1, {"y": null}]')}` : ''}` },
        showGateway,
      ),
    ),
  );
}

/** The read queries, one generator per field, each of whose arguments gets hostile values. */
function readCalls(): fc.Arbitrary<FieldCall>[] {
  const id = (realValue: fc.Arbitrary<string>) => arg('ID!', fc.oneof({ weight: 2, arbitrary: realValue }, { weight: 5, arbitrary: hostileString }, { weight: 1, arbitrary: wrongType }, { weight: 1, arbitrary: unknownId }));
  const optId = (realValue: fc.Arbitrary<string>) =>
    optional(arg('ID', fc.oneof({ weight: 2, arbitrary: realValue }, { weight: 5, arbitrary: hostileString }, { weight: 1, arbitrary: wrongType }, { weight: 1, arbitrary: unknownBranch })));
  const str = () => optional(arg('String', fc.oneof({ weight: 6, arbitrary: hostileString }, { weight: 1, arbitrary: wrongType })));
  const first = () => optional(arg('Int', pageSize));
  const after = (list: string) => optional(arg('String', cursor(list)));
  const bool = () => optional(arg('Boolean', fc.oneof(fc.boolean(), wrongType, hostileShort)));
  const date = () => optional(arg('DateTime', dateTime));
  const call = (name: string, args: Record<string, fc.Arbitrary<Arg | undefined>>, selection: string, inner: Record<string, Record<string, fc.Arbitrary<Arg | undefined>>> = {}) =>
    fc.record({ args: fc.record(args), inner: fc.record(Object.fromEntries(Object.entries(inner).map(([k, v]) => [k, fc.record(v)]))) }).map((a): FieldCall => ({ name, selection, ...a }));
  return [
    call('book', { isbn: id(real.isbn()) }, 'isbn title version copies@copies { id status } availability { branch { id } available total }', { copies: { branchId: optId(real.branch()) } }),
    call('books', { search: str(), first: first(), after: after('books') }, 'totalCount edges { cursor node { isbn title } } pageInfo { hasNextPage endCursor }'),
    call('copy', { id: id(real.copy()) }, 'id status book { isbn } branch { id }'),
    call('reader', { id: id(real.reader()) }, 'id name openLoanCount homeBranch { id } loans@loans { id }', { loans: { open: bool() } }),
    call('readers', { branchId: optId(real.branch()), search: str(), first: first(), after: after('readers') }, 'totalCount edges { cursor node { id name } } pageInfo { endCursor }'),
    call('loan', { id: id(real.loan()) }, 'id returnedAt reader { id } copy { id }'),
    call('loans', { branchId: optId(real.branch()), readerId: optId(real.reader()), open: bool(), overdue: bool(), first: first(), after: after('loans') }, 'totalCount edges { cursor node { id } } pageInfo { endCursor }'),
    call('loanStats', { branchId: optId(real.branch()) }, 'total open'),
    call('topBooks', { branchId: optId(real.branch()), first: first() }, 'loans book { isbn }'),
    call('branch', { id: id(real.branch()) }, 'id name'),
    call('staffAccount', { username: id(real.username()) }, 'username role disabled'),
    call('transaction', { gid: id(fc.constantFrom('Q1.00000000-0000-0000-0000-000000000000', 'Q3.x')) }, 'gid outcome commitSite entityId'),
    call('auditLog', { from: date(), to: date(), branchId: optId(real.branch()), user: str(), first: first(), after: after('auditLog') }, 'edges { cursor node { id operation } } pageInfo { endCursor }'),
  ];
}

/** One to three hostile read calls in one query, as any caller. */
function readRequests(): fc.Arbitrary<GatewayRequest> {
  const calls = fc.oneof(...readCalls());
  return fc.tuple(fc.array(calls, { minLength: 1, maxLength: 3 }), callers).map(([list, auth]) => {
    const op = operation('query', list.map((c, i) => ({ ...c, alias: list.length > 1 ? `r${i}` : undefined })));
    return post(`read ${list.map((c) => c.name).join(',')}`, JSON.stringify(op), auth);
  });
}

// ---------------------------------------------------------------------------------------------
// Bearer tokens that must not be accepted.

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
/** An HS256 JWT signed with `key` (node:crypto), or unsigned (`alg: none`) when key is null. */
function jwt(payload: Record<string, unknown>, key: string | null, header: Record<string, unknown> = { alg: key === null ? 'none' : 'HS256', typ: 'JWT' }): string {
  const signingInput = `${b64(header)}.${b64(payload)}`;
  return `${signingInput}.${key === null ? '' : createHmac('sha256', key).update(signingInput).digest('base64url')}`;
}

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** A real token with one character changed: never the signature's last one, whose low bits are padding and do not count. */
function flipped(token: string): fc.Arbitrary<string> {
  return fc.tuple(fc.nat({ max: token.length - 2 }), fc.nat({ max: BASE64URL.length - 2 })).map(([i, k]) => {
    if (token[i] === '.') return `${token.slice(0, i)}${token.slice(i + 1)}`;
    const alphabet = BASE64URL.replace(token[i], '');
    return `${token.slice(0, i)}${alphabet[k]}${token.slice(i + 1)}`;
  });
}

function forgedAuth(): fc.Arbitrary<Auth> {
  const now = Math.floor(Date.now() / 1000);
  const manager = { sub: MANAGER, role: 'QUANLY', branch: null, iss: 'libfed', iat: now, exp: now + 3600 };
  const wrongKey = randomBytes(32).toString('hex');
  const forged = (forgery: string, header: fc.Arbitrary<string>) => header.map((h): Auth => ({ header: h, forgery }));
  const bearer = (forgery: string, token: fc.Arbitrary<string>) => forged(forgery, token.map((t) => `Bearer ${t}`));
  return fc.oneof(
    bearer('random string', fc.string({ minLength: 1, maxLength: 300 }).filter((s) => s.trim() === s && s.length > 0 && !s.includes(' '))),
    bearer('random base64url triple', fc.tuple(fc.base64String({ minLength: 4, maxLength: 60 }), fc.base64String({ minLength: 4, maxLength: 60 }), fc.base64String({ minLength: 4, maxLength: 60 })).map((p) => p.join('.').replace(/[+/=]/g, 'A'))),
    bearer('a real token, one character changed', fc.constantFrom(tokens[MANAGER], tokens[LIBRARIAN]).chain(flipped)),
    bearer('a real token, truncated', fc.constantFrom(tokens[MANAGER], tokens[LIBRARIAN]).chain((t) => fc.nat({ max: t.length - 1 }).map((n) => t.slice(0, n) || 'x'))),
    bearer('a real token with more after it', fc.tuple(fc.constantFrom(tokens[MANAGER]), fc.constantFrom('.', 'x', '.e30', 'AAAA')).map(([t, s]) => `${t}${s}`)),
    bearer('re-signed with a wrong key', fc.constantFrom(jwt(manager, wrongKey), jwt({ ...manager, sub: LIBRARIAN, role: 'THUTHU', branch: 'Q1' }, wrongKey))),
    bearer('expired (the real key)', fc.integer({ min: 1, max: 10 * 365 * 86400 }).map((ago) => jwt({ ...manager, iat: now - ago - 8 * 3600, exp: now - ago }, JWT_SECRET))),
    bearer('alg none', fc.constantFrom(jwt(manager, null), jwt(manager, null, { alg: 'None' }), jwt(manager, null, { alg: 'HS256' }))),
    bearer('the real key, wrong claims', fc.constantFrom(
      jwt({ ...manager, iss: 'someone-else' }, JWT_SECRET),
      jwt({ ...manager, role: 'ADMIN' }, JWT_SECRET),
      jwt({ ...manager, role: 'THUTHU', branch: null }, JWT_SECRET),
      jwt({ ...manager, sub: 42 }, JWT_SECRET),
      jwt({ ...manager, exp: 'never' }, JWT_SECRET),
      jwt(manager, JWT_SECRET, { alg: 'HS512', typ: 'JWT' }),
    )),
    bearer('huge', fc.integer({ min: 5_000, max: 40_000 }).map((n) => `${tokens[MANAGER]}${'A'.repeat(n)}`)),
    forged('wrong scheme', fc.constantFrom(`Basic ${Buffer.from(`${MANAGER}:x`).toString('base64')}`, `Token ${tokens[MANAGER]}`, 'Bearer', `Bearer  ${tokens[MANAGER]}`, `${tokens[MANAGER]}`, 'Bearer null', 'Bearer undefined')),
  );
}

/** Anything at all, sent with a token that does not verify: refused 401 UNAUTHENTICATED whatever it asks for. */
function forgedTokenRequests(): fc.Arbitrary<GatewayRequest> {
  const asJson = (query: string) => JSON.stringify({ query });
  return fc
    .tuple(forgedAuth(), fc.constantFrom(VALID, '{ staffAccounts { username } }', '{ auditLog(first: 5) { edges { node { id } } } }', '{ loans(first: 5) { totalCount } }', 'mutation { setStaffAccountDisabled(username: "quanly", disabled: true) { username } }'))
    .map(([auth, q]) => post('forged token', asJson(q), auth));
}

// ---------------------------------------------------------------------------------------------
// Hostile mutations, none of which can succeed.

interface MutationCase {
  field: string;
  args: Record<string, Arg | undefined>;
  selection: string;
}

const SELECTIONS: Record<string, string> = {
  addBook: 'isbn title version',
  updateBook: 'isbn title version',
  addBranch: 'id name',
  login: 'token',
  createStaffAccount: 'username role',
  setStaffAccountDisabled: 'username disabled',
  resetStaffPassword: 'username',
  transferCopy: 'id status branch { id }',
  addCopy: 'id status',
  borrowCopy: 'id dueAt',
  returnCopy: 'id returnedAt',
  renewLoan: 'id dueAt',
  registerReader: 'id name',
  moveReader: 'id homeBranch { id }',
};

/** A mutation call from named argument generators (an idempotency key added now and then). */
function mutationCase(field: string, args: Record<string, fc.Arbitrary<Arg | undefined>>): fc.Arbitrary<MutationCase> {
  const key = fc.oneof({ weight: 2, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arg('String', fc.oneof({ weight: 3, arbitrary: hostileShort }, fc.uuid(), overCap)) });
  return fc.record({ ...args, idempotencyKey: key }).map((a) => ({ field, args: a, selection: SELECTIONS[field] }));
}

/**
 * The same call made valid in every way but who sends it: variables declared with their own types and
 * a well-formed idempotency key, so that the answer must be the role's refusal and nothing before it.
 */
function validOperation(c: fc.Arbitrary<MutationCase>): fc.Arbitrary<MutationCase> {
  return fc.tuple(c, fc.option(fc.uuid(), { nil: undefined })).map(([m, key]) => ({
    ...m,
    args: Object.fromEntries(
      Object.entries({ ...m.args, idempotencyKey: key === undefined ? undefined : { type: 'String', value: key, inline: false } }).map(([k, a]) => [k, a && { ...a, declared: undefined }]),
    ),
  }));
}

const value = <T>(type: string, v: fc.Arbitrary<T>) => arg(type, v);
const constant = <T>(type: string, v: T) => arg(type, fc.constant(v));
const input = (type: string, fields: Record<string, fc.Arbitrary<unknown>>) => arg(type, fc.record(fields, { requiredKeys: Object.keys(fields).filter((k) => !k.startsWith('?')) }).map(stripOptionalMarks));
function stripOptionalMarks(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).flatMap(([k, v]) => (v === undefined ? [] : [[k.replace(/^\?/, ''), v]])));
}

/** The manager's mutations, with at least one argument that makes each fail (names nothing, is over the cap, names no branch, is taken). */
function failingMutations(): fc.Arbitrary<MutationCase> {
  const isbn = real.isbn;
  const branch = real.branch;
  const role = fc.constantFrom(new EnumValue('THUTHU'), new EnumValue('QUANLY'));
  const copyAt = (pick: (c: DemoData['copies'][number]) => boolean) => fc.constantFrom(...data.copies.filter(pick).slice(0, 30));
  const closedLoan = () => fc.constantFrom(...data.loans.filter((l) => l.returnedAt !== null).slice(0, 30).map(loanId));
  const readerAt = () => fc.constantFrom(...data.readers.filter((_, i) => i % 10 === 0));
  return fc.oneof(
    mutationCase('addBook', { input: input('AddBookInput!', { isbn: isbn(), title: hostileShort, author: hostileShort }) }),
    mutationCase('addBook', { input: input('AddBookInput!', { isbn: hostileShort, title: overCap, author: hostileShort }) }),
    mutationCase('updateBook', { isbn: value('ID!', unknownId), input: input('UpdateBookInput!', { '?title': fc.option(hostileShort, { nil: undefined }), '?author': fc.option(hostileShort, { nil: undefined }) }) }),
    mutationCase('updateBook', { isbn: value('ID!', isbn()), input: input('UpdateBookInput!', { title: overCap }) }),
    mutationCase('addBranch', { input: input('AddBranchInput!', { id: branch(), name: hostileShort, address: hostileShort }) }),
    mutationCase('addBranch', { input: input('AddBranchInput!', { id: hostileShort, name: overCap, address: hostileShort }) }),
    mutationCase('createStaffAccount', { input: input('CreateStaffAccountInput!', { username: real.username(), password: hostileShort, role, '?branchId': fc.option(branch(), { nil: undefined }) }) }),
    mutationCase('createStaffAccount', { input: input('CreateStaffAccountInput!', { username: unknownUsername, password: overCap, role, '?branchId': fc.option(branch(), { nil: undefined }) }) }),
    mutationCase('createStaffAccount', { input: input('CreateStaffAccountInput!', { username: unknownUsername, password: hostileShort, role: fc.constant(new EnumValue('THUTHU')), branchId: unknownBranch }) }),
    mutationCase('createStaffAccount', { input: input('CreateStaffAccountInput!', { username: unknownUsername, password: hostileShort, role: fc.constant(new EnumValue('THUTHU')) }) }),
    mutationCase('setStaffAccountDisabled', { username: value('ID!', unknownUsername), disabled: value('Boolean!', fc.boolean()) }),
    mutationCase('resetStaffPassword', { username: value('ID!', unknownUsername), password: value('String!', hostileShort) }),
    mutationCase('resetStaffPassword', { username: value('ID!', real.username()), password: value('String!', overCap) }),
    mutationCase('transferCopy', { copyId: value('ID!', unknownId), toBranchId: value('ID!', branch()) }),
    fc.tuple(copyAt((c) => c.status === COPY_STATUS.AVAILABLE), unknownBranch).chain(([c, b]) => mutationCase('transferCopy', { copyId: constant('ID!', c.id), toBranchId: constant('ID!', b) })),
    copyAt((c) => c.status === COPY_STATUS.AVAILABLE).chain((c) => mutationCase('transferCopy', { copyId: constant('ID!', c.id), toBranchId: constant('ID!', c.branchId) })),
    mutationCase('addCopy', { isbn: value('ID!', unknownId), branchId: value('ID!', branch()) }),
    mutationCase('addCopy', { isbn: value('ID!', isbn()), branchId: value('ID!', unknownBranch) }),
    mutationCase('borrowCopy', { readerId: value('ID!', unknownId), copyId: value('ID!', copyAt((c) => c.status === COPY_STATUS.AVAILABLE).map((c) => c.id)) }),
    mutationCase('borrowCopy', { readerId: value('ID!', real.reader()), copyId: value('ID!', unknownId) }),
    mutationCase('borrowCopy', { readerId: value('ID!', real.reader()), copyId: value('ID!', copyAt((c) => c.status === COPY_STATUS.ON_LOAN).map((c) => c.id)) }),
    mutationCase('returnCopy', { loanId: value('ID!', fc.oneof(unknownId, closedLoan())) }),
    mutationCase('renewLoan', { loanId: value('ID!', fc.oneof(unknownId, closedLoan())) }),
    mutationCase('registerReader', { input: input('RegisterReaderInput!', { name: hostileShort, branchId: unknownBranch }) }),
    mutationCase('registerReader', { input: input('RegisterReaderInput!', { name: overCap, branchId: branch() }) }),
    mutationCase('moveReader', { readerId: value('ID!', unknownId), toBranchId: value('ID!', branch()) }),
    fc.tuple(readerAt(), unknownBranch).chain(([r, b]) => mutationCase('moveReader', { readerId: constant('ID!', r.id), toBranchId: constant('ID!', b) })),
    readerAt().chain((r) => mutationCase('moveReader', { readerId: constant('ID!', r.id), toBranchId: constant('ID!', r.homeBranchId) })),
    // Wrong credentials, throttled after a few: never the demo password.
    mutationCase('login', { username: value('String!', fc.oneof(unknownUsername, real.username())), password: value('String!', fc.oneof(hostileString, wrongType)) }),
  );
}

/** Mutations that WOULD succeed if the caller were allowed: sent only by callers who are not. */
function allowedOnlyToOthers(): { managerOnly: fc.Arbitrary<MutationCase>; lendingDesk: fc.Arbitrary<MutationCase>; foreignLendingDesk: fc.Arbitrary<MutationCase> } {
  const suffix = hex(6);
  const managerOnly = fc.oneof(
    suffix.chain((s) => mutationCase('addBook', { input: input('AddBookInput!', { isbn: fc.constant(`978-fuzz-${s}`), title: fc.constant('Fuzz'), author: fc.constant('Fuzz') }) })),
    mutationCase('updateBook', { isbn: value('ID!', real.isbn()), input: input('UpdateBookInput!', { title: fc.constant('Fuzzed title') }) }),
    mutationCase('addBranch', { input: input('AddBranchInput!', { id: fc.constant('Q7'), name: fc.constant('Fuzz'), address: fc.constant('Fuzz') }) }),
    suffix.chain((s) => mutationCase('createStaffAccount', { input: input('CreateStaffAccountInput!', { username: fc.constant(`fuzz_${s}`), password: fc.constant('fuzz-password-1'), role: fc.constant(new EnumValue('QUANLY')) }) })),
    mutationCase('setStaffAccountDisabled', { username: value('ID!', real.username()), disabled: constant('Boolean!', true) }),
    mutationCase('resetStaffPassword', { username: value('ID!', real.username()), password: constant('String!', 'pwned-password') }),
  );
  const lending = (branch: () => fc.Arbitrary<string>, copy: () => fc.Arbitrary<DemoData['copies'][number]>, reader: () => fc.Arbitrary<DemoData['readers'][number]>, openLoan: () => fc.Arbitrary<string>) =>
    fc.oneof(
      mutationCase('addCopy', { isbn: value('ID!', real.isbn()), branchId: value('ID!', branch()) }),
      mutationCase('registerReader', { input: input('RegisterReaderInput!', { name: fc.constant('Người Đọc Thử'), branchId: branch() }) }),
      fc.tuple(reader(), copy()).chain(([r, c]) => mutationCase('borrowCopy', { readerId: constant('ID!', r.id), copyId: constant('ID!', c.id) })),
      mutationCase('returnCopy', { loanId: value('ID!', openLoan()) }),
      mutationCase('renewLoan', { loanId: value('ID!', openLoan()) }),
      fc.tuple(copy(), branch()).filter(([c, b]) => c.branchId !== b).chain(([c, b]) => mutationCase('transferCopy', { copyId: constant('ID!', c.id), toBranchId: constant('ID!', b) })),
      fc.tuple(reader(), branch()).filter(([r, b]) => r.homeBranchId !== b).chain(([r, b]) => mutationCase('moveReader', { readerId: constant('ID!', r.id), toBranchId: constant('ID!', b) })),
    );
  const anyBranch = {
    copy: () => fc.constantFrom(...data.copies.filter((c) => c.status === COPY_STATUS.AVAILABLE).slice(0, 40)),
    reader: () => fc.constantFrom(...data.readers.slice(0, 40)),
    openLoan: () => fc.constantFrom(...data.loans.filter((l) => l.returnedAt === null).slice(0, 40).map(loanId)),
  };
  return {
    managerOnly: validOperation(managerOnly),
    lendingDesk: validOperation(lending(real.branch, anyBranch.copy, anyBranch.reader, anyBranch.openLoan)),
    foreignLendingDesk: validOperation(lending(foreign.branch, foreign.availableCopy, foreign.reader, foreign.openLoan)),
  };
}

/** Some argument of a case replaced by a value of the wrong type: still refused, now by validation or coercion. */
function withWrongType(c: fc.Arbitrary<MutationCase>): fc.Arbitrary<MutationCase> {
  return fc.tuple(c, fc.nat(), wrongType).map(([m, i, v]) => {
    const names = Object.keys(m.args).filter((k) => m.args[k]);
    const name = names[i % names.length];
    return { ...m, args: { ...m.args, [name]: { ...m.args[name]!, value: v } } };
  });
}

function mutationRequests(): fc.Arbitrary<GatewayRequest> {
  const { managerOnly, lendingDesk, foreignLendingDesk } = allowedOnlyToOthers();
  const failing = failingMutations();
  const request = (what: string, cases: fc.Arbitrary<MutationCase[]>, auth: fc.Arbitrary<Auth>, accept?: ErrorCode[]) =>
    fc.tuple(cases, auth).map(([list, a]) => {
      const calls = list.map((m, i) => ({ alias: `m${i}`, name: m.field, args: m.args, selection: m.selection }));
      return post(`mutation ${what}: ${list.map((m) => m.field).join(',')}`, JSON.stringify(operation('mutation', calls)), a, { mutation: { fields: calls.map((c) => c.alias), accept } });
    });
  const one = (c: fc.Arbitrary<MutationCase>) => c.map((m) => [m]);
  const anyAllowedCase = fc.oneof(managerOnly, lendingDesk);
  return fc.oneof(
    { weight: 2, arbitrary: request('anonymous, would succeed for staff', one(anyAllowedCase), fc.constant<Auth>({ as: null }), ['UNAUTHENTICATED']) },
    { weight: 1, arbitrary: request('forged token, would succeed for the manager', one(anyAllowedCase), forgedAuth(), ['UNAUTHENTICATED']) },
    { weight: 2, arbitrary: request('librarian, manager-only', one(managerOnly), fc.constant<Auth>({ as: LIBRARIAN }), ['FORBIDDEN']) },
    { weight: 3, arbitrary: request('librarian, another branch', one(foreignLendingDesk), fc.constant<Auth>({ as: LIBRARIAN }), ['FORBIDDEN_BRANCH']) },
    { weight: 6, arbitrary: request('manager, failing arguments', one(failing), fc.constant<Auth>({ as: MANAGER })) },
    { weight: 2, arbitrary: request('wrong types, failing arguments', one(withWrongType(failing)), callers) },
    // A wrong-typed value can be a valid one (null for an optional argument, true for a Boolean): only for a caller who may not write at all.
    { weight: 1, arbitrary: request('wrong types, anonymous', one(withWrongType(anyAllowedCase)), fc.constant<Auth>({ as: null })) },
    { weight: 1, arbitrary: request('several failing', fc.array(failing, { minLength: 2, maxLength: 35 }), fc.constant<Auth>({ as: MANAGER })) },
    { weight: 1, arbitrary: request('librarian, failing arguments', one(failing), fc.constant<Auth>({ as: LIBRARIAN })) },
  );
}

// ---------------------------------------------------------------------------------------------
// Requests straight to the sites.

type Signing =
  | { kind: 'unsigned' }
  | { kind: 'garbage headers'; headers: [string, string][] }
  | { kind: 'wrong secret'; secret: string }
  | { kind: 'stale'; offsetMs: number }
  | { kind: 'tampered'; extra: string }
  | { kind: 'signed for another path' }
  | { kind: 'replayed' }
  | { kind: 'signed' };

interface SiteRequest {
  what: string;
  site: string;
  path: string;
  method: string;
  body: string;
  signing: Signing;
}

function showSite(r: SiteRequest): string {
  return `[${r.what}] ${r.method} ${r.site}${r.path} signing=${cut(r.signing, 300)} body=${cut(r.body, 600)}`;
}

const TX = Object.keys(TX_ACTIONS) as TxAction[];
const ENDPOINTS = [...SUBGRAPHS.map((s) => `/${s}`), ...TX.map((a) => `/tx/${a}`)];
const ODD_PATHS = ['/', '/metrics', '/tx/', '/tx/unknown', '/tx/STATUS', '/CATALOG', '/catalog/', '//catalog', '/catalog?x=1', '/tx/status?x=%00', '/graphql', '/tx/__proto__', '/tx/constructor'];

/** A body each endpoint would act on if it were signed (writes too: an unsigned request must not reach them). */
function actionableBody(path: string): string {
  const gid = `Q1.fuzz-${randomBytes(3).toString('hex')}`;
  const op = { kind: 'copy.add', isbn: data.books[0].isbn, branchId: 'Q1' };
  const bodies: Record<string, unknown> = {
    '/catalog': { query: '{ branches { id } books(first: 1) { totalCount } }' },
    '/inventory': { query: '{ copy(id: "Q1-QS00001") { id status } }' },
    '/readers': { query: '{ readers(first: 1) { totalCount } }' },
    '/loans': { query: '{ loans(first: 1) { totalCount } }' },
    '/tx/local': { gid, ops: [op], lines: [] },
    '/tx/commit-point': { gid, ops: [op], lines: [] },
    '/tx/prepare': { gid, ops: [op], commitSite: 'Q3', deadline: new Date(Date.now() + 60_000).toISOString(), lines: [] },
    '/tx/commit': { gid },
    '/tx/abort': { gid },
    '/tx/decide': { gid },
    '/tx/clean': { rows: [] },
    '/tx/audit': { entry: { id: `fuzz-${gid}`, at: new Date().toISOString(), username: null, role: 'ANONYMOUS', operation: 'addCopy', arguments: '{}', branches: ['Q1'], gid: null, outcome: 'REFUSED', code: null } },
  };
  return JSON.stringify(bodies[path] ?? {});
}

/** Malformed bodies: not JSON, JSON of the wrong shape, huge. */
const malformedBody = fc.oneof(
  notJson.map((b) => (typeof b === 'string' ? b : Buffer.from(b).toString('latin1'))),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.constantFrom('{"gid": 5}', '{"gid": ""}', '{"gid": null, "ops": "x"}', '[{"gid": "a"}]', '{"query": 5}', '{"query": "{ _entities(representations: 5) { __typename } }"}'),
  fc.integer({ min: 10_000, max: 200_000 }).map((n) => JSON.stringify({ gid: 'x'.repeat(n) })),
);

const nonce = () => randomBytes(16).toString('base64url');
const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));

/** The three signature headers, each left out, garbage, or well formed but wrong. */
const garbageHeaders: fc.Arbitrary<[string, string][]> = fc
  .tuple(
    fc.oneof(fc.constant(undefined), fc.string({ maxLength: 30 }), fc.constantFrom(String(Date.now()), '0', '-1', '9'.repeat(16), '1e12', `${Date.now()}.5`, `${Date.now()}, ${Date.now()}`)),
    fc.oneof(fc.constant(undefined), fc.string({ maxLength: 80 }), fc.constantFrom(nonce(), 'short', 'x'.repeat(65), `${nonce()}, ${nonce()}`)),
    fc.oneof(fc.constant(undefined), fc.string({ maxLength: 80 }), hex(64), hex(63), hex(64).map((h) => h.toUpperCase()), fc.constant('0'.repeat(64))),
  )
  .map(([t, n, s]) => [
    ...(t === undefined ? [] : [[SIGNATURE_HEADERS.timestamp, t] as [string, string]]),
    ...(n === undefined ? [] : [[SIGNATURE_HEADERS.nonce, n] as [string, string]]),
    ...(s === undefined ? [] : [[SIGNATURE_HEADERS.signature, s] as [string, string]]),
  ]);

const badSignings: fc.Arbitrary<Signing> = fc.oneof(
  fc.constant<Signing>({ kind: 'unsigned' }),
  garbageHeaders.map((headers): Signing => ({ kind: 'garbage headers', headers })),
  fc.string({ minLength: 16, maxLength: 64 }).map((secret): Signing => ({ kind: 'wrong secret', secret })),
  fc.oneof(fc.integer({ min: 31_000, max: 86_400_000 }), fc.integer({ min: -86_400_000, max: -31_000 })).map((offsetMs): Signing => ({ kind: 'stale', offsetMs })),
  fc.constantFrom(' ', '\n', 'x', '{}').map((extra): Signing => ({ kind: 'tampered', extra })),
  fc.constant<Signing>({ kind: 'signed for another path' }),
  fc.constant<Signing>({ kind: 'replayed' }),
);

const siteIds = () => fc.constantFrom(...data.branches.map((b) => b.id));

/** Requests to every endpoint that do not carry a valid signature: each must be 401 UNAUTHENTICATED. */
function unsignedSiteRequests(): fc.Arbitrary<SiteRequest> {
  return fc
    .tuple(
      siteIds(),
      fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...ENDPOINTS) }, { weight: 1, arbitrary: fc.constantFrom(...ODD_PATHS) }),
      fc.constantFrom('POST', 'POST', 'POST', 'GET', 'PUT', 'DELETE'),
      badSignings,
      fc.boolean(),
      fc.oneof({ weight: 3, arbitrary: malformedBody }, { weight: 1, arbitrary: deep.map((q) => JSON.stringify({ query: q })) }),
    )
    .map(([site, path, method, signing, actionable, garbage]) => {
      // A replay is of a request that was served once, signed: only a harmless one.
      const replay = signing.kind === 'replayed';
      const body = method === 'GET' ? '' : replay ? '{}' : actionable ? actionableBody(path) : garbage;
      return shown<SiteRequest>({ what: 'badly signed', site, path: replay ? '/tx/status' : path, method: replay ? 'POST' : method, body, signing }, showSite);
    });
}

/** Bodies a signed `/tx` request may carry in a fuzz run: writes only malformed (refused before anything runs), reads hostile. */
function harmlessTxBody(action: TxAction): fc.Arbitrary<string> {
  const id = fc.oneof(hostileShort.filter((s) => s.length <= 40), unknownId.filter((s) => s.length <= 40), real.copy(), real.reader());
  const json = (a: fc.Arbitrary<unknown>) => a.map((v) => JSON.stringify(v));
  const reads: Partial<Record<TxAction, fc.Arbitrary<string>>> = {
    status: json(fc.oneof(fc.constant({}), fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }))),
    locate: json(fc.record({ entity: fc.oneof(fc.constantFrom('Copy', 'Reader'), hostileShort), id: fc.oneof(id, wrongType) })),
    loan: json(fc.record({ id: fc.oneof(id, real.loan(), wrongType) })),
    staff: json(fc.record({ username: fc.oneof(hostileShort.filter((s) => s.length <= 64), real.username(), wrongType) })),
    decision: json(fc.record({ gid: fc.oneof(hostileShort.filter((s) => s.length <= 64), wrongType) })),
    'by-key': json(fc.record({ key: fc.oneof(hostileShort.filter((s) => s.length <= 100), wrongType) })),
    dirty: json(fc.record({ limit: fc.oneof(fc.integer({ min: 1, max: 1000 }), wrongType) })),
    'audit-log': json(
      fc.record(
        {
          limit: fc.oneof(fc.integer({ min: 1, max: 101 }), wrongType),
          username: fc.oneof(hostileShort.filter((s) => s.length <= 64), wrongType),
          branchId: fc.oneof(hostileShort.filter((s) => s.length <= 8), wrongType),
          from: dateTime,
          to: dateTime,
          before: fc.record({ at: dateTime, id: fc.oneof(hostileShort.filter((s) => s.length <= 40), wrongType) }),
        },
        { requiredKeys: ['limit'] },
      ),
    ),
  };
  if (reads[action]) return fc.oneof(reads[action]!, malformedBody);
  // A write: its required field always broken, so the schema refuses it before anything runs.
  const brokenGid = fc.oneof(fc.constant(undefined), wrongType.filter((v) => typeof v !== 'string'), fc.constant(''), fc.integer({ min: 65, max: 5000 }).map((n) => 'g'.repeat(n)));
  const writes: Partial<Record<TxAction, fc.Arbitrary<string>>> = {
    clean: json(fc.record({ rows: fc.oneof(wrongType.filter((v) => !Array.isArray(v)), fc.array(fc.record({ gid: brokenGid, line: fc.constant('Copy:Q1-QS00001') }), { minLength: 1, maxLength: 3 })) })),
    audit: json(fc.record({ entry: fc.oneof(wrongType, fc.record({ id: fc.constant(''), at: hostileShort })) })),
  };
  const gidBroken = json(fc.record({ gid: brokenGid, ops: fc.constant([{ kind: 'copy.add', isbn: "'; DROP TABLE SACH;--", branchId: 'Q1' }]), lines: fc.constant([]), commitSite: fc.constant('Q3'), deadline: fc.constant(new Date(Date.now() + 60_000).toISOString()) }));
  return fc.oneof(writes[action] ?? gidBroken, malformedBody.filter((b) => !/^\s*(\{|null\s*$)/.test(b)));
}

/** Signed requests that cannot change anything: hostile subgraph reads and `_entities`, malformed `/tx` bodies, hostile `/tx` reads. */
function signedSiteRequests(): fc.Arbitrary<SiteRequest> {
  const subgraphRead = fc.tuple(fc.oneof(...readCalls()), fc.constantFrom(...SUBGRAPHS)).map(([c, subgraph]) => ({ path: `/${subgraph}`, body: JSON.stringify(operation('query', [c])) }));
  const entities = fc
    .tuple(fc.constantFrom(['Book', 'isbn', '/inventory'], ['Reader', 'id', '/loans'], ['Copy', 'id', '/loans'], ['Reader', 'id', '/readers'], ['Copy', 'id', '/inventory'], ['Loan', 'id', '/loans'], ['Book', 'isbn', '/catalog']), fc.array(fc.oneof(hostileShort, wrongType), { minLength: 1, maxLength: 20 }))
    .map(([[typename, key, path], ids]) => ({
      path,
      body: JSON.stringify({ query: 'query($r: [_Any!]!) { _entities(representations: $r) { __typename } }', variables: { r: ids.map((id) => ({ __typename: typename, [key]: id })) } }),
    }));
  // Deep queries signed too: a site bounds depth on its own (16), so these must be refused, not run out of memory.
  const garbage = fc
    .tuple(fc.constantFrom(...SUBGRAPHS), fc.oneof(malformedBody, syntaxErrors.map((q) => JSON.stringify({ query: q })), deep.map((q) => JSON.stringify({ query: q }))))
    .map(([s, body]) => ({ path: `/${s}`, body }));
  const tx = fc.constantFrom(...TX).chain((action) => harmlessTxBody(action).map((body) => ({ path: `/tx/${action}`, body })));
  return fc.tuple(siteIds(), fc.oneof(subgraphRead, entities, garbage, tx, tx)).map(([site, r]) => shown<SiteRequest>({ what: 'signed, harmless', site, method: 'POST', signing: { kind: 'signed' }, ...r }, showSite));
}

// ---------------------------------------------------------------------------------------------
// Sending and judging.

function headersTooLarge(body: any, r: GatewayRequest): boolean {
  // Only a bearer token is ever that long; the other headers are a few hundred bytes at most.
  const headerBytes = 'header' in r.auth ? r.auth.header.length : 0;
  const [e] = Array.isArray(body?.errors) ? body.errors : [];
  return headerBytes > maxHeaderSize - 512 && e?.extensions?.code === 'QUERY_TOO_COMPLEX' && e.extensions.limit === 'headerBytes';
}
/** What the gateway answered, by code (`data` for a result without errors), printed at the end. */
const outcomes: Record<string, number> = {};
function tally(body: unknown): void {
  for (const answer of Array.isArray(body) ? body : [body]) {
    const errors = (answer as { errors?: { extensions?: { code?: unknown } }[] })?.errors;
    for (const key of errors ? new Set(errors.map((e) => String(e?.extensions?.code))) : ['data']) outcomes[key] = (outcomes[key] ?? 0) + 1;
  }
}

async function sendToGateway(r: GatewayRequest): Promise<{ status: number; text: string }> {
  const headers = new Headers();
  if (r.contentType) headers.set('content-type', r.contentType);
  if (r.preflight) headers.set('apollo-require-preflight', 'true');
  if ('header' in r.auth) headers.set('authorization', r.auth.header);
  else if (r.auth.as) headers.set('authorization', `Bearer ${tokens[r.auth.as]}`);
  const url = r.search ? `${chain.gatewayUrl}${r.search}` : chain.gatewayUrl;
  const res = await fetchFrom(chain.gateway, gatewayLog, url, { method: r.method, headers, body: r.method === 'GET' ? undefined : r.body });
  sent++;
  return { status: res.status, text: await res.text() };
}

/** What is wrong with a gateway answer, or undefined: < 500, JSON, a result without errors or errors that each carry a catalogue code. */
function gatewayProblem(status: number, text: string, r: GatewayRequest): string | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return status >= 500 ? `HTTP ${status}` : 'the body is not JSON';
  }
  tally(body);
  if (status >= 500) return `HTTP ${status}`;
  // Headers over node:http's limit are refused before anything reads them, the token included: 431, a size limit, not UNAUTHENTICATED.
  if (status === 431) return headersTooLarge(body, r) ? undefined : 'HTTP 431 for headers under the limit, or without QUERY_TOO_COMPLEX headerBytes';
  const answers = Array.isArray(body) ? body : [body];
  if (!answers.length) return 'an empty array';
  for (const answer of answers) {
    if (typeof answer !== 'object' || answer === null) return 'an answer that is not an object';
    const { data, errors } = answer as { data?: unknown; errors?: unknown };
    if (errors === undefined) {
      if (data === undefined || data === null) return 'neither data nor errors';
      if (r.mutation) return 'a mutation answered data without errors';
      continue;
    }
    if (!Array.isArray(errors) || !errors.length) return '`errors` is not a non-empty list';
    for (const e of errors as { message?: unknown; extensions?: { code?: unknown } }[]) {
      if (typeof e?.message !== 'string') return 'an error without a string message';
      const code = e.extensions?.code;
      if (typeof code !== 'string') return 'an error without a string extensions.code';
      if (!Object.hasOwn(ERROR_CODES, code)) return `code ${code} is not in the catalogue (schema/errors.ts)`;
      if (NEVER.includes(code as ErrorCode)) {
        return `code ${code}`;
      }
    }
    if (r.mutation) {
      for (const field of r.mutation.fields) {
        const value = (data as Record<string, unknown> | null | undefined)?.[field];
        if (value !== null && value !== undefined) return `mutation field ${field} answered ${cut(value, 200)}`;
      }
      const codes = (errors as { extensions: { code: ErrorCode } }[]).map((e) => e.extensions.code);
      if (r.mutation.accept && !codes.some((c) => r.mutation!.accept!.includes(c))) return `the mutation was refused with ${codes.join(',')}, expected ${r.mutation.accept.join(' or ')}`;
    }
    if ('header' in r.auth) {
      const codes = (errors as { extensions: { code: ErrorCode } }[]).map((e) => e.extensions.code);
      if (data !== undefined && data !== null) return 'a forged token was answered with data';
      if (!codes.includes('UNAUTHENTICATED')) return `a forged token was answered with ${codes.join(',')}, not UNAUTHENTICATED`;
    }
  }
  return undefined;
}

async function judgeGateway(r: GatewayRequest): Promise<void> {
  const { status, text } = await sendToGateway(r);
  const problem = gatewayProblem(status, text, r);
  if (!problem) return;
  const refs = [...text.matchAll(/"ref":"([0-9a-f]+)"/g)].map((m) => m[1]);
  const logged = refs.flatMap((ref) => gatewayLog.filter((line) => line.includes(ref)));
  const log = logged.length ? logged : gatewayLog.slice(-8);
  throw new Error(`${problem}\nrequest: ${showGateway(r)}\nanswer: HTTP ${status} ${cut(text, 1500)}\ngateway log${logged.length ? ` (ref ${refs.join(', ')})` : ', last lines'}: ${cut(log.join('\n'), 3000)}`);
}

async function sendToSite(r: SiteRequest): Promise<{ status: number; text: string }[]> {
  const url = `${chain.sites.get(r.site)!.url}${r.path}`;
  const secret = chain.siteSecrets[0];
  const init: RequestInit = { method: r.method, headers: { 'content-type': 'application/json' }, body: r.method === 'GET' ? undefined : r.body };
  const target = new URL(url);
  const path = target.pathname + target.search;
  const requests: RequestInit[] = [];
  const s = r.signing;
  if (s.kind === 'unsigned') requests.push(init);
  else if (s.kind === 'garbage headers') {
    const headers = new Headers(init.headers);
    for (const [k, v] of s.headers) headers.append(k, v);
    requests.push({ ...init, headers });
  } else if (s.kind === 'wrong secret') requests.push(signFetch(s.secret.padEnd(16, '!'), url, init));
  else if (s.kind === 'stale') {
    const stale = sign(secret, { method: r.method, path, body: r.body, timestamp: Date.now() - s.offsetMs, nonce: nonce() });
    requests.push({ ...init, headers: { 'content-type': 'application/json', ...stale } });
  } else if (s.kind === 'tampered') requests.push({ ...signFetch(secret, url, init), body: r.method === 'GET' ? undefined : `${r.body}${s.extra}` });
  else if (s.kind === 'signed for another path') {
    const other = new URL(r.path === '/tx/status' ? '/tx/locate' : '/tx/status', url).toString();
    requests.push(signFetch(secret, other, init));
  } else if (s.kind === 'replayed' || s.kind === 'signed') {
    const signed = signFetch(secret, url, init);
    requests.push(signed);
    if (s.kind === 'replayed') requests.push(signed);
  }
  // A GET has no body to tamper with: its query string is changed instead.
  const sentTo = s.kind === 'tampered' && r.method === 'GET' ? `${url}${target.search ? '&' : '?'}tampered=1` : url;
  const answers = [];
  for (const request of requests) {
    const res = await fetchFrom(chain.sites.get(r.site)!, siteLogs.get(r.site)!, sentTo, request);
    sent++;
    answers.push({ status: res.status, text: await res.text() });
  }
  return answers;
}

/** What is wrong with a site's answer: < 500 and JSON always; a request not validly signed is 401 UNAUTHENTICATED. */
function siteProblem(answer: { status: number; text: string }, mustRefuse: boolean): string | undefined {
  let body: any;
  try {
    body = JSON.parse(answer.text);
  } catch {
    return answer.status >= 500 ? `HTTP ${answer.status}` : 'the body is not JSON';
  }
  if (answer.status >= 500) return `HTTP ${answer.status}`;
  if (mustRefuse) {
    if (answer.status !== 401) return `HTTP ${answer.status}, not 401`;
    if (body?.errors?.[0]?.extensions?.code !== 'UNAUTHENTICATED') return 'a refusal without UNAUTHENTICATED';
    return undefined;
  }
  const errors: any[] = Array.isArray(body?.errors) ? body.errors : [];
  for (const e of errors) if (typeof e?.message !== 'string') return 'an error without a string message';
  if (errors.some((x) => x.extensions?.code === 'INTERNAL_SERVER_ERROR')) return 'INTERNAL_SERVER_ERROR';
  return undefined;
}

async function judgeSite(r: SiteRequest): Promise<void> {
  const answers = await sendToSite(r);
  answers.forEach((answer, i) => {
    // The first of a replayed pair was validly signed: only its repetition must be refused.
    const mustRefuse = r.signing.kind !== 'signed' && !(r.signing.kind === 'replayed' && i === 0);
    const problem = siteProblem(answer, mustRefuse);
    if (problem) throw new Error(`${problem}\nrequest: ${showSite(r)}${answers.length > 1 ? ` (send ${i + 1} of ${answers.length})` : ''}\nanswer: HTTP ${answer.status} ${cut(answer.text, 1500)}`);
  });
}

const check = <T>(arb: fc.Arbitrary<T>, run: (r: T) => Promise<void>, numRuns: number) => fc.assert(fc.asyncProperty(arb, run), { numRuns, verbose: 1 });

// ---------------------------------------------------------------------------------------------

describe('fuzzing the gateway and the sites', () => {
  const saved = process.env.LIBFED_JWT_SECRET;

  beforeAll(async () => {
    process.env.LIBFED_JWT_SECRET = JWT_SECRET;
    chain = await startTestChain('pglite');
    data = demoData(chain.config);
    follow(chain.gateway.child, gatewayLog, 2000);
    for (const [id, site] of chain.sites) follow(site.child, siteLogs.set(id, []).get(id)!, 200);
    for (const user of [MANAGER, LIBRARIAN]) tokens[user] = await chain.token(user);
    // A real cursor of each list, to craft hostile ones from.
    const lists = await chain.query(
      '{ books(first: 1) { pageInfo { endCursor } } readers(first: 1) { pageInfo { endCursor } } loans(first: 1) { pageInfo { endCursor } } auditLog(first: 1) { pageInfo { endCursor } } }',
    );
    for (const [list, page] of Object.entries(lists.data ?? {})) cursors[list] = (page as any).pageInfo.endCursor;
    before = await chainChecksum(chain, data);
    startedAt = Date.now();
  }, 180_000);

  afterAll(async () => {
    if (saved === undefined) delete process.env.LIBFED_JWT_SECRET;
    else process.env.LIBFED_JWT_SECRET = saved;
    await chain?.close();
  });

  it('answers malformed envelopes, batches, syntax errors and limit-breaking operations with catalogue codes', async () => {
    await check(envelopeRequests(), judgeGateway, RUNS.envelope);
  }, 300_000);

  it('answers hostile values in every argument of the read queries, inline and as variables, with a result or catalogue codes', async () => {
    await check(readRequests(), judgeGateway, RUNS.reads);
  }, 300_000);

  it('refuses forged, tampered, re-signed and expired bearer tokens with UNAUTHENTICATED', async () => {
    await check(forgedTokenRequests(), judgeGateway, RUNS.tokens);
  }, 300_000);

  it('refuses every hostile mutation: null for the field and an error with a code', async () => {
    await check(mutationRequests(), judgeGateway, RUNS.mutations);
  }, 300_000);

  it('refuses every request to a site that is not validly signed with 401 UNAUTHENTICATED and JSON', async () => {
    await check(unsignedSiteRequests(), judgeSite, RUNS.sitesUnsigned);
  }, 300_000);

  it('answers signed malformed and hostile requests to a site below 500, with JSON', async () => {
    await check(signedSiteRequests(), judgeSite, RUNS.sitesSigned);
  }, 300_000);

  it('leaves every process alive and every site database as it was', async () => {
    const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
    const seen = Object.entries(outcomes).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ');
    console.log(`fuzz: ${sent} generated requests in ${seconds} s; gateway answers: ${seen}`);
    expect(sent).toBeGreaterThanOrEqual(1000);
    const gatewayHealth = await fetch(new URL('/health', chain.gatewayUrl));
    expect([gatewayHealth.status, chain.gateway.child.exitCode, chain.gateway.child.signalCode]).toEqual([200, null, null]);
    for (const [id, site] of chain.sites) {
      const health = await fetch(`${site.url}/health`);
      expect([id, health.status, site.child.exitCode, site.child.signalCode]).toEqual([id, 200, null, null]);
    }
    // The gateway still serves an ordinary query as before.
    const ok = await chain.query('{ branches { id } }');
    expect(ok.data?.branches).toHaveLength(data.branches.length);
    expect(await chainChecksum(chain, data)).toEqual(before);
  }, 180_000);
});
