/** One broken invariant: which, what kind, what is wrong, and the history entries that show it. */
export type InvariantId = 'a' | 'b' | 'c' | 'd' | 'e' | 'f';

export const INVARIANTS: Record<InvariantId, string> = {
  a: 'every copy (and reader) at exactly one site; its birth site points at it',
  b: 'copy ON_LOAN iff exactly one open loan; reader counter = open loans ≤ 5',
  c: 'acknowledged writes in the data, refused ones without effect, ambiguous ones resolved',
  d: 'SACH and CHINHANH identical on every site',
  e: 'no lock row and no PREPARED transaction left',
  f: 'read-your-writes across gateways',
};

export interface Violation {
  invariant: InvariantId;
  kind: string;
  message: string;
  entries: number[];
}
