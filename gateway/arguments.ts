import {
  getArgumentValues,
  getNamedType,
  getVariableValues,
  isInterfaceType,
  isObjectType,
  Kind,
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
  TypeNameMetaFieldDef,
  type DirectiveNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLDirective,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { isStorableText, strings } from '../schema';

/**
 * The argument limits of one operation, checked with its variables coerced
 * as execution will coerce them (declared defaults applied), before the
 * gateway plans anything: every string argument — inline, in a variable, or
 * nested in input objects and lists — is at most `maxStringLength`
 * characters, and every page size (`first`) is an integer 0..maxPageSize.
 * No maintained library checks values this way (graphql-armor counts the
 * document, graphql-constraint-directive needs directives in the SDL), so
 * this small walk is ours. A refusal is a value; the caller turns it into an
 * error.
 */
export interface ArgumentLimits {
  maxStringLength: number;
  maxPageSize: number;
}

export type ArgumentRefusal =
  | { kind: 'too-long'; field: string; argument: string; length: number; max: number }
  | { kind: 'page-size'; field: string; argument: string; value: unknown; max: number }
  /** Text no site database can store: a NUL character, or half of a UTF-16 surrogate pair. */
  | { kind: 'unstorable'; field: string; argument: string };

export interface Operation {
  schema: GraphQLSchema;
  operation: OperationDefinitionNode;
  fragments: Readonly<Record<string, FragmentDefinitionNode>>;
  /** The request's variables as sent (not yet coerced). */
  variables: Readonly<Record<string, unknown>>;
}

/** The page-size argument of every list field (Relay's forward paging). */
export const PAGE_SIZE_ARGUMENT = 'first';

/** The first argument over a limit, in document order, or undefined. */
export function checkArguments(op: Operation, limits: ArgumentLimits): ArgumentRefusal | undefined {
  const coerced = getVariableValues(op.schema, op.operation.variableDefinitions ?? [], op.variables, { maxErrors: 1 });
  // Variables that do not coerce are refused by execution (BAD_USER_INPUT) before any planning; only a page size
  // that is a number but not an Int (1.5, 2^31) is named here, so that every bad `first` answers one code.
  if (coerced.errors) return rawPageSizes(op, limits);
  for (const site of argumentSites(op)) {
    let values: Record<string, unknown>;
    try {
      values = getArgumentValues(site.def, site.node, coerced.coerced);
    } catch {
      continue; // a null for a non-null argument: execution reports it
    }
    const refusal = pageSize(site, values[PAGE_SIZE_ARGUMENT], limits) ?? tooLong(site, values, limits);
    if (refusal) return refusal;
  }
  return undefined;
}

interface Site {
  node: FieldNode | DirectiveNode;
  def: GraphQLField<unknown, unknown> | GraphQLDirective;
  /** Where: the response path of a field (`loans.edges.node.reader`), or a directive there (`books @include`). */
  at: string;
}

function pageSize(site: Site, value: unknown, limits: ArgumentLimits): ArgumentRefusal | undefined {
  if (!hasPageSize(site) || value === undefined || value === null) return undefined;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= limits.maxPageSize) return undefined;
  return { kind: 'page-size', field: site.at, argument: PAGE_SIZE_ARGUMENT, value, max: limits.maxPageSize };
}

function hasPageSize(site: Site): boolean {
  const arg = site.def.args.find((a) => a.name === PAGE_SIZE_ARGUMENT);
  return arg !== undefined && getNamedType(arg.type).name === 'Int';
}

function tooLong(site: Site, values: Record<string, unknown>, limits: ArgumentLimits): ArgumentRefusal | undefined {
  for (const [name, value] of Object.entries(values)) {
    for (const [argument, text] of strings(value, name)) {
      if (text.length > limits.maxStringLength) return { kind: 'too-long', field: site.at, argument, length: text.length, max: limits.maxStringLength };
      if (!isStorableText(text)) return { kind: 'unstorable', field: site.at, argument };
    }
  }
  return undefined;
}

/** When variables do not coerce: a `first` given a variable whose value is a number out of range, or not an integer. */
function rawPageSizes(op: Operation, limits: ArgumentLimits): ArgumentRefusal | undefined {
  for (const site of argumentSites(op)) {
    if (!hasPageSize(site)) continue;
    const arg = site.node.arguments?.find((a) => a.name.value === PAGE_SIZE_ARGUMENT);
    if (arg?.value.kind !== Kind.VARIABLE || !Object.hasOwn(op.variables, arg.value.name.value)) continue;
    const raw = op.variables[arg.value.name.value];
    if (typeof raw === 'number') {
      const refusal = pageSize(site, raw, limits);
      if (refusal) return refusal;
    }
  }
  return undefined;
}

/**
 * Every field and directive of the operation that takes arguments, with its
 * definition. A fragment is walked once (its arguments are the same wherever
 * it is spread), so spreading fragments many times cannot make this walk
 * exponential; its fields are named by the path of its first spread.
 */
export function* argumentSites(op: Operation): Generator<Site> {
  yield* directives(op, op.operation.directives, op.operation.operation);
  const root = op.schema.getRootType(op.operation.operation) ?? undefined;
  yield* selections(op, op.operation.selectionSet, root, '', new Set());
}

function* selections(op: Operation, set: SelectionSetNode, parent: GraphQLNamedType | undefined, path: string, seen: Set<string>): Generator<Site> {
  for (const selection of set.selections) {
    if (selection.kind === Kind.FIELD) {
      const at = path ? `${path}.${selection.alias?.value ?? selection.name.value}` : (selection.alias?.value ?? selection.name.value);
      const def = parent ? fieldDef(op.schema, parent, selection.name.value) : undefined;
      if (def) yield { node: selection, def, at };
      yield* directives(op, selection.directives, at);
      if (selection.selectionSet) yield* selections(op, selection.selectionSet, def ? getNamedType(def.type) : undefined, at, seen);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      yield* directives(op, selection.directives, path);
      const type = selection.typeCondition ? op.schema.getType(selection.typeCondition.name.value) ?? undefined : parent;
      yield* selections(op, selection.selectionSet, type, path, seen);
    } else {
      yield* directives(op, selection.directives, path);
      const name = selection.name.value;
      const fragment = op.fragments[name];
      if (seen.has(name) || !fragment) continue;
      seen.add(name);
      yield* directives(op, fragment.directives, path);
      yield* selections(op, fragment.selectionSet, op.schema.getType(fragment.typeCondition.name.value) ?? undefined, path, seen);
    }
  }
}

function* directives(op: Operation, nodes: readonly DirectiveNode[] | undefined, at: string): Generator<Site> {
  for (const node of nodes ?? []) {
    const def = op.schema.getDirective(node.name.value);
    if (def) yield { node, def, at: `${at} @${node.name.value}`.trim() };
  }
}

function fieldDef(schema: GraphQLSchema, parent: GraphQLNamedType, name: string): GraphQLField<unknown, unknown> | undefined {
  if (name === TypeNameMetaFieldDef.name) return TypeNameMetaFieldDef;
  if (parent === schema.getQueryType() && name === SchemaMetaFieldDef.name) return SchemaMetaFieldDef;
  if (parent === schema.getQueryType() && name === TypeMetaFieldDef.name) return TypeMetaFieldDef;
  return isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[name] : undefined;
}
