import fc from 'fast-check';
import { astFromValue, buildSchema, Kind, parse, print, type FragmentDefinitionNode, type GraphQLInputType, type OperationDefinitionNode } from 'graphql';
import { strings } from '../../schema';
import { checkArguments, type ArgumentLimits } from '../arguments';

/** The rule needs only a schema with strings nested every way an input can nest them. */
const schema = buildSchema(`
  directive @tag(name: String) on FIELD
  input Filter { name: String, tags: [String!], and: [Filter!], not: Filter, n: Int }
  type Query { search(q: String, filter: Filter, first: Int = 20): [String], nested: Query }
`);
const Filter = schema.getType('Filter') as GraphQLInputType;
const LIMITS: ArgumentLimits = { maxStringLength: 8, maxPageSize: 100 };

function check(source: string, variables: Record<string, unknown> = {}, limits = LIMITS) {
  const document = parse(source);
  const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
  const fragments = Object.fromEntries(document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((f) => [f.name.value, f]));
  return checkArguments({ schema, operation, fragments, variables }, limits);
}

/** The value at a path the rule reports: `filter.and[0].tags[2]`. */
function at(root: unknown, path: string): unknown {
  return path
    .split(/\.|(?=\[)/)
    .reduce<unknown>((v, part) => (part.startsWith('[') ? (v as unknown[])[Number(part.slice(1, -1))] : (v as Record<string, unknown>)[part]), root);
}

/** Filters nested a few levels deep, with strings on both sides of the limit (8). */
const text = fc.string({ maxLength: 14 });
const { filter } = fc.letrec<{ filter: Record<string, unknown> }>((tie) => ({
  filter: fc.record(
    {
      name: text,
      tags: fc.array(text, { maxLength: 3 }),
      and: fc.array(tie('filter'), { maxLength: 2, depthIdentifier: 'filter' }),
      not: fc.option(tie('filter'), { nil: undefined, depthIdentifier: 'filter' }),
      n: fc.integer(),
    },
    { requiredKeys: [] },
  ),
}));
const tooLong = (value: unknown) => [...strings(value, 'filter')].some(([, s]) => s.length > LIMITS.maxStringLength);

describe('checkArguments: string length', () => {
  it('refuses a variable exactly when some nested string is over the limit, naming it by its path', () => {
    fc.assert(
      fc.property(filter, (f) => {
        const refusal = check('query($f: Filter) { search(filter: $f) }', { f });
        expect(refusal !== undefined).toBe(tooLong(f));
        if (refusal?.kind !== 'too-long') return;
        expect(refusal).toMatchObject({ field: 'search', max: LIMITS.maxStringLength });
        const value = at({ filter: f }, refusal.argument);
        expect(typeof value).toBe('string');
        expect((value as string).length).toBe(refusal.length);
        expect(refusal.length).toBeGreaterThan(LIMITS.maxStringLength);
      }),
    );
  });

  it('gives an inline literal the same answer as the same value in a variable', () => {
    fc.assert(
      fc.property(filter, (f) => {
        const literal = print(astFromValue(f, Filter)!);
        expect(check(`{ search(filter: ${literal}) }`)).toEqual(check('query($f: Filter) { search(filter: $f) }', { f }));
      }),
    );
  });

  it('applies a variable\'s declared default, as execution does', () => {
    expect(check('query($q: String = "123456789") { search(q: $q) }')).toMatchObject({ kind: 'too-long', argument: 'q', length: 9 });
    expect(check('query($q: String = "123456789") { search(q: $q) }', { q: 'short' })).toBeUndefined();
  });

  it('names a field inside fragments by its response path, and directive arguments by the directive', () => {
    const nested = 'query($q: String) { deep: nested { ...F } } fragment F on Query { nested { ... on Query { s: search(q: $q) } } }';
    expect(check(nested, { q: '123456789' })).toEqual({ kind: 'too-long', field: 'deep.nested.s', argument: 'q', length: 9, max: 8 });
    expect(check('{ search @tag(name: "123456789") }')).toMatchObject({ field: 'search @tag', argument: 'name' });
  });

  it('walks a fragment once however often it is spread (no exponential walk)', () => {
    const levels = 40;
    const fragments = Array.from({ length: levels }, (_, i) => `fragment F${i} on Query { nested { ...F${i + 1} ...F${i + 1} } }`).join('\n');
    const source = `query($q: String) { ...F0 } ${fragments} fragment F${levels} on Query { search(q: $q) }`;
    expect(check(source, { q: '123456789' })).toMatchObject({ kind: 'too-long', argument: 'q' });
  });

  it('leaves variables that do not coerce to execution, which refuses them first', () => {
    expect(check('query($f: Filter) { search(filter: $f) }', { f: { name: 'x'.repeat(20), n: 'not an int' } })).toBeUndefined();
  });
});

describe('checkArguments: page size', () => {
  const valid = (v: unknown) => v === null || v === undefined || (Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 100);
  const first = fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constant(null), fc.constant(undefined), fc.constant(2 ** 31));

  it('refuses a `first` variable exactly when it is not null and not an integer 0..100, whatever made it so', () => {
    fc.assert(
      fc.property(first, (f) => {
        const refusal = check('query($f: Int) { nested { search(first: $f) } }', f === undefined ? {} : { f });
        expect(refusal === undefined).toBe(valid(f));
        if (refusal) expect(refusal).toEqual({ kind: 'page-size', field: 'nested.search', argument: 'first', value: f, max: 100 });
      }),
    );
  });

  it('checks a literal `first` too (the validation rule refuses non-Int literals before this runs)', () => {
    expect(check('{ search(first: 101) }')).toMatchObject({ kind: 'page-size', value: 101 });
    expect(check('query($f: Int = -1) { search(first: $f) }')).toMatchObject({ kind: 'page-size', value: -1 });
    expect(check('{ search(first: 100) }')).toBeUndefined();
  });
});
