export { postJson, postJsonHttp, Unreachable, type HttpAnswer } from './fetch';
export { BodyTooLarge, HeadersTooLarge, MalformedHttpRequest, listen, readBody, readBodyBytes, sendJson, serveApollo, serveApolloBody, type FailureAnswer, type Listening } from './http';
export {
  DEFAULT_WINDOW_MS,
  MIN_SECRET_LENGTH,
  NonceCache,
  SIGNATURE_HEADERS,
  SITE_SECRETS_ENV,
  parseSecrets,
  requestSigner,
  sign,
  signFetch,
  verify,
  type NonceCacheOptions,
  type RequestHeaders,
  type RequestSigner,
  type SignedRequest,
  type SignerOptions,
  type Verdict,
} from './signing';
export { exitOnSignals, PARENT_PIPE_ENV, TYPESCRIPT_NODE_ARGS } from './process';
export { periodic, type Periodic } from './periodic';
export {
  CONFIG_OPTION,
  DEFAULT_CONFIG,
  PROJECT_ROOT,
  UsageError,
  defineCommand,
  exitOnUsageError,
  exitWithUsageError,
  helpText,
  parseCommandLine,
  readCommandLine,
  resolveConfig,
  usageLine,
  type Command,
  type OptionSpec,
  type OptionSpecs,
  type ParseResult,
  type Parsed,
  type Values,
} from './args';
export { createLogger, logFormat, prettyLines, LOG_FORMAT_ENV, LOG_LEVEL_ENV, type LogFormat, type LoggerOptions } from './logging';
export { currentRequest, requestIdFrom, runInRequest, REQUEST_ID_HEADER, type RequestScope } from './request-context';
export { startTracing, traceContextFrom, traceHeaders, withSpan, OTLP_ENDPOINT_ENV, SpanKind, SpanStatusCode, type Span, type Tracing, type TracingOptions } from './tracing';
export { TRACE_FILE_ENV, type SpanLine } from './trace-file';
export { boundedLabel } from './labels';
export { collectProcessMetrics, EVENT_LOOP_SAMPLE_MS } from './metrics';
