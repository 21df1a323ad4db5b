import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  Kind,
  parse,
  print,
  visit,
  type ArgumentNode,
  type ConstDirectiveNode,
  type DocumentNode,
  type FieldDefinitionNode,
  type ObjectTypeDefinitionNode,
  type ObjectTypeExtensionNode,
} from 'graphql';

/** The four logical subgraphs (docs/ARCHITECTURE.md §3): each groups what is distributed the same way. */
export const SUBGRAPHS = ['catalog', 'inventory', 'readers', 'loans'] as const;
export type SubgraphName = (typeof SUBGRAPHS)[number];

export const SCHEMA_DIR = __dirname;
const DIRECTIVES = ['replicated', 'fragmented', 'locate', 'gather', 'coordinated', 'coordinatorView'];

export type Direction = 'ASC' | 'DESC';
export interface SortKey {
  field: string;
  direction: Direction;
}

/** What a gathered field returns: a Relay connection (merged by cursor), a list, or one object. */
export type FieldShape = 'connection' | 'list' | 'object';

interface GatherCommon {
  shape: FieldShape;
  /** Argument naming one branch: when given, only that site is asked. */
  branchArg?: string;
  /** Argument capping the merged list, and its default from the SDL. */
  limitArg?: string;
  limitDefault?: number;
}

export type GatherRule = GatherCommon &
  (
    | { merge: 'CONCAT' }
    | { merge: 'SUM'; concat: string[]; once: string[][] }
    | { merge: 'SORTED'; orderBy: SortKey[] }
    | { merge: 'TOPK'; groupBy: string[]; sum: string[]; orderBy: SortKey[]; limitArg: string }
    | GroupsRule
  );

/**
 * Every group, summed across sites, in group-key order. `groupBy` holds one
 * field path per key part. `resolveHome` names the group path that sites
 * leave empty for a reader they do not hold (`unresolvedReader`): the gateway
 * asks every site for those readers' home branches before grouping.
 */
export interface GroupsRule {
  merge: 'GROUPS';
  groupBy: string[][];
  sum: string[];
  resolveHome?: string[];
}

/** How a root field of one subgraph is spread over sites. */
export type RootRule =
  | { kind: 'coordinator' }
  | { kind: 'replicated' }
  | { kind: 'locate'; arg: string; type: string }
  | { kind: 'gather'; rule: GatherRule };

/** How `_entities` representations of one type are spread over sites. */
export type EntityRule =
  | { kind: 'replicated' }
  | { kind: 'fragmented'; by: string }
  | { kind: 'gather'; fields: Map<string, GatherRule> };

/**
 * A coordinated mutation: read back through root field `field`, passing the
 * new key as argument `arg`; or (`@coordinatorView`) a mutation the gateway
 * answers itself, such as `login`.
 */
export type MutationRule = { kind: 'coordinated'; readBack: { field: string; arg: string } } | { kind: 'view' };

export interface SubgraphDistribution {
  name: SubgraphName;
  roots: Map<string, RootRule>;
  mutations: Map<string, MutationRule>;
  entities: Map<string, EntityRule>;
}

export class DistributionError extends Error {
  constructor(subgraph: string, where: string, problem: string) {
    super(`schema/${subgraph}.graphql, ${where}: ${problem}`);
    this.name = 'DistributionError';
  }
}

export function readSubgraphSdl(name: SubgraphName, dir = SCHEMA_DIR): string {
  return readFileSync(join(dir, `${name}.graphql`), 'utf8');
}

/** The SDL without distribution directives: what composition and the site services see. */
export function stripDistribution(sdl: string): DocumentNode {
  return visit(parse(sdl), {
    Directive: (node) => (DIRECTIVES.includes(node.name.value) ? null : undefined),
  });
}

export function strippedSdl(name: SubgraphName, dir = SCHEMA_DIR): string {
  return print(stripDistribution(readSubgraphSdl(name, dir)));
}

function stringArg(directive: ConstDirectiveNode, name: string): string | undefined {
  const arg = directive.arguments?.find((a: ArgumentNode) => a.name.value === name);
  if (!arg) return undefined;
  if (arg.value.kind === Kind.STRING || arg.value.kind === Kind.ENUM) return arg.value.value;
  throw new Error(`@${directive.name.value}(${name}:) must be a string`);
}

function parseOrderBy(text: string): SortKey[] {
  return text.split(',').map((part) => {
    const [field, dir = 'ASC', ...rest] = part.trim().split(/\s+/);
    const direction = dir.toUpperCase();
    if (!field || rest.length > 0 || (direction !== 'ASC' && direction !== 'DESC')) {
      throw new Error(`orderBy "${text}" must read "field ASC|DESC, ..."`);
    }
    return { field, direction };
  });
}

function namedType(field: FieldDefinitionNode): string {
  let type = field.type;
  while (type.kind !== Kind.NAMED_TYPE) type = type.type;
  return type.name.value;
}

function shapeOf(field: FieldDefinitionNode): FieldShape {
  let type = field.type;
  if (type.kind === Kind.NON_NULL_TYPE) type = type.type;
  if (type.kind === Kind.LIST_TYPE) return 'list';
  return type.name.value.endsWith('Connection') ? 'connection' : 'object';
}

function intDefault(field: FieldDefinitionNode, arg: string | undefined): number | undefined {
  const value = field.arguments?.find((a) => a.name.value === arg)?.defaultValue;
  return value?.kind === Kind.INT ? Number(value.value) : undefined;
}

function gatherRule(directive: ConstDirectiveNode, field: FieldDefinitionNode): GatherRule {
  const common = { shape: shapeOf(field), branchArg: stringArg(directive, 'branchArg'), limitArg: stringArg(directive, 'limitArg') };
  const rule = gatherMerge(directive, field);
  return { ...common, ...rule, limitDefault: intDefault(field, rule.limitArg ?? common.limitArg) } as GatherRule;
}

function gatherMerge(directive: ConstDirectiveNode, field: FieldDefinitionNode) {
  const merge = stringArg(directive, 'merge');
  const branchArg = stringArg(directive, 'branchArg');
  const limitArg = stringArg(directive, 'limitArg');
  const orderBy = stringArg(directive, 'orderBy');
  for (const arg of [branchArg, limitArg]) {
    if (arg && !field.arguments?.some((a) => a.name.value === arg)) throw new Error(`names argument "${arg}" that the field does not have`);
  }
  const paths = (name: string) => (stringArg(directive, name) ?? '').split(',').map((p) => p.trim()).filter(Boolean);
  switch (merge) {
    case 'CONCAT':
      return { merge };
    case 'SUM':
      return { merge, concat: paths('concat'), once: paths('once').map((p) => p.split('.')) };
    case 'GROUPS': {
      const groupBy = paths('groupBy').map((p) => p.split('.'));
      const sum = paths('sum');
      const resolveHome = stringArg(directive, 'resolveHome');
      if (!groupBy.length || !sum.length) throw new Error('GROUPS needs groupBy and sum');
      if (resolveHome && !groupBy.some((p) => p.join('.') === resolveHome)) throw new Error(`resolveHome "${resolveHome}" must be one of the groupBy paths`);
      return { merge, groupBy, sum, resolveHome: resolveHome?.split('.') };
    }
    case 'SORTED':
      if (!orderBy) throw new Error('SORTED needs orderBy');
      return { merge, orderBy: parseOrderBy(orderBy) };
    case 'TOPK': {
      const groupBy = stringArg(directive, 'groupBy');
      const sum = stringArg(directive, 'sum');
      if (!groupBy || !sum || !orderBy || !limitArg) throw new Error('TOPK needs groupBy, sum, orderBy and limitArg');
      return { merge, groupBy: groupBy.split('.'), sum: sum.split(',').map((s) => s.trim()), orderBy: parseOrderBy(orderBy), limitArg };
    }
    default:
      throw new Error(`unknown merge "${merge}"`);
  }
}

function directiveOf(node: { directives?: readonly ConstDirectiveNode[] }, name: string) {
  return node.directives?.find((d) => d.name.value === name);
}

function rootRule(field: FieldDefinitionNode): RootRule {
  const rules: RootRule[] = [];
  if (directiveOf(field, 'coordinatorView')) rules.push({ kind: 'coordinator' });
  if (directiveOf(field, 'replicated')) rules.push({ kind: 'replicated' });
  const locate = directiveOf(field, 'locate');
  if (locate) {
    const arg = stringArg(locate, 'arg');
    if (!arg || !field.arguments?.some((a) => a.name.value === arg)) throw new Error('@locate(arg:) must name an argument of the field');
    rules.push({ kind: 'locate', arg, type: namedType(field) });
  }
  const gather = directiveOf(field, 'gather');
  if (gather) rules.push({ kind: 'gather', rule: gatherRule(gather, field) });
  if (rules.length !== 1) throw new Error('a root field needs exactly one of @replicated, @locate, @gather, @coordinatorView');
  return rules[0];
}

function isEntity(node: ObjectTypeDefinitionNode | ObjectTypeExtensionNode): boolean {
  return Boolean(directiveOf(node, 'key'));
}

function keyFields(node: ObjectTypeDefinitionNode | ObjectTypeExtensionNode): Set<string> {
  const key = directiveOf(node, 'key');
  const fields = key ? stringArg(key, 'fields') ?? '' : '';
  return new Set(fields.split(/\s+/).filter(Boolean));
}

function entityRule(node: ObjectTypeDefinitionNode | ObjectTypeExtensionNode): EntityRule {
  if (directiveOf(node, 'replicated')) return { kind: 'replicated' };
  const fragmented = directiveOf(node, 'fragmented');
  if (fragmented) return { kind: 'fragmented', by: stringArg(fragmented, 'by') ?? '' };
  const keys = keyFields(node);
  const fields = new Map<string, GatherRule>();
  for (const field of node.fields ?? []) {
    if (keys.has(field.name.value)) continue;
    const gather = directiveOf(field, 'gather');
    if (!gather) throw new Error(`field ${field.name.value} needs @gather: the type is neither @replicated nor @fragmented`);
    fields.set(field.name.value, gatherRule(gather, field));
  }
  return { kind: 'gather', fields };
}

/** Reads the distribution rules of one subgraph and checks them; errors name the file and the field. */
export function parseDistribution(name: SubgraphName, sdl: string): SubgraphDistribution {
  const roots = new Map<string, RootRule>();
  const entities = new Map<string, EntityRule>();
  const mutations = new Map<string, MutationRule>();
  const doc = parse(sdl);
  const queryFields = new Map<string, FieldDefinitionNode>();
  for (const def of doc.definitions) {
    if ((def.kind === Kind.OBJECT_TYPE_DEFINITION || def.kind === Kind.OBJECT_TYPE_EXTENSION) && def.name.value === 'Query') {
      for (const f of def.fields ?? []) queryFields.set(f.name.value, f);
    }
  }
  for (const def of doc.definitions) {
    if (def.kind !== Kind.OBJECT_TYPE_DEFINITION && def.kind !== Kind.OBJECT_TYPE_EXTENSION) continue;
    const typeName = def.name.value;
    if (typeName === 'Mutation') {
      for (const field of def.fields ?? []) {
        if (directiveOf(field, 'coordinatorView')) {
          mutations.set(field.name.value, { kind: 'view' });
          continue;
        }
        const readBack = stringArg(directiveOf(field, 'coordinated') ?? ({ arguments: [] } as unknown as ConstDirectiveNode), 'readBack');
        const target = readBack ? queryFields.get(readBack) : undefined;
        if (!target || target.arguments?.length !== 1) {
          throw new DistributionError(name, `Mutation.${field.name.value}`, '@coordinated(readBack:) must name a Query field of this subgraph with one key argument');
        }
        mutations.set(field.name.value, { kind: 'coordinated', readBack: { field: target.name.value, arg: target.arguments[0].name.value } });
      }
    } else if (typeName === 'Query') {
      for (const field of def.fields ?? []) {
        try {
          roots.set(field.name.value, rootRule(field));
        } catch (error) {
          throw new DistributionError(name, `Query.${field.name.value}`, (error as Error).message);
        }
      }
    } else if (isEntity(def)) {
      const key = directiveOf(def, 'key');
      if (key?.arguments?.some((a) => a.name.value === 'resolvable' && a.value.kind === Kind.BOOLEAN && !a.value.value)) continue;
      try {
        entities.set(typeName, entityRule(def));
      } catch (error) {
        throw new DistributionError(name, typeName, (error as Error).message);
      }
    }
  }
  return { name, roots, entities, mutations };
}

export function loadDistribution(dir = SCHEMA_DIR): Map<SubgraphName, SubgraphDistribution> {
  return new Map(SUBGRAPHS.map((name) => [name, parseDistribution(name, readSubgraphSdl(name, dir))]));
}
