/** ISBN-13 check digit: weights 1,3,1,3,... over the first 12 digits, then 10 - (sum mod 10), mod 10. */
export function isbn13CheckDigit(first12: string): number {
  if (!/^\d{12}$/.test(first12)) throw new Error(`ISBN-13 body must be 12 digits, got "${first12}"`);
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += Number(first12[i]) * (i % 2 === 0 ? 1 : 3);
  return (10 - (sum % 10)) % 10;
}

/** True for 13 digits starting 978/979 whose last digit is the check digit. */
export function isValidIsbn13(isbn: string): boolean {
  return /^97[89]\d{10}$/.test(isbn) && isbn13CheckDigit(isbn.slice(0, 12)) === Number(isbn[12]);
}

/** Completes a registrant prefix and a title number into an ISBN-13 (unhyphenated, as SACH.ISBN stores it). */
export function makeIsbn13(prefix: string, titleNumber: number): string {
  const width = 12 - prefix.length;
  const body = prefix + String(titleNumber).padStart(width, '0');
  if (body.length !== 12) throw new Error(`title number ${titleNumber} does not fit after prefix ${prefix}`);
  return body + String(isbn13CheckDigit(body));
}
