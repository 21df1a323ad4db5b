import { isbn13CheckDigit } from '../sql/seed';
import type { MutationName } from './history';
import type { Pool } from './pool';
import type { Rng } from './rng';

/** The mutation documents the workload sends; every one carries an idempotency key. */
export const MUTATION_QUERIES: Record<MutationName, string> = {
  borrowCopy: `mutation($readerId: ID!, $copyId: ID!, $key: String) { borrowCopy(readerId: $readerId, copyId: $copyId, idempotencyKey: $key) { id dueAt reader { id } copy { id } } }`,
  returnCopy: `mutation($loanId: ID!, $key: String) { returnCopy(loanId: $loanId, idempotencyKey: $key) { id returnedAt } }`,
  renewLoan: `mutation($loanId: ID!, $key: String) { renewLoan(loanId: $loanId, idempotencyKey: $key) { id dueAt } }`,
  transferCopy: `mutation($copyId: ID!, $toBranchId: ID!, $key: String) { transferCopy(copyId: $copyId, toBranchId: $toBranchId, idempotencyKey: $key) { id branch { id } } }`,
  moveReader: `mutation($readerId: ID!, $toBranchId: ID!, $key: String) { moveReader(readerId: $readerId, toBranchId: $toBranchId, idempotencyKey: $key) { id homeBranch { id } } }`,
  registerReader: `mutation($name: String!, $branchId: ID!, $key: String) { registerReader(input: { name: $name, branchId: $branchId }, idempotencyKey: $key) { id name homeBranch { id } } }`,
  addBook: `mutation($isbn: ID!, $title: String!, $author: String!, $key: String) { addBook(input: { isbn: $isbn, title: $title, author: $author }, idempotencyKey: $key) { isbn title author } }`,
  updateBook: `mutation($isbn: ID!, $title: String!, $key: String) { updateBook(isbn: $isbn, input: { title: $title }, idempotencyKey: $key) { isbn title version } }`,
};

export const OP_WEIGHTS = {
  borrowCopy: 22,
  returnCopy: 16,
  renewLoan: 8,
  transferCopy: 12,
  moveReader: 8,
  registerReader: 6,
  addBook: 4,
  updateBook: 8,
  read: 20,
} as const;

/** Names and ISBNs unique per attempt, so a refused attempt's effect (if any) can be found. */
export function uniqueTag(seed: number, client: number, n: number): string {
  return `${seed}.${client}.${n}.`;
}

export function uniqueIsbn(seed: number, client: number, n: number): string {
  const first12 = `979${String(seed % 100).padStart(2, '0')}${String(client % 100).padStart(2, '0')}${String(n % 100000).padStart(5, '0')}`;
  return `${first12}${isbn13CheckDigit(first12)}`;
}

/** Arguments for one attempt of `op`, chosen by the client's PRNG from the pool. */
export function chooseArgs(op: MutationName, rng: Rng, pool: Pool, seed: number, client: number, n: number): Record<string, string> {
  const site = () => rng.pick(pool.siteIds);
  const loan = () => {
    const open = [...pool.openLoans];
    return open.length > 0 && rng.next() < 0.9 ? rng.pick(open) : rng.pick(pool.closedLoans.length ? pool.closedLoans : open);
  };
  const tag = uniqueTag(seed, client, n);
  switch (op) {
    case 'borrowCopy':
      return { readerId: rng.pick(pool.readers), copyId: rng.pick(pool.copies) };
    case 'returnCopy':
    case 'renewLoan':
      return { loanId: loan() };
    case 'transferCopy':
      return { copyId: rng.pick(pool.copies), toBranchId: site() };
    case 'moveReader':
      return { readerId: rng.pick(pool.readers), toBranchId: site() };
    case 'registerReader':
      return { name: `Chaos Reader ${tag}`, branchId: site() };
    case 'addBook':
      return { isbn: uniqueIsbn(seed, client, n), title: `Sách Hỗn Loạn ${tag}`, author: `Chaos Author ${tag}` };
    case 'updateBook':
      return { isbn: rng.pick([...pool.books, ...pool.addedBooks]), title: `Tựa Mới ${tag}` };
  }
}

/** Entities (`Type:id`) a mutation may change, for the read-your-writes concurrency test. */
export function touches(op: string, args: Record<string, any>, pool: Pool, value?: Record<string, any> | null): string[] {
  switch (op) {
    case 'borrowCopy':
      return [`Copy:${args.copyId}`, `Reader:${args.readerId}`, ...(value?.id ? [`Loan:${value.id}`] : [])];
    case 'returnCopy':
    case 'renewLoan': {
      const info = pool.loans.get(args.loanId);
      return [`Loan:${args.loanId}`, ...(info && op === 'returnCopy' ? [`Copy:${info.copyId}`, `Reader:${info.readerId}`] : [])];
    }
    case 'transferCopy':
      return [`Copy:${args.copyId}`];
    case 'moveReader':
      return [`Reader:${args.readerId}`];
    case 'addBook':
    case 'updateBook':
      return [`Book:${args.isbn}`];
    default:
      return [];
  }
}

/** Plain reads a client sends through some gateway between its writes. */
export function chooseRead(rng: Rng, pool: Pool): { query: string; variables: Record<string, unknown> } {
  switch (rng.int(0, 4)) {
    case 0:
      return { query: `query($id: ID!) { copy(id: $id) { id status branch { id } } }`, variables: { id: rng.pick(pool.copies) } };
    case 1:
      return { query: `query($id: ID!) { reader(id: $id) { id openLoanCount homeBranch { id } loans(open: true) { id } } }`, variables: { id: rng.pick(pool.readers) } };
    case 2:
      return { query: `{ loans(open: true, first: 20) { totalCount edges { node { id } } } }`, variables: {} };
    case 3:
      return { query: `query($isbn: ID!) { book(isbn: $isbn) { title version availability { branch { id } available total } } }`, variables: { isbn: rng.pick(pool.books) } };
    default:
      return { query: `{ loanStats { total open overdue } }`, variables: {} };
  }
}
