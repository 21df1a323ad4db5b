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

describe('the explorer examples are the README examples', () => {
  const readme = readmeOperations().map(normalised);
  const examples = EXAMPLE_OPERATIONS.map((e) => normalised(e.query));

  it('finds the README examples at all', () => {
    expect(readme.length).toBeGreaterThanOrEqual(8);
  });

  it('has every README example', () => {
    expect(readme.filter((r) => !examples.includes(r))).toEqual([]);
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
