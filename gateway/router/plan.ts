import { createHash } from 'node:crypto';
import {
  Kind,
  parse,
  print,
  valueFromASTUntyped,
  visit,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionNode,
} from 'graphql';
import type { EntityRule, GatherRule, RootRule, SubgraphDistribution } from '../../schema';
import { injectForMerge, mergeShape, type MergeShape } from './inject';
import { fieldsOf, responseKey, withoutSelection, withVariableArguments, type Fragments } from './selection';

/**
 * What the router does with one fetch document, worked out once per distinct
 * query text and cached: the planner sends the same texts again and again.
 */

/** A gathered field inside an answer, with the field node (its arguments pick sites and limits). */
export interface GatheredField {
  key: string;
  field: FieldNode;
  shape: MergeShape;
}

export interface RootFieldPlan {
  key: string;
  field: FieldNode;
  rule: RootRule;
  /** The document sent to sites: this root field alone, with merge selections added. */
  query: string;
  gathered?: GatheredField;
  /**
   * A gathered page (a SORTED connection with a limit): `query` takes the page size and cursor each site
   * is asked for as `$__lf_first` and `$__lf_after`, and `more` is the document of a second round (pages.ts),
   * the same without `totalCount`, which the first round already brought.
   */
  more?: string;
}

export interface EntityTypePlan {
  rule: EntityRule;
  gathered: GatheredField[];
}

/** A coordinated mutation field: run by the coordinator, then answered by reading back the entity it produced. */
export interface MutationFieldPlan {
  key: string;
  field: FieldNode;
  /** `query($__lf_key: ID!) { <key>: <readBack>(<arg>: $__lf_key) { ...the mutation's selection } }`; none for a view. */
  readBackQuery: string;
  /** A `@coordinatorView` mutation (`login`): the gateway answers it, nothing is read back. */
  view?: boolean;
}

type FetchShape =
  | { kind: 'roots'; fields: RootFieldPlan[] }
  | { kind: 'entities'; query: string; types: Map<string, EntityTypePlan>; variant: string }
  | { kind: 'mutation'; fields: MutationFieldPlan[] };

export type FetchPlan = FetchShape & {
  /** The declared defaults of the fetch's variables (`query($f: Int = 5)`), as execution applies them. */
  defaults: Record<string, unknown>;
};

export const READ_BACK_KEY = '__lf_key';

/** The variables a gathered page's document takes its per-site page size and cursor from (pages.ts). */
export const PAGE_FIRST = '__lf_first';
export const PAGE_AFTER = '__lf_after';
const PAGE_VARIABLES = (parse(`query($${PAGE_FIRST}: Int, $${PAGE_AFTER}: String) { a }`).definitions[0] as OperationDefinitionNode).variableDefinitions ?? [];

/** A gathered connection paged by keyset with a limit: sites can be asked for fewer rows than the page (pages.ts). */
export function isPage(rule: GatherRule): boolean {
  return rule.merge === 'SORTED' && rule.shape === 'connection' && rule.limitArg !== undefined;
}

export class UnroutableFetch extends Error {}

function fragmentsOf(doc: DocumentNode): Map<string, FragmentDefinitionNode> {
  return new Map(
    doc.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
  );
}

function operationOf(doc: DocumentNode): OperationDefinitionNode {
  const ops = doc.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  if (ops.length !== 1) throw new UnroutableFetch(`a fetch carries exactly one operation, got ${ops.length}`);
  return ops[0];
}

/** Variables and fragments a node uses, so a split document declares only those (unused ones are invalid GraphQL). */
function usedNames(node: FieldNode | FragmentDefinitionNode, fragments: Fragments, vars = new Set<string>(), frags = new Set<string>()) {
  visit(node, {
    Variable: (v) => {
      vars.add(v.name.value);
    },
    FragmentSpread: (s) => {
      if (frags.has(s.name.value)) return;
      frags.add(s.name.value);
      const def = fragments.get(s.name.value);
      if (def) usedNames(def, fragments, vars, frags);
    },
  });
  return { vars, frags };
}

function singleFieldDocument(op: OperationDefinitionNode, field: FieldNode, fragments: Fragments): string {
  const { vars, frags } = usedNames(field, fragments);
  const doc: DocumentNode = {
    kind: Kind.DOCUMENT,
    definitions: [
      {
        ...op,
        variableDefinitions: op.variableDefinitions?.filter((v) => vars.has(v.variable.name.value)),
        selectionSet: { kind: Kind.SELECTION_SET, selections: [field] },
      },
      ...[...frags].map((name) => fragments.get(name)!).filter(Boolean),
    ],
  };
  return print(doc);
}

function planRoots(op: OperationDefinitionNode, fragments: Fragments, dist: SubgraphDistribution): FetchShape {
  const fields = fieldsOf(op.selectionSet, fragments).map((field): RootFieldPlan => {
    const key = responseKey(field);
    if (field.name.value === '__typename') {
      return { key, field, rule: { kind: 'replicated' }, query: singleFieldDocument(op, field, fragments) };
    }
    const rule = dist.roots.get(field.name.value);
    if (!rule) throw new UnroutableFetch(`${dist.name} has no distribution rule for Query.${field.name.value}`);
    if (rule.kind !== 'gather') return { key, field, rule, query: singleFieldDocument(op, field, fragments) };
    const sent = injectForMerge(field, rule.rule);
    const gathered = { key, field, shape: mergeShape(field, rule.rule, fragments) };
    if (!isPage(rule.rule)) return { key, field, rule, query: singleFieldDocument(op, sent, fragments), gathered };
    const paged = withVariableArguments(sent, { [rule.rule.limitArg!]: PAGE_FIRST, after: PAGE_AFTER });
    const pagedOp: OperationDefinitionNode = { ...op, variableDefinitions: [...(op.variableDefinitions ?? []), ...PAGE_VARIABLES] };
    const more = singleFieldDocument(pagedOp, withoutSelection(paged, 'totalCount'), fragments);
    return { key, field, rule, query: singleFieldDocument(pagedOp, paged, fragments), gathered, more };
  });
  return { kind: 'roots', fields };
}

function planEntities(op: OperationDefinitionNode, entities: FieldNode, fragments: Fragments, dist: SubgraphDistribution): FetchShape {
  const types = new Map<string, EntityTypePlan>();
  const rewrite = (selection: SelectionNode): SelectionNode => {
    if (selection.kind !== Kind.INLINE_FRAGMENT || !selection.typeCondition) return selection;
    const typeName = selection.typeCondition.name.value;
    const rule = dist.entities.get(typeName);
    if (!rule) throw new UnroutableFetch(`${dist.name} has no distribution rule for entity ${typeName}`);
    const plan: EntityTypePlan = types.get(typeName) ?? { rule, gathered: [] };
    types.set(typeName, plan);
    if (rule.kind !== 'gather') return selection;
    const selections = selection.selectionSet.selections.map((s) => {
      const fieldRule: GatherRule | undefined = s.kind === Kind.FIELD ? rule.fields.get(s.name.value) : undefined;
      if (s.kind !== Kind.FIELD || !fieldRule) return s;
      plan.gathered.push({ key: responseKey(s), field: s, shape: mergeShape(s, fieldRule, fragments) });
      return injectForMerge(s, fieldRule);
    });
    return { ...selection, selectionSet: { ...selection.selectionSet, selections } };
  };
  const sent: FieldNode = {
    ...entities,
    selectionSet: entities.selectionSet && { ...entities.selectionSet, selections: entities.selectionSet.selections.map(rewrite) },
  };
  const text = singleFieldDocument(op, sent, fragments);
  // Cached entity answers are kept per selection: the same entity fetched with another selection is another entry.
  return { kind: 'entities', query: text, types, variant: `${dist.name}:${createHash('sha1').update(text).digest('base64url')}` };
}

function planMutation(op: OperationDefinitionNode, fragments: Fragments, dist: SubgraphDistribution): FetchShape {
  const fields = fieldsOf(op.selectionSet, fragments).map((field): MutationFieldPlan => {
    const rule = dist.mutations.get(field.name.value);
    if (!rule) throw new UnroutableFetch(`${dist.name} has no coordinated mutation ${field.name.value}`);
    if (rule.kind === 'view') return { key: responseKey(field), field, readBackQuery: '', view: true };
    const readBack: FieldNode = {
      kind: Kind.FIELD,
      alias: { kind: Kind.NAME, value: responseKey(field) },
      name: { kind: Kind.NAME, value: rule.readBack.field },
      arguments: [
        {
          kind: Kind.ARGUMENT,
          name: { kind: Kind.NAME, value: rule.readBack.arg },
          value: { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: READ_BACK_KEY } },
        },
      ],
      selectionSet: field.selectionSet,
    };
    const keyVariable = parse(`query($${READ_BACK_KEY}: ID!) { a }`).definitions[0] as OperationDefinitionNode;
    const query: OperationDefinitionNode = {
      ...op,
      operation: 'query' as OperationDefinitionNode['operation'],
      name: undefined,
      variableDefinitions: [...(op.variableDefinitions ?? []), ...(keyVariable.variableDefinitions ?? [])],
    };
    return { key: responseKey(field), field, readBackQuery: singleFieldDocument(query, readBack, fragments) };
  });
  return { kind: 'mutation', fields };
}

export function planFetch(query: string, dist: SubgraphDistribution): FetchPlan {
  const doc = parse(query);
  const op = operationOf(doc);
  const fragments = fragmentsOf(doc);
  const defaults = Object.fromEntries((op.variableDefinitions ?? []).filter((v) => v.defaultValue).map((v) => [v.variable.name.value, valueFromASTUntyped(v.defaultValue!)]));
  if (op.operation === 'mutation') return { ...planMutation(op, fragments, dist), defaults };
  if (op.operation !== 'query') throw new UnroutableFetch(`${op.operation} operations are not routed`);
  const roots = fieldsOf(op.selectionSet, fragments);
  const entities = roots.find((f) => f.name.value === '_entities');
  if (entities) {
    if (roots.length !== 1) throw new UnroutableFetch('an _entities fetch carries no other root field');
    return { ...planEntities(op, entities, fragments, dist), defaults };
  }
  return { ...planRoots(op, fragments, dist), defaults };
}
