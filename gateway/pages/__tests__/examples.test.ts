import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kind, parse, print, validate, visit, type DocumentNode } from 'graphql';
import { Supergraph } from '@apollo/federation-internals';
import { readSupergraph } from '../../../schema';
import { EXAMPLE_OPERATIONS } from '../examples';

/**
 * Every GraphQL example of README.md: fenced `graphql` blocks, and inline code
 * that is an operation (`{ ... }` or `mutation { ... }`) and parses.
 */
function readmeOperations(): string[] {
  const readme = readFileSync(join(__dirname, '..', '..', '..', 'README.md'), 'utf8');
  const fenced = [...readme.matchAll(/```graphql\n([\s\S]*?)```/g)].map((m) => m[1]);
  const inline = [...readme.replace(/```[\s\S]*?```/g, '').matchAll(/`((?:mutation |query )?\{[^`]*\})`/g)].map((m) => m[1]).filter(parses);
  return [...fenced, ...inline];
}

function parses(text: string): boolean {
  try {
    parse(text);
    return true;
  } catch {
    return false;
  }
}

/** The operation with its name taken away, printed: the explorer names README's anonymous examples. */
function normalised(text: string): string {
  const unnamed = visit(parse(text), { OperationDefinition: (node) => ({ ...node, name: undefined }) }) as DocumentNode;
  return print(unnamed);
}

/** README examples that give their variables on the line after the block: normalised query -> variables. */
function readmeVariables(): Map<string, unknown> {
  const readme = readFileSync(join(__dirname, '..', '..', '..', 'README.md'), 'utf8');
  return new Map([...readme.matchAll(/```graphql\n((?:(?!```)[\s\S])*)```\nvariables: `([^`]*)`/g)].map((m) => [normalised(m[1]), JSON.parse(m[2])]));
}

describe('the explorer examples are the README examples', () => {
  const readme = readmeOperations().map(normalised);
  const examples = EXAMPLE_OPERATIONS.map((e) => normalised(e.query));

  it('finds the README examples at all', () => {
    expect(readme.length).toBeGreaterThanOrEqual(8);
  });

  it('has every README example', () => {
    expect(readme.filter((r) => !examples.includes(r))).toEqual([]);
  });

  it('opens each example with the variables the README gives it', () => {
    const given = readmeVariables();
    expect(given.size).toBeGreaterThanOrEqual(5);
    const opened = new Map(EXAMPLE_OPERATIONS.map((e) => [normalised(e.query), e.variables]));
    expect([...given].map(([q]) => [q, opened.get(q)])).toEqual([...given].map(([q, v]) => [q, v]));
  });

  it('has nothing the README does not show', () => {
    expect(examples.filter((e) => !readme.includes(e))).toEqual([]);
  });

  it('names every example, uniquely, so the explorer can title its tabs', () => {
    const names = EXAMPLE_OPERATIONS.map((e) => {
      const [op] = parse(e.query).definitions;
      return op.kind === Kind.OPERATION_DEFINITION ? op.name?.value : undefined;
    });
    expect(names.every(Boolean)).toBe(true);
    expect(new Set(names).size).toBe(names.length);
  });

  it('validates every example against the API schema', () => {
    const api = Supergraph.build(readSupergraph()).apiSchema().toGraphQLJSSchema();
    for (const e of EXAMPLE_OPERATIONS) expect([e.title, validate(api, parse(e.query)).map((x) => x.message)]).toEqual([e.title, []]);
  });
});
