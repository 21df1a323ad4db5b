import { Kind, type FieldNode } from 'graphql';
import type { GatherRule } from '../../schema';
import { fieldNode, fieldsOf, keysNamed, withExtraSelections, withNullArgument, type Fragments } from './selection';

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

/** Where to find, in one gathered field's answer, what the merge reads and writes. */
export interface MergeShape {
  rule: GatherRule;
  /** Response keys the client selected, by field name, inside the connection or list item. */
  keys: (name: string) => string[];
  /** Response keys inside the client's `pageInfo` selections. */
  pageInfoKeys: { key: string; hasNextPage: string[]; startCursor: string[]; endCursor: string[] }[];
}

export function mergeShape(field: FieldNode, rule: GatherRule, fragments: Fragments): MergeShape {
  const set = field.selectionSet;
  const pageInfo = fieldsOf(set, fragments).filter((f) => f.name.value === 'pageInfo');
  return {
    rule,
    keys: (name) => keysNamed(set, fragments, name),
    pageInfoKeys: pageInfo.map((p) => ({
      key: p.alias?.value ?? 'pageInfo',
      hasNextPage: keysNamed(p.selectionSet, fragments, 'hasNextPage'),
      startCursor: keysNamed(p.selectionSet, fragments, 'startCursor'),
      endCursor: keysNamed(p.selectionSet, fragments, 'endCursor'),
    })),
  };
}

function pathSelection([head, ...rest]: string[]): FieldNode {
  return fieldNode(head, undefined, rest.length ? [pathSelection(rest)] : undefined);
}

/** `book.isbn` becomes `__lf_group: book { isbn }`. */
function groupSelection(path: string[]): FieldNode {
  return { ...pathSelection(path), alias: { kind: Kind.NAME, value: GROUP } };
}

/** The field as sent to sites: with what the merge needs added. */
export function injectForMerge(field: FieldNode, rule: GatherRule): FieldNode {
  switch (rule.merge) {
    case 'CONCAT':
    case 'SUM':
      return field;
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
