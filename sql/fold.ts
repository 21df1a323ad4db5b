/**
 * What search means, on every engine: case-insensitive for
 * every Vietnamese letter and accent-insensitive — a librarian typing "dang",
 * "ĐẶNG" or "đặng" finds "Đặng". One table folds each precomposed Vietnamese
 * letter (and ASCII A–Z) to its plain lower-case letter; the needle is folded
 * in code with it, the column in SQL with `translate()` (PostgreSQL, PGlite)
 * or `TRANSLATE()` (SQL Server 2017+) over the same two strings, so no engine's
 * collation or extension (PGlite ships no `unaccent`) decides the answer.
 * Text is compared in NFC, the form LibFed stores.
 */
const BASES = ['a', 'ă', 'â', 'e', 'ê', 'i', 'o', 'ô', 'ơ', 'u', 'ư', 'y'];
const TONES = ['', '\u0300', '\u0301', '\u0309', '\u0303', '\u0323'];

function plain(letter: string): string {
  return letter.normalize('NFD').replace(/\p{M}/gu, '');
}

function table(): [string, string] {
  const pairs = new Map<string, string>();
  for (const base of BASES) {
    for (const tone of TONES) {
      const lower = (base + tone).normalize('NFC');
      if (lower.length !== 1) continue;
      pairs.set(lower, plain(lower));
      pairs.set(lower.toUpperCase(), plain(lower));
    }
  }
  pairs.set('đ', 'd');
  pairs.set('Đ', 'd');
  // U+00D0 (Icelandic eth) is what many keyboards and old databases type for Đ.
  pairs.set('Ð', 'd');
  for (let c = 65; c <= 90; c++) pairs.set(String.fromCharCode(c), String.fromCharCode(c + 32));
  for (const [from] of [...pairs]) if (from === pairs.get(from)) pairs.delete(from);
  return [[...pairs.keys()].join(''), [...pairs.values()].join('')];
}

/** `translate(text, FOLD_FROM, FOLD_TO)`: both one character per position. */
export const [FOLD_FROM, FOLD_TO] = table();

const FOLD = new Map([...FOLD_FROM].map((c, i) => [c, FOLD_TO[i]]));

/** The needle as the column is folded in SQL. */
export function foldText(text: string): string {
  return [...text.normalize('NFC')].map((c) => FOLD.get(c) ?? c).join('');
}
