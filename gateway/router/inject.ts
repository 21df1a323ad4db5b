import { Kind, type FieldNode, type SelectionSetNode } from 'graphql';
import type { GatherRule } from '../../schema';
import { fieldNode, fieldsOf, keysNamed, responseKey, withExtraSelections, withNullArgument, type Fragments } from './selection';

/**
 * Gathered fields are merged on values the client may not have selected (a
 * cursor, a sort key, a group key). The router adds them under reserved
 * `__lf_` aliases and removes them from the merged answer.
 */
export const RESERVED = '__lf_';
export const CURSORS = `${RESERVED}edges`;
export const MORE = `${RESERVED}more`;
export const GROUP = `${RESERVED}group`;
export const sortKeyAlias = (i: number) => `${RESERVED}k${i}`;
export const sumAlias = (i: number) => `${RESERVED}s${i}`;
/** Part i of a group key: `__lf_group`, then `__lf_group1`, ... */
export const groupAlias = (i: number) => (i === 0 ? GROUP : `${GROUP}${i}`);
/** A reader the site could not place (GROUPS with `resolveHome`). */
export const READER = `${RESERVED}reader`;
/** The item field a site names such a reader in. */
export const UNRESOLVED_READER_FIELD = 'unresolvedReader';

/** Where to find, in one gathered field's answer, what the merge reads and writes. */
export interface MergeShape {
  rule: GatherRule;
  /** Response keys the client selected, by field name, inside the connection or list item. */
  keys: (name: string) => string[];
  /** Every response-key path the client selected for a field path (`totals.books` may be `totals.books` and `t: totals.b: books`). */
  paths: (path: string[]) => string[][];
  /** Response keys inside the client's `pageInfo` selections. */
  pageInfoKeys: { key: string; hasNextPage: string[]; startCursor: string[]; endCursor: string[] }[];
}

export function mergeShape(field: FieldNode, rule: GatherRule, fragments: Fragments): MergeShape {
  const set = field.selectionSet;
  const pageInfo = fieldsOf(set, fragments).filter((f) => f.name.value === 'pageInfo');
  return {
    rule,
    keys: (name) => keysNamed(set, fragments, name),
    paths: (path) => responsePaths(set, fragments, path),
    pageInfoKeys: pageInfo.map((p) => ({
      key: p.alias?.value ?? 'pageInfo',
      hasNextPage: keysNamed(p.selectionSet, fragments, 'hasNextPage'),
      startCursor: keysNamed(p.selectionSet, fragments, 'startCursor'),
      endCursor: keysNamed(p.selectionSet, fragments, 'endCursor'),
    })),
  };
}

function responsePaths(set: SelectionSetNode | undefined, fragments: Fragments, [head, ...rest]: string[]): string[][] {
  const fields = fieldsOf(set, fragments).filter((f) => f.name.value === head);
  if (!rest.length) return fields.map((f) => [responseKey(f)]);
  return fields.flatMap((f) => responsePaths(f.selectionSet, fragments, rest).map((p) => [responseKey(f), ...p]));
}

function pathSelection([head, ...rest]: string[]): FieldNode {
  return fieldNode(head, undefined, rest.length ? [pathSelection(rest)] : undefined);
}

/** `book.isbn` becomes `__lf_group: book { isbn }`. */
function groupSelection(path: string[], i = 0): FieldNode {
  return { ...pathSelection(path), alias: { kind: Kind.NAME, value: groupAlias(i) } };
}

/** The field as sent to sites: with what the merge needs added. */
export function injectForMerge(field: FieldNode, rule: GatherRule): FieldNode {
  switch (rule.merge) {
    case 'CONCAT':
    case 'SUM':
      return field;
    case 'GROUPS':
      return withExtraSelections(field, [
        ...rule.groupBy.map((path, i) => groupSelection(path, i)),
        ...rule.sum.map((name, i) => fieldNode(name, sumAlias(i))),
        ...(rule.resolveHome ? [fieldNode(UNRESOLVED_READER_FIELD, READER)] : []),
      ]);
    case 'SORTED':
      if (rule.shape === 'connection') {
        return withExtraSelections(field, [
          fieldNode('edges', CURSORS, [fieldNode('cursor')]),
          fieldNode('pageInfo', MORE, [fieldNode('hasNextPage')]),
        ]);
      }
      return withExtraSelections(field, rule.orderBy.map((k, i) => fieldNode(k.field, sortKeyAlias(i))));
    case 'TOPK':
      return withExtraSelections(withNullArgument(field, rule.limitArg), [
        groupSelection(rule.groupBy),
        ...rule.sum.map((name, i) => fieldNode(name, sumAlias(i))),
      ]);
  }
}

/** Removes every reserved key, at any depth, in place. */
export function stripReserved(value: unknown): void {
  if (Array.isArray(value)) {
    for (const item of value) stripReserved(item);
  } else if (value && typeof value === 'object') {
    for (const key of Object.keys(value)) {
      if (key.startsWith(RESERVED)) delete (value as Record<string, unknown>)[key];
      else stripReserved((value as Record<string, unknown>)[key]);
    }
  }
}
