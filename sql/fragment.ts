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

/** `(v1, v2, ...)` for IN lists; the caller keeps lists under the engine's parameter limit. */
export function list(values: readonly unknown[]): Sql {
  if (values.length === 0) throw new Error('list() needs at least one value: an empty IN list is invalid SQL');
  return sql`(${join(values.map((v) => sql`${v}`), ', ')})`;
}

export interface Rendered {
  text: string;
  values: unknown[];
}

export function render(statement: Sql, placeholder: (index: number) => string): Rendered {
  let text = statement.strings[0];
  for (let i = 0; i < statement.values.length; i++) {
    text += placeholder(i + 1) + statement.strings[i + 1];
  }
  return { text, values: [...statement.values] };
}
