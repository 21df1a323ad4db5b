/**
 * A SQL statement under construction: text pieces and the values between them.
 * Values never enter the text; each dialect renders its own placeholders
 * ($1 for PostgreSQL, @p1 for SQL Server), so one statement serves every engine.
 */
export class Sql {
  constructor(
    readonly strings: readonly string[],
    readonly values: readonly unknown[],
  ) {}
}

/** Tagged template: sql`SELECT ... WHERE MaDG = ${id}`. A nested Sql is inlined, not bound. */
export function sql(strings: TemplateStringsArray, ...values: unknown[]): Sql {
  const outStrings: string[] = [strings[0]];
  const outValues: unknown[] = [];
  values.forEach((value, i) => {
    if (value instanceof Sql) {
      outStrings[outStrings.length - 1] += value.strings[0];
      for (let j = 0; j < value.values.length; j++) {
        outValues.push(value.values[j]);
        outStrings.push(value.strings[j + 1]);
      }
      outStrings[outStrings.length - 1] += strings[i + 1];
    } else {
      outValues.push(value);
      outStrings.push(strings[i + 1]);
    }
  });
  return new Sql(outStrings, outValues);
}

/** Trusted text (identifiers, keywords). Never pass user input here. */
export function raw(text: string): Sql {
  return new Sql([text], []);
}

export function join(parts: readonly Sql[], separator: string): Sql {
  if (parts.length === 0) return raw('');
  return parts.reduce((acc, part) => sql`${acc}${raw(separator)}${part}`);
}

/** The declared type of a text parameter where it matters to the engine (SQL Server: varchar or nvarchar). */
export type TextType = 'varchar' | 'nvarchar';

/** A text value bound with the type of the column it meets, not one guessed from the value itself. */
export class TypedText {
  constructor(
    readonly value: string | null,
    readonly type: TextType,
  ) {}
}

/**
 * `(v1, v2, ...)` for IN lists; the caller keeps lists under the engine's parameter limit
 * (`inChunks`). With `type`, every text value is bound as that type: the type of the key
 * column. SQL Server converts a varchar column to nvarchar for the whole IN list when one
 * parameter is nvarchar, and a converted column cannot be sought in its index (under a
 * SQL_* collation), so one non-ASCII key would turn the batch into a scan.
 */
export function list(values: readonly unknown[], type?: TextType): Sql {
  if (values.length === 0) throw new Error('list() needs at least one value: an empty IN list is invalid SQL');
  const bound = type ? values.map((v) => (typeof v === 'string' || v === null ? new TypedText(v, type) : v)) : values;
  return sql`(${join(bound.map((v) => sql`${v}`), ', ')})`;
}

export interface Rendered {
  text: string;
  values: unknown[];
  /** The declared text type of each value that has one (`TypedText`), by position; absent when none has. */
  types?: (TextType | undefined)[];
}

export function render(statement: Sql, placeholder: (index: number) => string): Rendered {
  let text = statement.strings[0];
  for (let i = 0; i < statement.values.length; i++) {
    text += placeholder(i + 1) + statement.strings[i + 1];
  }
  const typed = statement.values.some((v) => v instanceof TypedText);
  const values = statement.values.map((v) => (v instanceof TypedText ? v.value : v));
  return typed ? { text, values, types: statement.values.map((v) => (v instanceof TypedText ? v.type : undefined)) } : { text, values };
}
