import fc from 'fast-check';
import { buildSchema, parse, type OperationDefinitionNode } from 'graphql';
import { ANONYMOUS, type Caller } from '../caller';
import { firstForbidden } from '../policy';

const SDL = `
  type Query { books: [Book] transactions: [String] auditLog: [String] copy(id: ID!): Copy }
  type Mutation { login(username: String!, password: String!): String addBook(title: String!): Book }
  type Book { isbn: ID title: String }
  type Copy { id: ID status: String }
`;
const librarian: Caller = { username: 'thuthu_q1', role: 'THUTHU', branch: 'Q1' };
const manager: Caller = { username: 'quanly', role: 'QUANLY', branch: null };

function operationOf(text: string) {
  const document = parse(text);
  return { document, operation: document.definitions.find((d): d is OperationDefinitionNode => d.kind === 'OperationDefinition')! };
}

/** Apollo hands the same parsed document to every request of one query text: the check is remembered per operation and role. */
describe('firstForbidden, remembered per parsed operation', () => {
  const schema = buildSchema(SDL);

  it('answers each role for itself, in any order, however often the same document is checked', () => {
    const cases = [
      { text: '{ books { title } transactions }', answers: { ANONYMOUS: 'Query.transactions', THUTHU: 'Query.transactions', QUANLY: undefined } },
      { text: 'query Q { copy(id: "Q1-1") { status } books { isbn } }', answers: { ANONYMOUS: undefined, THUTHU: undefined, QUANLY: undefined } },
      { text: 'fragment F on Copy { id } { copy(id: "x") { ...F } auditLog }', answers: { ANONYMOUS: 'Query.auditLog', THUTHU: 'Query.auditLog', QUANLY: undefined } },
      { text: 'mutation { addBook(title: "Tắt đèn") { title } }', answers: { ANONYMOUS: 'Mutation.addBook', THUTHU: 'Mutation.addBook', QUANLY: undefined } },
      { text: '{ copy(id: "x") { id } books { title } }', answers: { ANONYMOUS: undefined, THUTHU: undefined, QUANLY: undefined } },
    ].map((c) => ({ ...c, ...operationOf(c.text) }));
    const callers = [ANONYMOUS, librarian, manager];
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(cases.length - 1), fc.nat(callers.length - 1)), { minLength: 1, maxLength: 30 }), (checks) => {
        for (const [c, who] of checks) {
          const { document, operation, answers } = cases[c];
          const caller = callers[who];
          expect(firstForbidden(schema, document, operation, caller)).toBe(answers[caller.role]);
        }
      }),
    );
  });

  it('walks the operation again under another schema (a new supergraph)', () => {
    const { document, operation } = operationOf('{ copy(id: "x") { status } }');
    expect(firstForbidden(schema, document, operation, ANONYMOUS)).toBeUndefined();
    // In this schema `copy` answers a type anonymous callers may not read: the first schema's answer must not be reused.
    const other = buildSchema(SDL.replace('copy(id: ID!): Copy', 'copy(id: ID!): Reader').replace('type Copy {', 'type Reader { status: String }\n  type Copy {'));
    expect(firstForbidden(other, document, operation, ANONYMOUS)).toBe('Reader.status');
    expect(firstForbidden(schema, document, operation, ANONYMOUS)).toBeUndefined();
  });
});
