import {
  Kind,
  valueFromASTUntyped,
  type FieldNode,
  type FragmentDefinitionNode,
  type SelectionNode,
  type SelectionSetNode,
} from 'graphql';

/** Small helpers over the fetch documents the query planner sends to a subgraph. */

export type Fragments = ReadonlyMap<string, FragmentDefinitionNode>;

export const responseKey = (field: FieldNode): string => field.alias?.value ?? field.name.value;

/** Fields of a selection set with inline fragments and spreads flattened (their type conditions are the field's own type here). */
export function fieldsOf(set: SelectionSetNode | undefined, fragments: Fragments): FieldNode[] {
  const out: FieldNode[] = [];
  const walk = (selections: readonly SelectionNode[]) => {
    for (const s of selections) {
      if (s.kind === Kind.FIELD) out.push(s);
      else if (s.kind === Kind.INLINE_FRAGMENT) walk(s.selectionSet.selections);
      else {
        const fragment = fragments.get(s.name.value);
        if (fragment) walk(fragment.selectionSet.selections);
      }
    }
  };
  if (set) walk(set.selections);
  return out;
}

/** Response keys of the fields named `name` in `set`. */
export function keysNamed(set: SelectionSetNode | undefined, fragments: Fragments, name: string): string[] {
  return fieldsOf(set, fragments).filter((f) => f.name.value === name).map(responseKey);
}

export function argumentValue(field: FieldNode, name: string, variables: Record<string, unknown> | undefined): unknown {
  const arg = field.arguments?.find((a) => a.name.value === name);
  return arg ? valueFromASTUntyped(arg.value, variables) : undefined;
}

export function argumentValues(field: FieldNode, variables: Record<string, unknown> | undefined): Record<string, unknown> {
  return Object.fromEntries((field.arguments ?? []).map((a) => [a.name.value, valueFromASTUntyped(a.value, variables)]));
}

export function fieldNode(name: string, alias?: string, selections?: SelectionNode[]): FieldNode {
  return {
    kind: Kind.FIELD,
    name: { kind: Kind.NAME, value: name },
    alias: alias ? { kind: Kind.NAME, value: alias } : undefined,
    selectionSet: selections ? { kind: Kind.SELECTION_SET, selections } : undefined,
  };
}

export function withExtraSelections(field: FieldNode, extra: SelectionNode[]): FieldNode {
  return { ...field, selectionSet: { kind: Kind.SELECTION_SET, selections: [...(field.selectionSet?.selections ?? []), ...extra] } };
}

/** The field with argument `name` set to null (TOPK asks sites for every group). */
export function withNullArgument(field: FieldNode, name: string): FieldNode {
  const others = (field.arguments ?? []).filter((a) => a.name.value !== name);
  return {
    ...field,
    arguments: [...others, { kind: Kind.ARGUMENT, name: { kind: Kind.NAME, value: name }, value: { kind: Kind.NULL } }],
  };
}

/** The field with each argument in `variables` (argument name to variable name) passed as that variable instead. */
export function withVariableArguments(field: FieldNode, variables: Record<string, string>): FieldNode {
  const others = (field.arguments ?? []).filter((a) => !(a.name.value in variables));
  const given = Object.entries(variables).map(([name, variable]) => ({
    kind: Kind.ARGUMENT as const,
    name: { kind: Kind.NAME as const, value: name },
    value: { kind: Kind.VARIABLE as const, name: { kind: Kind.NAME as const, value: variable } },
  }));
  return { ...field, arguments: [...others, ...given] };
}

/** The field without its direct selections of `name` (those inside fragments stay). */
export function withoutSelection(field: FieldNode, name: string): FieldNode {
  if (!field.selectionSet) return field;
  const selections = field.selectionSet.selections.filter((s) => s.kind !== Kind.FIELD || s.name.value !== name);
  return { ...field, selectionSet: { ...field.selectionSet, selections } };
}

/** The part of a plain value that a selection set asks for, under the client's response keys. */
export function project(value: unknown, set: SelectionSetNode | undefined, fragments: Fragments): unknown {
  if (value === null || value === undefined || !set) return value ?? null;
  if (Array.isArray(value)) return value.map((v) => project(v, set, fragments));
  const source = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const f of fieldsOf(set, fragments)) {
    const raw = f.name.value === '__typename' ? undefined : source[f.name.value];
    out[responseKey(f)] = project(raw, f.selectionSet, fragments);
  }
  return out;
}
