import { Parser } from 'node-sql-parser';
import { mssql } from '../dialect';
import type { SqlExecutor } from '../executor';

/**
 * Parsing rendered statements as T-SQL, for the tests that stand in for a SQL
 * Server (see mssql-tsql.test.ts for what node-sql-parser can and cannot check).
 */
const parser = new Parser();

export interface Parsed {
  type: string;
  keyword?: string;
  index?: string;
  table?: { table: string } | { table: string }[];
  create_definitions?: { resource: string; column?: { column: string } }[] | null;
  index_columns?: { column: string; collate: unknown }[] | null;
  orderby?: unknown[] | null;
}

export const FOREIGN_KEY = /\s+REFERENCES\s+(\w+)\s*\((\w+)\)/g;
export const LIKE_ESCAPE = /\s+ESCAPE\s+'[^']*'/g;
export const COMMENT = /--[^\n]*/g;
/** node-sql-parser cannot read a named DEFAULT (`CONSTRAINT DF_x DEFAULT 1`, valid T-SQL): the name is cut before parsing. */
export const NAMED_DEFAULT = /\s+CONSTRAINT\s+DF_\w+(?=\s+DEFAULT\b)/g;

export function parse(text: string): Parsed {
  const statements = parseAll(text);
  if (statements.length !== 1) throw new Error(`expected one statement, parsed ${statements.length}`);
  return statements[0];
}

function parseAll(text: string): Parsed[] {
  const ast = parser.astify(text.replace(FOREIGN_KEY, '').replace(LIKE_ESCAPE, '').replace(NAMED_DEFAULT, ''), { database: 'TransactSQL' });
  return (Array.isArray(ast) ? ast : [ast]) as unknown as Parsed[];
}

/** The one two-statement batch LibFed sends: an INSERT and the identity it generated (dialect.insertReturningId). */
export const SCOPE_IDENTITY_TAIL = /;\s*SELECT CAST\(SCOPE_IDENTITY\(\) AS int\) AS id$/;

export function kindOf(parsed: Parsed): string {
  return parsed.type === 'create' || parsed.type === 'alter' ? `${parsed.type} ${parsed.keyword}` : parsed.type;
}

/** The kind a statement's text starts with, as kindOf names it. */
export function declaredKind(text: string): string {
  const m = /^\s*(?:(CREATE|ALTER)\s+(?:UNIQUE\s+)?(TABLE|INDEX)|(SELECT|INSERT|UPDATE|DELETE))\b/i.exec(text);
  if (!m) throw new Error(`no known statement kind at the start of: ${text}`);
  return m[1] ? `${m[1].toLowerCase()} ${m[2].toLowerCase()}` : m[3].toLowerCase();
}

/** An executor on the mssql dialect that records each rendered statement and answers SELECTs with `row` (none for `noRowsFor`). */
export function recordingExecutor(row: object, noRowsFor?: RegExp): [SqlExecutor, string[], unknown[][]] {
  const texts: string[] = [];
  const bound: unknown[][] = [];
  const db: SqlExecutor = {
    dialect: mssql,
    async query<T extends object>(statement: Parameters<SqlExecutor['query']>[0]) {
      const { text, values } = mssql.render(statement);
      const numbers = [...text.matchAll(/@p(\d+)\b/g)].map((m) => Number(m[1]));
      if (JSON.stringify(numbers) !== JSON.stringify(values.map((_, i) => i + 1))) throw new Error(`placeholders do not match values: ${text}`);
      texts.push(text);
      bound.push(values);
      if (SCOPE_IDENTITY_TAIL.test(text)) return [{ id: 1 }] as unknown as T[];
      return (/^\s*SELECT/i.test(text) && !noRowsFor?.test(text) ? [row] : []) as unknown as T[];
    },
    transaction: (work) => work(db),
    close: async () => {},
  };
  return [db, texts, bound];
}

/** Every statement parses as T-SQL of the kind it starts with. */
export function expectTsql(texts: string[]): void {
  expect(texts.length).toBeGreaterThan(0);
  const failures = texts.flatMap((text) => {
    try {
      if (SCOPE_IDENTITY_TAIL.test(text)) {
        const kinds = parseAll(text).map(kindOf);
        return JSON.stringify(kinds) === JSON.stringify(['insert', 'select']) && declaredKind(text) === 'insert' ? [] : [`parsed as ${kinds.join(', ')}: ${text}`];
      }
      const kind = kindOf(parse(text));
      return kind === declaredKind(text) ? [] : [`parsed as ${kind}: ${text}`];
    } catch (error) {
      return [`${(error as Error).message.slice(0, 120)}: ${text}`];
    }
  });
  expect(failures).toEqual([]);
}
