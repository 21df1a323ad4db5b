import type { ApolloServerPlugin } from '@apollo/server';
import { getNamedType, TypeInfo, visit, visitWithTypeInfo, type DocumentNode, type FieldNode, type GraphQLCompositeType, type GraphQLField, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { getArgumentValues } from 'graphql/execution/values';
import { libfedError } from '../../schema';
import type { Caller, GatewayContext } from './caller';

/**
 * Who may read and write what (docs/ARCHITECTURE.md §6), checked on the
 * whole operation before anything is planned, fetched or read from the
 * cache — so a cached answer never reaches a caller who may not read it:
 *
 * - anonymous: the catalogue and availability (branches, books, copies and
 *   their status), and `login`;
 * - THUTHU (a librarian): reads everything but the managers' views; writes
 *   the lending desk's mutations, at their own branch only (checked once the
 *   mutation's branch is known: `branchRefusal`);
 * - QUANLY (a manager): everything.
 */
const ANONYMOUS_FIELDS: Record<string, readonly string[] | '*'> = {
  Query: ['branches', 'branch', 'book', 'books', 'copy'],
  Mutation: ['login'],
  Branch: '*',
  Book: ['isbn', 'title', 'author', 'version', 'copies', 'availability'],
  BookConnection: '*',
  BookEdge: '*',
  PageInfo: '*',
  Copy: ['id', 'book', 'branch', 'status'],
  BranchAvailability: '*',
  Session: '*',
  StaffAccount: [],
};

/** Fields only managers use: chain-wide operations, accounts, the audit trail. */
const MANAGER_ONLY = new Set([
  'Query.transactions',
  'Query.auditLog',
  'Query.staffAccounts',
  'Query.staffAccount',
  'Mutation.addBook',
  'Mutation.updateBook',
  'Mutation.addBranch',
  'Mutation.createStaffAccount',
  'Mutation.setStaffAccountDisabled',
  'Mutation.resetStaffPassword',
]);

/**
 * Reports a librarian reads for their own branch only: the field's `branchId`
 * must name it. A chain-wide one (no `branchId`) or another branch's is for
 * managers.
 */
const BRANCH_REPORTS = new Set(['systemStats', 'circulation', 'topBooks', 'borrowingMatrix', 'overdueReport']);

function allowed(caller: Caller, type: string, field: string): boolean {
  if (field.startsWith('__') || type.startsWith('__')) return true;
  if (caller.role === 'QUANLY') return true;
  if (caller.role === 'THUTHU') return !MANAGER_ONLY.has(`${type}.${field}`);
  const fields = ANONYMOUS_FIELDS[type];
  return fields === '*' || (fields?.includes(field) ?? false);
}

/**
 * The first field of `operation` (and of the document's fragments) for which
 * `test` answers something, and that answer. Every fragment is walked, spread
 * or not: a fragment that is not spread is a validation error anyway.
 */
function firstField<T>(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  test: (node: FieldNode, parent: GraphQLCompositeType, def: GraphQLField<unknown, unknown> | null | undefined) => T | undefined,
): T | undefined {
  const typeInfo = new TypeInfo(schema);
  let found: T | undefined;
  const parts = { ...document, definitions: document.definitions.filter((d) => d.kind !== 'OperationDefinition' || d === operation) };
  visit(
    parts,
    visitWithTypeInfo(typeInfo, {
      Field(node) {
        const parent = typeInfo.getParentType();
        if (found === undefined && parent) found = test(node, parent, typeInfo.getFieldDef());
      },
    }),
  );
  return found;
}

/**
 * Per parsed operation (Apollo keeps parsed documents per query text, so a
 * repeated query is the same node) and schema, the answer of `firstForbidden`
 * per role: it depends on nothing else, and the walk is most of the check.
 */
const forbiddenByOperation = new WeakMap<OperationDefinitionNode, { schema: GraphQLSchema; byRole: Map<Caller['role'], string | null> }>();

/** The first field of `operation` (and the fragments it spreads) the caller may not use, as `Type.field`. */
export function firstForbidden(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, caller: Caller): string | undefined {
  let known = forbiddenByOperation.get(operation);
  if (known?.schema !== schema) forbiddenByOperation.set(operation, (known = { schema, byRole: new Map() }));
  let field = known.byRole.get(caller.role);
  if (field === undefined) {
    field = firstField(schema, document, operation, (node, parent) => (allowed(caller, getNamedType(parent).name, node.name.value) ? undefined : `${parent.name}.${node.name.value}`)) ?? null;
    known.byRole.set(caller.role, field);
  }
  return field ?? undefined;
}

/** A librarian's report that is chain-wide or about another branch, as `Query.field`, with the branch it named. */
export function reportOutsideBranch(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  caller: Caller,
  variables: Record<string, unknown>,
): { field: string; branch: string | null } | undefined {
  if (caller.role !== 'THUTHU') return undefined;
  return firstField(schema, document, operation, (node, parent, def) => {
    if (!def || parent !== schema.getQueryType() || !BRANCH_REPORTS.has(node.name.value)) return undefined;
    let branch: unknown;
    try {
      branch = getArgumentValues(def, node, variables).branchId;
    } catch {
      return undefined; // arguments that do not coerce: execution refuses them
    }
    return branch === caller.branch ? undefined : { field: `Query.${node.name.value}`, branch: typeof branch === 'string' ? branch : null };
  });
}

export function reportForbidden(caller: Caller, refusal: { field: string; branch: string | null }) {
  const what = refusal.branch ? `branch ${refusal.branch}` : 'the whole chain (no branchId)';
  return libfedError('FORBIDDEN', `${refusal.field} asks about ${what}; a librarian of ${caller.branch} reads reports with branchId: "${caller.branch}" only, chain-wide reports are for managers (QUANLY)`, {
    field: refusal.field,
    branch: refusal.branch,
    http: { status: 403 },
  });
}

/** `http`: the status Apollo answers a request refused before execution with (it is not shown to the client). */
export function forbidden(caller: Caller, field: string) {
  if (caller.role === 'ANONYMOUS') {
    return libfedError('UNAUTHENTICATED', `${field} needs a staff login: log in with the login mutation and send Authorization: Bearer <token>`, { field, http: { status: 401 } });
  }
  return libfedError('FORBIDDEN', `a ${caller.role === 'THUTHU' ? 'librarian (THUTHU)' : 'caller'} may not use ${field}; it is for managers (QUANLY)`, { field, http: { status: 403 } });
}

/** A librarian's mutation that acts at another branch; managers act anywhere. */
export function branchRefusal(caller: Caller, field: string, actsAt: string | null | undefined) {
  if (caller.role === 'QUANLY') return undefined;
  if (caller.role === 'THUTHU' && actsAt && actsAt === caller.branch) return undefined;
  if (caller.role === 'THUTHU' && actsAt) {
    return libfedError('FORBIDDEN_BRANCH', `${field} acts at branch ${actsAt}; a librarian of ${caller.branch} acts only at ${caller.branch}`, { branch: actsAt });
  }
  return forbidden(caller, `Mutation.${field}`);
}

/** A mutation refused here, for the audit trail: its root fields and arguments (inline ones; variables by name). */
export type RefusedMutation = (caller: Caller, fields: { name: string; args: Record<string, unknown> }[], code: string) => Promise<void>;

/** The check, as an Apollo plugin: after the operation is parsed and validated, before it is planned. */
export function authorization(onRefusedMutation?: RefusedMutation): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, operation, contextValue, request }) {
          // Refused here, as Apollo does without a gateway: @apollo/gateway would answer these with a 500.
          if (!operation) {
            throw libfedError('OPERATION_RESOLUTION_FAILURE', request.operationName ? `the document has no operation named ${request.operationName}` : 'the document has several operations: name the one to run in operationName', { http: { status: 400 } });
          }
          if (operation.operation === 'subscription') throw libfedError('BAD_REQUEST', 'LibFed serves queries and mutations, not subscriptions', { http: { status: 400 } });
          const field = firstForbidden(schema, document, operation, contextValue.caller);
          if (!field) {
            const report = reportOutsideBranch(schema, document, operation, contextValue.caller, request.variables ?? {});
            if (report) throw reportForbidden(contextValue.caller, report);
            return;
          }
          const error = forbidden(contextValue.caller, field);
          if (operation.operation === 'mutation' && onRefusedMutation) {
            const fields = operation.selectionSet.selections.flatMap((s) => (s.kind === 'Field' ? [{ name: s.name.value, args: argumentsOf(schema, s, request.variables ?? {}) }] : []));
            await onRefusedMutation(contextValue.caller, fields, String(error.extensions.code));
          }
          throw error;
        },
      };
    },
  };
}

/**
 * A refused mutation field's own arguments, as execution would read them
 * (the audit trail then hides secret ones by name); never the request's
 * whole variables, which may carry values for other fields.
 */
function argumentsOf(schema: GraphQLSchema, field: FieldNode, variables: Record<string, unknown>): Record<string, unknown> {
  const definition = schema.getMutationType()?.getFields()[field.name.value];
  if (!definition) return {};
  try {
    return getArgumentValues(definition, field, variables);
  } catch {
    return { unreadable: 'the arguments do not match the field' };
  }
}
