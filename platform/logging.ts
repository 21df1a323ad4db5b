import pino, { type DestinationStream, type Logger } from 'pino';
import { build as prettyStream, prettyFactory } from 'pino-pretty';
import { trace } from '@opentelemetry/api';
import { currentRequest } from './request-context';

/** `trace`, `debug`, `info` (the default), `warn`, `error`, `fatal` or `silent`. */
export const LOG_LEVEL_ENV = 'LIBFED_LOG_LEVEL';
/** `json` (one object per line) or `pretty` (for a person); unset, pretty only when stdout is a terminal. */
export const LOG_FORMAT_ENV = 'LIBFED_LOG_FORMAT';

export type LogFormat = 'json' | 'pretty';

export interface LoggerOptions {
  /** The `process` field of every line: `gateway`, a site id, `launcher`. */
  process: string;
  /** Default LIBFED_LOG_LEVEL, else `info`. */
  level?: string;
  /** Default from LIBFED_LOG_FORMAT and whether stdout is a terminal (`logFormat`). */
  format?: LogFormat;
  /** Where lines go; default stdout, written synchronously so nothing is lost when the process exits. */
  destination?: DestinationStream;
}

/** The format a process logs in: LIBFED_LOG_FORMAT, else pretty at a terminal and JSON anywhere else. */
export function logFormat(env: NodeJS.ProcessEnv = process.env, isTty = process.stdout.isTTY === true): LogFormat {
  const given = env[LOG_FORMAT_ENV];
  if (given === 'json' || given === 'pretty') return given;
  if (given) throw new Error(`${LOG_FORMAT_ENV} must be json or pretty, got ${JSON.stringify(given)}`);
  return isTty ? 'pretty' : 'json';
}

/**
 * One logger per process. Each line is one JSON object with `time`, `level`
 * (a name, not pino's number, so any reader understands it), `process`,
 * `msg`, and — inside a request — `requestId` and `traceId`, taken from the
 * request scope (platform/request-context.ts) and the active span, so no call
 * site has to pass them along.
 */
export function createLogger(options: LoggerOptions): Logger {
  const format = options.format ?? logFormat();
  const destination = options.destination ?? (format === 'pretty' ? prettyStream({ sync: true, ignore: 'pid,hostname', colorize: process.stdout.isTTY === true }) : pino.destination({ fd: 1, sync: true }));
  return pino(
    {
      level: options.level ?? process.env[LOG_LEVEL_ENV] ?? 'info',
      base: { process: options.process },
      messageKey: 'msg',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      mixin: requestFields,
    },
    destination,
  );
}

function requestFields(): Record<string, string> {
  const fields: Record<string, string> = {};
  const requestId = currentRequest()?.requestId;
  if (requestId) fields.requestId = requestId;
  const span = trace.getActiveSpan()?.spanContext();
  if (span && span.traceFlags & 1) fields.traceId = span.traceId;
  return fields;
}

/**
 * Turns the JSON lines of several processes into lines for a person, each
 * behind its process's name (`[Q3] 12:00:01 INFO: served /loans`); a line that
 * is not JSON (a crash trace on stderr) is shown as it is. For a launcher
 * whose stdout is a terminal.
 */
export function prettyLines(colorize = process.stdout.isTTY === true): (processName: string, line: string) => string {
  const pretty = prettyFactory({ colorize, ignore: 'pid,hostname,process', translateTime: 'SYS:HH:MM:ss.l' });
  return (processName, line) => {
    const text = line.startsWith('{') ? tryPretty(pretty, line) : undefined;
    return `[${processName}] ${text ?? `${line}\n`}`;
  };
}

function tryPretty(pretty: (line: string) => string, line: string): string | undefined {
  try {
    JSON.parse(line);
    return pretty(line);
  } catch {
    return undefined;
  }
}
