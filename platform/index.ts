export { postJson, Unreachable, type HttpAnswer } from './fetch';
export { BodyTooLarge, listen, readBody, readBodyBytes, sendJson, serveApollo, serveApolloBody, type FailureAnswer, type Listening } from './http';
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
export { exitOnSignals, PARENT_PIPE_ENV } from './process';
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
