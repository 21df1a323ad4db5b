import { Parser } from 'node-sql-parser';

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

export function parse(text: string): Parsed {
  const ast = parser.astify(text.replace(FOREIGN_KEY, '').replace(LIKE_ESCAPE, ''), { database: 'TransactSQL' });
  const statements = (Array.isArray(ast) ? ast : [ast]) as unknown as Parsed[];
  if (statements.length !== 1) throw new Error(`expected one statement, parsed ${statements.length}`);
  return statements[0];
}

export function kindOf(parsed: Parsed): string {
  return parsed.type === 'create' || parsed.type === 'alter' ? `${parsed.type} ${parsed.keyword}` : parsed.type;
}

/** The kind a statement's text starts with, as kindOf names it. */
export function declaredKind(text: string): string {
  const m = /^\s*(?:(CREATE|ALTER)\s+(TABLE|INDEX)|(SELECT|INSERT|UPDATE|DELETE))\b/i.exec(text);
  if (!m) throw new Error(`no known statement kind at the start of: ${text}`);
  return m[1] ? `${m[1].toLowerCase()} ${m[2].toLowerCase()}` : m[3].toLowerCase();
}

