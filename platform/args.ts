import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

/**
 * One command-line reader for every LibFed entry point. Each command declares
 * its options once (kind, default, one line of help, bounds for numbers); the
 * same table then parses, validates, and prints `--help`, so a flag cannot be
 * documented in one place and parsed differently in another. It sits on
 * `node:util` parseArgs (no dependency) but validates itself: parseArgs leaves
 * numbers as strings, and `Number(...)` lets `NaN`, `""` and `0x10` through.
 */

interface OptionBase {
  /** One line for `--help`. */
  description: string;
  /** The value's name in `--help` (`--config FILE`); by default N for numbers, VALUE otherwise. */
  value?: string;
  /** What `--help` shows as the default when the value alone would mislead (computed, or decided later). */
  defaultText?: string;
  /** A one-letter alias, `-x`. */
  short?: string;
}

export interface StringOption extends OptionBase {
  kind: 'string';
  default?: string;
  required?: boolean;
}

/** A flag without a value; absent means false. */
export interface BooleanOption extends OptionBase {
  kind: 'boolean';
}

interface Bounds {
  /** Inclusive bounds. */
  min?: number;
  max?: number;
}

export interface IntegerOption extends OptionBase, Bounds {
  kind: 'integer';
  default?: number;
  required?: boolean;
}

export interface NumberOption extends OptionBase, Bounds {
  kind: 'number';
  default?: number;
  required?: boolean;
  /** Exclusive lower bound, for "any positive number" (`greaterThan: 0`). */
  greaterThan?: number;
}

/** A repeatable string option: `--site A=x --site B=y` gives `['A=x', 'B=y']`. */
export interface StringListOption extends OptionBase {
  kind: 'strings';
  default?: readonly string[];
}

export type OptionSpec = StringOption | BooleanOption | IntegerOption | NumberOption | StringListOption;
export type OptionSpecs = Record<string, OptionSpec>;

export interface Command<T extends OptionSpecs> {
  /** The usage line after `Usage: `, e.g. `tsx gateway/main.ts [options]`. */
  usage: string;
  /** What the command does, for `--help`. */
  description: string;
  options: T;
  /** Accept positional arguments (named here for `--help`); without it any is refused. */
  positionals?: { name: string; description: string };
}

type BaseValue<S> = S extends { kind: 'boolean' } ? boolean : S extends { kind: 'strings' } ? string[] : S extends { kind: 'string' } ? string : number;
/** An option is `undefined` only when it has neither a default nor `required` (booleans and lists never are). */
type Value<S> = S extends { kind: 'boolean' | 'strings' } | { default: string | number } | { required: true } ? BaseValue<S> : BaseValue<S> | undefined;
export type Values<T extends OptionSpecs> = { -readonly [K in keyof T]: Value<T[K]> };

export interface Parsed<T extends OptionSpecs> {
  values: Values<T>;
  positionals: string[];
}

export type ParseResult<T extends OptionSpecs> = ({ kind: 'run' } & Parsed<T>) | { kind: 'help'; text: string };

/**
 * A command line the caller got wrong. Thrown, not exited on, so the parser
 * can be tested in process; `readCommandLine` turns it into exit status 2.
 */
export class UsageError extends Error {
  override name = 'UsageError';

  /** The usual shape: `--port: expected an integer 0..65535, got "abc"`. */
  static expected(flag: string, given: string | undefined, expected: string): UsageError {
    return new UsageError(`${flag}: expected ${expected}, got ${given === undefined ? 'nothing' : JSON.stringify(given)}`);
  }
}

/** Keeps `T` literal (`kind: 'integer'`, `default: 4000`) so `Values<T>` can type each option. */
export function defineCommand<const T extends OptionSpecs>(command: Command<T>): Command<T> {
  return command;
}

/**
 * Parses `argv` against `command`, or returns the help text when `--help` or
 * `-h` is anywhere in it (help wins over any other mistake on the line).
 * Throws `UsageError` for an unknown flag, a missing value or a bad number.
 */
export function parseCommandLine<T extends OptionSpecs>(command: Command<T>, argv: readonly string[]): ParseResult<T> {
  const tokens = tokenize(command.options, argv);
  if (tokens.some(asksForHelp)) return { kind: 'help', text: helpText(command) };
  const given: Record<string, unknown> = {};
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'positional') positionals.push(token.value);
    else if (token.kind === 'option') take(command.options, token, given);
  }
  if (!command.positionals && positionals.length) {
    throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}: this command takes options only`);
  }
  return { kind: 'run', values: withDefaults(command.options, given) as Values<T>, positionals };
}

/**
 * The entry point's side of `parseCommandLine`: prints the help and exits 0,
 * or prints a usage error and exits 2, the Unix status for a bad command line.
 */
export function readCommandLine<T extends OptionSpecs>(command: Command<T>, argv: readonly string[] = process.argv.slice(2)): Parsed<T> {
  let result: ParseResult<T>;
  try {
    result = parseCommandLine(command, argv);
  } catch (error) {
    exitOnUsageError(error);
    throw error;
  }
  if (result.kind === 'run') return result;
  process.stdout.write(result.text);
  process.exit(0);
}

/** For checks only the entry point can make (a site id of the config, a duration): same line, same status 2. */
export function exitWithUsageError(error: UsageError): never {
  process.stderr.write(`${usageLine(error)}\n`);
  process.exit(2);
}

/** The one line a usage error prints: the message, then where to look. */
export function usageLine(error: UsageError): string {
  return `${error.message.replace(/\.$/, '')}; see --help`;
}

/** For an entry point's catch-all: a `UsageError` exits 2 here, anything else is left to the caller. */
export function exitOnUsageError(error: unknown): void {
  if (error instanceof UsageError) exitWithUsageError(error);
}

type Token = NonNullable<ReturnType<typeof parseArgs>['tokens']>[number];
type OptionToken = Extract<Token, { kind: 'option' }>;

/** Non-strict parseArgs only splits the line: the checks below word their own errors, naming the flag. */
function tokenize(options: OptionSpecs, argv: readonly string[]): Token[] {
  const config: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const [name, spec] of Object.entries(options)) {
    config[name] = { type: spec.kind === 'boolean' ? 'boolean' : 'string', multiple: spec.kind === 'strings', ...(spec.short ? { short: spec.short } : {}) };
  }
  return parseArgs({ args: [...argv], options: config, strict: false, allowPositionals: true, tokens: true }).tokens ?? [];
}

/** `--port --help` reads `--help` as the port: the user still asked for help. */
function asksForHelp(token: Token): boolean {
  if (token.kind !== 'option') return false;
  return token.name === 'help' || (!token.inlineValue && (token.value === '--help' || token.value === '-h'));
}

/** Checks and converts one option occurrence into `given`; a repeated single-value option keeps the last. */
function take(options: OptionSpecs, token: OptionToken, given: Record<string, unknown>): void {
  const flag = `--${token.name}`;
  const spec = Object.hasOwn(options, token.name) ? options[token.name] : undefined;
  if (!spec) throw new UsageError(`${token.rawName}: unknown option; expected one of ${Object.keys(options).map((n) => `--${n}`).concat('--help').join(', ')}`);
  if (spec.kind === 'boolean') {
    if (token.value !== undefined) throw UsageError.expected(flag, token.value, 'no value');
    given[token.name] = true;
    return;
  }
  const raw = token.value;
  if (raw === undefined) throw UsageError.expected(flag, undefined, expected(spec));
  // As strict parseArgs does: `--port --host x` is a forgotten value, not a port called "--host".
  if (!token.inlineValue && raw.length > 1 && raw.startsWith('-')) {
    throw new UsageError(`${flag}: expected ${expected(spec)}, got the option-like ${JSON.stringify(raw)} (write ${flag}=${raw} if it is the value)`);
  }
  if (spec.kind === 'strings') given[token.name] = [...((given[token.name] as string[] | undefined) ?? []), raw];
  else given[token.name] = spec.kind === 'string' ? raw : toNumber(flag, spec, raw);
}

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** Only plain decimal text counts: `Number('')` is 0, `Number('0x10')` 16, `Number('1e400')` Infinity. */
function toNumber(flag: string, spec: IntegerOption | NumberOption, raw: string): number {
  const integer = spec.kind === 'integer';
  const n = (integer ? INTEGER : DECIMAL).test(raw) ? Number(raw) : NaN;
  const ok = (integer ? Number.isSafeInteger(n) : Number.isFinite(n)) && inRange(spec, n);
  if (!ok) throw UsageError.expected(flag, raw, expected(spec));
  return n;
}

function inRange(spec: IntegerOption | NumberOption, n: number): boolean {
  if (spec.min !== undefined && n < spec.min) return false;
  if (spec.max !== undefined && n > spec.max) return false;
  return spec.kind !== 'number' || spec.greaterThan === undefined || n > spec.greaterThan;
}

/** What a value of `spec` must look like, for errors and help alike. */
function expected(spec: OptionSpec): string {
  if (spec.kind === 'integer') return `an integer${rangeText(spec)}`;
  if (spec.kind === 'number') return `a number${rangeText(spec)}`;
  return spec.kind === 'boolean' ? 'no value' : 'a value';
}

function rangeText(spec: IntegerOption | NumberOption): string {
  const bounds: string[] = [];
  if (spec.kind === 'number' && spec.greaterThan !== undefined) bounds.push(`> ${spec.greaterThan}`);
  if (spec.min !== undefined && spec.max !== undefined) bounds.push(`${spec.min}..${spec.max}`);
  else if (spec.min !== undefined) bounds.push(`>= ${spec.min}`);
  else if (spec.max !== undefined) bounds.push(`<= ${spec.max}`);
  return bounds.length ? ` ${bounds.join(' and ')}` : '';
}

/** Fills what the line did not give: the declared default, false, [], or a usage error when required. */
function withDefaults(options: OptionSpecs, given: Record<string, unknown>): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(options)) {
    if (Object.hasOwn(given, name)) values[name] = given[name];
    else if (spec.kind === 'boolean') values[name] = false;
    else if (spec.kind === 'strings') values[name] = [...(spec.default ?? [])];
    else if (spec.required) throw UsageError.expected(`--${name}`, undefined, `${expected(spec)} (it is required)`);
    else values[name] = spec.default;
  }
  return values;
}

/** Usage line, description, then one line per option with what it takes and its default. */
export function helpText<T extends OptionSpecs>(command: Command<T>): string {
  const rows: [string, string][] = Object.entries(command.options).map(([name, spec]) => [optionLabel(name, spec), `${spec.description} (${details(spec)})`]);
  rows.push(['-h, --help', 'print this help and exit']);
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  const lines = [`Usage: ${command.usage}`, '', command.description, ''];
  if (command.positionals) lines.push(`  ${command.positionals.name}  ${command.positionals.description}`, '');
  lines.push('Options:', ...rows.map(([label, text]) => `  ${label.padEnd(width)}${text}`));
  return `${lines.join('\n')}\n`;
}

function optionLabel(name: string, spec: OptionSpec): string {
  const short = spec.short ? `-${spec.short}, ` : '';
  if (spec.kind === 'boolean') return `${short}--${name}`;
  return `${short}--${name} ${spec.value ?? (spec.kind === 'integer' || spec.kind === 'number' ? 'N' : 'VALUE')}`;
}

function details(spec: OptionSpec): string {
  const parts: string[] = [];
  if (spec.kind === 'integer' || spec.kind === 'number') parts.push(expected(spec).replace(/^an? /, ''));
  if (spec.kind === 'strings') parts.push('repeatable');
  if (spec.kind !== 'boolean' && spec.kind !== 'strings' && spec.required) parts.push('required');
  else parts.push(`default: ${defaultText(spec)}`);
  return parts.join('; ');
}

function defaultText(spec: OptionSpec): string {
  if (spec.defaultText !== undefined) return spec.defaultText;
  if (spec.kind === 'boolean') return 'false';
  if (spec.kind === 'strings') return spec.default?.length ? spec.default.join(' ') : 'none';
  return spec.default === undefined ? 'none' : String(spec.default);
}

/** The directory holding package.json, found from this file, so it does not depend on where the process started. */
function findProjectRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return resolve(from, '..');
  }
}

export const PROJECT_ROOT = findProjectRoot(__dirname);
export const DEFAULT_CONFIG = 'schema/sites.yaml';

/**
 * `--config FILE` as every entry point declares it. It has no parse-time
 * default on purpose: `resolveConfig` must tell "not given" (the project's
 * file, wherever the process runs) from a relative path the user typed (taken
 * from their current directory, as a shell user expects).
 */
export const CONFIG_OPTION = {
  kind: 'string',
  value: 'FILE',
  description: 'sites config; a relative path is taken from the current directory',
  defaultText: `${DEFAULT_CONFIG} in the project root`,
} as const satisfies StringOption;

/** The absolute sites config for a `--config` value (`undefined` when the line gave none). */
export function resolveConfig(given: string | undefined, cwd: string = process.cwd()): string {
  return given === undefined ? join(PROJECT_ROOT, DEFAULT_CONFIG) : resolve(cwd, given);
}
