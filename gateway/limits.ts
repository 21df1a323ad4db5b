import type { ApolloServerOptionsWithGateway, ApolloServerPlugin, BaseContext } from '@apollo/server';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import { getNamedType, GraphQLError, Kind, type ASTNode, type FieldNode, type GraphQLFormattedError, type ValidationContext, type ValidationRule } from 'graphql';
import { codeOf, errorJson, libfedError, MAX_IDEMPOTENCY_KEY_LENGTH, MAX_PAGE_SIZE, type ErrorJson } from '../schema';
import { checkArguments, PAGE_SIZE_ARGUMENT, type ArgumentRefusal } from './arguments';

/**
 * Every limit a request meets at the gateway, with its default. Each has a
 * flag in gateway/main.ts and a row in the README's "Limits" table; each
 * refusal names the limit and its value, is an HTTP 4xx, and reaches no site.
 */
export const REQUEST_LIMITS = {
  /** Nested selection sets (graphql-armor). */
  maxDepth: 12,
  /** graphql-armor's cost: objects 2, scalars 1, times 1.5 per level of depth. */
  maxCost: 20_000,
  maxAliases: 30,
  maxDirectives: 50,
  /** Lexical tokens of the document, counted by graphql-js's parser. */
  maxTokens: 5000,
  /** Characters of any one string argument, literal or variable, however deeply nested. */
  maxStringLength: 1000,
  /** Bytes of an HTTP body (413 over it). */
  maxBodyBytes: 256 * 1024,
  /** Operations in one HTTP request; 1 turns batching off (graphql-armor's advice: a batch multiplies every other limit). */
  maxBatchSize: 1,
};

export type RequestLimits = typeof REQUEST_LIMITS;

/** The limit names `extensions.limit` carries for QUERY_TOO_COMPLEX. */
type ComplexityLimit = 'depth' | 'cost' | 'aliases' | 'directives' | 'tokens';

/** Refuses limits that make no sense, or that would refuse what the sites accept. */
export function checkLimits(limits: RequestLimits): void {
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got ${value}`);
  }
  // A cap below the explicit per-argument limits (schema/limits.ts) would refuse keys the sites accept, under another code.
  if (limits.maxStringLength < MAX_IDEMPOTENCY_KEY_LENGTH) {
    throw new Error(`maxStringLength must be at least ${MAX_IDEMPOTENCY_KEY_LENGTH} (the longest idempotency key), got ${limits.maxStringLength}`);
  }
}

/** What Apollo Server takes to enforce the limits of one operation. */
export function apolloLimits(limits: RequestLimits): Required<Pick<ApolloServerOptionsWithGateway<BaseContext>, 'parseOptions' | 'validationRules' | 'plugins' | 'allowBatchedHttpRequests'>> {
  const armor = new ApolloArmor({
    maxDepth: { n: limits.maxDepth, ...reportAs('depth', limits.maxDepth) },
    costLimit: { maxCost: limits.maxCost, ...reportAs('cost', limits.maxCost) },
    maxAliases: { n: limits.maxAliases, ...reportAs('aliases', limits.maxAliases) },
    maxDirectives: { n: limits.maxDirectives, ...reportAs('directives', limits.maxDirectives) },
    // Not armor's token counter: it parses the document a second time in Apollo's parsingDidStart hook, where any
    // throw — a plain syntax error too — is answered 500. graphql-js counts tokens in the one parse Apollo does
    // (parseOptions below), so both a syntax error and the token limit are a 400.
    maxTokens: { enabled: false },
    blockFieldSuggestion: { enabled: false },
  }).protect();
  return {
    parseOptions: { maxLexicalTokens: limits.maxTokens },
    validationRules: [...armor.validationRules, PageSizeLiterals],
    plugins: [...armor.plugins, argumentLimitsPlugin(limits)],
    // Apollo answers a batch with 400 when this is false; the routes refuse a larger batch than allowed first (batchRefusal).
    allowBatchedHttpRequests: limits.maxBatchSize > 1,
  };
}

/**
 * graphql-armor's own report is a code-less "Syntax Error: ..." (it reports
 * BAD_USER_INPUT, which Apollo's validation wrapper then overwrites): report
 * the catalogue's code with the limit's name and value instead. Apollo keeps
 * the rule's error as `originalError`, where formatError finds the code.
 */
function reportAs(limit: ComplexityLimit, max: number) {
  return {
    propagateOnRejection: false,
    onReject: [
      (context: ValidationContext | null, error: GraphQLError) => {
        context?.reportError(libfedError('QUERY_TOO_COMPLEX', error.message.replace(/^Syntax Error: /, ''), { limit, max }));
      },
    ],
  };
}

/** graphql-js's token-limit message, which carries the limit (the parse error Apollo answers as GRAPHQL_PARSE_FAILED). */
const TOKEN_LIMIT = /^Syntax Error: Document contains more tha[nt] (\d+) tokens/;

/** The token-limit parse error as QUERY_TOO_COMPLEX naming the limit, or undefined for any other error. */
export function tokenLimitError(formatted: GraphQLFormattedError): ErrorJson | undefined {
  const m = TOKEN_LIMIT.exec(formatted.message);
  if (!m) return undefined;
  const max = Number(m[1]);
  return errorJson('QUERY_TOO_COMPLEX', `Token limit of ${max} exceeded: the document has more than ${max} lexical tokens.`, { limit: 'tokens', max });
}

const badRequest = { http: { status: 400 } };

/**
 * Arguments over a limit refuse the whole operation once it is resolved and
 * before the gateway plans it (so before any site is asked), with HTTP 400.
 */
function argumentLimitsPlugin(limits: RequestLimits): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, operation, request }) {
          if (!operation) return;
          const fragments = Object.fromEntries(document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d]] : [])));
          const refusal = checkArguments({ schema, operation, fragments, variables: request.variables ?? {} }, { maxStringLength: limits.maxStringLength, maxPageSize: MAX_PAGE_SIZE });
          if (refusal) throw refusalError(refusal);
        },
        async willSendResponse({ response }) {
          if (response.body.kind === 'single') dropEchoesOfPageSizes(response.body.singleResult);
        },
      };
    },
  };
}

function refusalError(refusal: ArgumentRefusal): GraphQLError {
  if (refusal.kind === 'page-size') {
    return libfedError('PAGE_SIZE_OUT_OF_RANGE', pageSizeMessage(refusal.field, refusal.value), { ...badRequest, argument: refusal.argument, field: refusal.field, max: refusal.max });
  }
  if (refusal.kind === 'unstorable') {
    return libfedError('BAD_USER_INPUT', `argument ${refusal.argument} of ${refusal.field} holds a NUL character or an unpaired surrogate, which no branch database can store`, {
      ...badRequest,
      field: refusal.field,
      argument: refusal.argument,
    });
  }
  const { field, argument, length, max } = refusal;
  return libfedError(
    'ARGUMENT_TOO_LONG',
    `argument ${argument} of ${field} is ${length} characters long, over the string length limit of ${max} characters`,
    { ...badRequest, field, argument, max, length },
  );
}

function pageSizeMessage(field: string, value: unknown): string {
  return `${field}: ${PAGE_SIZE_ARGUMENT} must be an integer between 0 and ${MAX_PAGE_SIZE}, got ${JSON.stringify(value)}`;
}

/**
 * A literal `first` out of range is refused during validation, so that
 * `first: 1.5` or `first: 9999999999` — which the spec's rule also refuses,
 * as not an Int — answers PAGE_SIZE_OUT_OF_RANGE like `first: 101`.
 */
export const PageSizeLiterals: ValidationRule = (context) => ({
  Argument(node, _key, _parent, _path, ancestors) {
    const arg = context.getArgument();
    if (node.name.value !== PAGE_SIZE_ARGUMENT || !arg || !context.getFieldDef() || context.getDirective() || getNamedType(arg.type).name !== 'Int') return;
    if (node.value.kind !== Kind.INT && node.value.kind !== Kind.FLOAT) return;
    const value = Number(node.value.value);
    if (Number.isInteger(value) && value >= 0 && value <= MAX_PAGE_SIZE) return;
    // Named by its response path, as checkArguments names it (within a fragment, from the fragment).
    const field = ancestors.filter(isField).map((f) => f.alias?.value ?? f.name.value).join('.');
    context.reportError(
      libfedError('PAGE_SIZE_OUT_OF_RANGE', pageSizeMessage(field, value), { argument: PAGE_SIZE_ARGUMENT, field, max: MAX_PAGE_SIZE }, { nodes: [node.value] }),
    );
  },
});

const isField = (node: ASTNode | readonly ASTNode[]): node is FieldNode => !Array.isArray(node) && (node as ASTNode).kind === Kind.FIELD;

/**
 * One error per mistake: when a literal `first` is out of range, the spec's
 * "Int cannot represent ..." for the same value says less, and armor's cost
 * (which multiplies by a literal `first`) is over only because of it.
 */
function dropEchoesOfPageSizes(result: { errors?: readonly GraphQLFormattedError[] }): void {
  const errors = result.errors;
  if (!errors) return;
  const at = new Set(errors.filter((e) => codeOf(e) === 'PAGE_SIZE_OUT_OF_RANGE' && e.locations).map((e) => JSON.stringify(e.locations)));
  if (!at.size) return;
  const echo = (e: GraphQLFormattedError) =>
    (codeOf(e) === 'GRAPHQL_VALIDATION_FAILED' && at.has(JSON.stringify(e.locations))) || (codeOf(e) === 'QUERY_TOO_COMPLEX' && e.extensions?.limit === 'cost');
  result.errors = errors.filter((e) => !echo(e));
}

/**
 * A JSON array body of more operations than allowed, refused before Apollo
 * runs any of them (Apollo itself has no cap on a batch); undefined for any
 * other body, which Apollo answers.
 */
export function batchRefusal(raw: string, maxBatchSize: number): ErrorJson | undefined {
  if (!raw.trimStart().startsWith('[')) return undefined;
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (!Array.isArray(body) || (maxBatchSize > 1 && body.length <= maxBatchSize)) return undefined;
  const message =
    maxBatchSize > 1
      ? `a batch carries at most ${maxBatchSize} operations (the batch size limit), got ${body.length}`
      : `batching is off (batch size limit 1): send one operation per request, not a JSON array of ${body.length}`;
  return errorJson('BATCH_TOO_LARGE', message, { max: maxBatchSize, size: body.length });
}
