import fc from 'fast-check';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_OPTION, DEFAULT_CONFIG, PROJECT_ROOT, UsageError, defineCommand, helpText, parseCommandLine, resolveConfig, type Command, type OptionSpecs, type Parsed } from '../args';

const COMMAND = defineCommand({
  usage: 'tsx example.ts [options]',
  description: 'An example command.',
  options: {
    config: CONFIG_OPTION,
    port: { kind: 'integer', default: 4000, min: 0, max: 65535, description: 'port to listen on' },
    'wait-ms': { kind: 'integer', default: 5000, min: 0, description: 'how long to wait' },
    count: { kind: 'integer', min: 1, max: 16, description: 'how many' },
    scale: { kind: 'number', default: 1, greaterThan: 0, description: 'data size factor' },
    ratio: { kind: 'number', min: 0, max: 1, description: 'a fraction' },
    host: { kind: 'string', default: '127.0.0.1', description: 'interface to bind' },
    name: { kind: 'string', description: 'optional name' },
    site: { kind: 'strings', value: 'ID=URL', description: 'site override' },
    'no-cache': { kind: 'boolean', description: 'turn the cache off' },
  },
});

/** Parses and insists on a run (not help), so a test reads the typed values directly. */
function run<T extends OptionSpecs>(argv: string[], command: Command<T>): Parsed<T>;
function run(argv: string[]): Parsed<typeof COMMAND.options>;
function run(argv: string[], command: Command<OptionSpecs> = COMMAND): Parsed<OptionSpecs> {
  const result = parseCommandLine(command, argv);
  if (result.kind !== 'run') throw new Error('expected a run, got help');
  return result;
}

/** The UsageError a line gives, or a failure when it parses. */
function refusal(argv: string[], command: Command<OptionSpecs> = COMMAND): UsageError {
  try {
    parseCommandLine(command, argv);
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(argv)} to be refused`);
}

/** Strings that are not plain decimal integers: letters, blanks, hex, exponents, fractions, NaN, Infinity. */
const notAnInteger = fc.oneof(
  fc.string().filter((s) => !/^[+-]?\d+$/.test(s)),
  fc.constantFrom('', ' ', 'NaN', 'Infinity', '-Infinity', '0x10', '1e3', '1.5', '4000.0', ' 4000', '4000 ', '12abc', '٣'),
);

describe('parseCommandLine', () => {
  it('applies every default when the line is empty', () => {
    const { values, positionals } = run([]);
    expect(values).toEqual({ config: undefined, port: 4000, 'wait-ms': 5000, count: undefined, scale: 1, ratio: undefined, host: '127.0.0.1', name: undefined, site: [], 'no-cache': false });
    expect(positionals).toEqual([]);
  });

  it('returns typed values: numbers as numbers, flags as booleans, lists in order', () => {
    const { values } = run(['--port', '8080', '--no-cache', '--site', 'Q1=http://a', '--site=Q2=http://b', '--host=0.0.0.0', '--scale', '0.25']);
    const port: number = values.port;
    const noCache: boolean = values['no-cache'];
    const sites: string[] = values.site;
    expect([port, noCache, sites, values.host, values.scale]).toEqual([8080, true, ['Q1=http://a', 'Q2=http://b'], '0.0.0.0', 0.25]);
  });

  it('keeps the last of a repeated single-value option, as parseArgs does', () => {
    expect(run(['--port', '1', '--port', '2']).values.port).toBe(2);
  });

  it('accepts every in-range integer, in either spelling', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 65535 }), fc.boolean(), (port, inline) => {
        const argv = inline ? [`--port=${port}`] : ['--port', String(port)];
        expect(run(argv).values.port).toBe(port);
      }),
    );
  });

  it('refuses any text that is not an integer, naming the flag, the value and what it expects', () => {
    fc.assert(
      fc.property(notAnInteger, (text) => {
        expect(refusal([`--port=${text}`]).message).toBe(`--port: expected an integer 0..65535, got ${JSON.stringify(text)}`);
      }),
    );
  });

  it('refuses integers outside the bounds and accepts the bounds exactly', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer({ max: -1 }), fc.integer({ min: 65536 })), (port) => {
        expect(refusal([`--port=${port}`]).message).toBe(`--port: expected an integer 0..65535, got "${port}"`);
      }),
    );
    expect(run(['--port', '0']).values.port).toBe(0);
    expect(run(['--port', '65535']).values.port).toBe(65535);
    expect(run(['--count', '1']).values.count).toBe(1);
    expect(run(['--count', '16']).values.count).toBe(16);
    expect(refusal(['--count', '0']).message).toBe('--count: expected an integer 1..16, got "0"');
    expect(refusal(['--count', '17']).message).toBe('--count: expected an integer 1..16, got "17"');
    expect(run(['--wait-ms', '0']).values['wait-ms']).toBe(0);
    expect(refusal(['--wait-ms=-1']).message).toBe('--wait-ms: expected an integer >= 0, got "-1"');
  });

  it('refuses integers beyond what a double holds exactly', () => {
    const big = { usage: 'x', description: 'x', options: { n: { kind: 'integer', description: 'any integer' } } } as const;
    expect(run(['--n', String(Number.MAX_SAFE_INTEGER)], big).values.n).toBe(Number.MAX_SAFE_INTEGER);
    expect(refusal(['--n', '9007199254740993'], big).message).toBe('--n: expected an integer, got "9007199254740993"');
  });

  it('accepts finite numbers within bounds and refuses the rest, with an exclusive lower bound', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), (x) => {
        expect(run(['--ratio', String(x)]).values.ratio).toBe(Number(String(x)));
      }),
    );
    fc.assert(
      fc.property(fc.double({ noNaN: false }).filter((x) => !(x >= 0 && x <= 1)), (x) => {
        expect(refusal([`--ratio=${x}`]).message).toBe(`--ratio: expected a number 0..1, got ${JSON.stringify(String(x))}`);
      }),
    );
    expect(run(['--scale', '1e-3']).values.scale).toBe(0.001);
    expect(refusal(['--scale', '0']).message).toBe('--scale: expected a number > 0, got "0"');
    for (const text of ['', 'abc', '1e400', 'Infinity', '0x1', '1,5']) {
      expect(refusal([`--scale=${text}`]).message).toBe(`--scale: expected a number > 0, got ${JSON.stringify(text)}`);
    }
  });

  it('refuses a value that is missing, or that looks like the next option', () => {
    expect(refusal(['--port']).message).toBe('--port: expected an integer 0..65535, got nothing');
    expect(refusal(['--host']).message).toBe('--host: expected a value, got nothing');
    expect(refusal(['--port', '--no-cache']).message).toMatch(/^--port: expected an integer 0\.\.65535, got the option-like "--no-cache"/);
    expect(run(['--name=-x']).values.name).toBe('-x');
  });

  it('refuses an unknown flag and lists the known ones', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z][a-z-]{0,12}$/).filter((n) => !(n in COMMAND.options) && n !== 'help'), (name) => {
        const message = refusal([`--${name}`, '1']).message;
        expect(message.startsWith(`--${name}: unknown option; expected one of --config, --port,`)).toBe(true);
        expect(message).toContain('--help');
      }),
    );
    expect(refusal(['-x']).message).toMatch(/^-x: unknown option/);
  });

  it('refuses a value given to a boolean flag, and positionals when the command takes none', () => {
    expect(refusal(['--no-cache=yes']).message).toBe('--no-cache: expected no value, got "yes"');
    expect(refusal(['extra']).message).toBe('unexpected argument "extra": this command takes options only');
  });

  it('returns positionals when the command names them', () => {
    const bench = defineCommand({ usage: 'bench [NAME...]', description: 'd', options: {}, positionals: { name: 'NAME...', description: 'which' } });
    expect(run(['a', 'b', '--', '--c'], bench).positionals).toEqual(['a', 'b', '--c']);
  });

  it('refuses a required option left out', () => {
    const cmd = defineCommand({ usage: 'x', description: 'x', options: { site: { kind: 'string', required: true, description: 'the site' } } });
    expect(refusal([], cmd).message).toBe('--site: expected a value (it is required), got nothing');
    const site: string = run(['--site', 'Q1'], cmd).values.site;
    expect(site).toBe('Q1');
  });
});

describe('--help', () => {
  it('wins wherever it appears, even beside mistakes, as --help or -h', () => {
    for (const argv of [['--help'], ['-h'], ['--port', 'abc', '--help'], ['--bogus', '-h'], ['--port', '--help']]) {
      const result = parseCommandLine(COMMAND, argv);
      expect(result.kind).toBe('help');
    }
  });

  it('prints the usage line, the description and every option with its default', () => {
    const text = helpText(COMMAND);
    const lines = text.split('\n');
    expect(lines[0]).toBe('Usage: tsx example.ts [options]');
    expect(text).toContain('An example command.');
    for (const name of Object.keys(COMMAND.options)) {
      const line = lines.find((l) => l.startsWith(`  --${name} `));
      expect(line).toBeDefined();
      expect(line).toMatch(/default: |required/);
    }
    expect(text).toMatch(/--port N +port to listen on \(integer 0\.\.65535; default: 4000\)/);
    expect(text).toMatch(/--scale N +data size factor \(number > 0; default: 1\)/);
    expect(text).toMatch(/--site ID=URL +site override \(repeatable; default: none\)/);
    expect(text).toMatch(/--no-cache +turn the cache off \(default: false\)/);
    expect(text).toMatch(/--config FILE +.*\(default: schema\/sites\.yaml in the project root\)/);
    expect(text).toMatch(/-h, --help +print this help and exit/);
  });
});

describe('--config', () => {
  it('defaults to schema/sites.yaml in the project root, wherever the process runs', () => {
    expect(existsSync(join(PROJECT_ROOT, 'package.json'))).toBe(true);
    expect(PROJECT_ROOT).toBe(join(__dirname, '..', '..'));
    expect(resolveConfig(undefined, '/somewhere/else')).toBe(join(PROJECT_ROOT, DEFAULT_CONFIG));
    expect(existsSync(resolveConfig(undefined))).toBe(true);
  });

  it('takes a relative --config from the current directory and an absolute one as given', () => {
    expect(resolveConfig('my.yaml', '/tmp/work')).toBe('/tmp/work/my.yaml');
    expect(resolveConfig('../x/sites.yaml', '/tmp/work')).toBe('/tmp/x/sites.yaml');
    expect(resolveConfig('/etc/libfed/sites.yaml', '/tmp/work')).toBe('/etc/libfed/sites.yaml');
    expect(resolveConfig('schema/sites.yaml')).toBe(join(process.cwd(), 'schema/sites.yaml'));
  });

  it('is undefined after parsing until resolved, so "not given" stays distinguishable', () => {
    expect(run([]).values.config).toBeUndefined();
    expect(resolveConfig(run(['--config', 'a.yaml']).values.config, '/w')).toBe('/w/a.yaml');
  });
});
