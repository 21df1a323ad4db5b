export { postJson, Unreachable, type HttpAnswer } from './fetch';
export { BodyTooLarge, listen, readBody, sendJson, serveApollo, type FailureAnswer, type Listening } from './http';
export { exitOnSignals } from './process';
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
