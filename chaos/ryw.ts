import { post, type GraphQLAnswer } from './graphql';
import type { HistoryEntry } from './history';
import type { Pool } from './pool';
import type { Recorder } from './recorder';

/**
 * Read-your-writes across gateways: right after an acknowledged write, the
 * same client reads what it changed through another gateway. A read that
 * answers an error is not judged; a read with data older than the write is a
 * violation unless another write to the entity overlapped (then it is skipped).
 */
interface Check {
  name: string;
  query: string;
  variables: Record<string, unknown>;
  /** null when the data shows the write; otherwise what is wrong. */
  judge(data: any): string | null;
  /** Writes of these kinds on this entity make the check unjudgeable when they overlap; none: the property is monotone. */
  racing?: { entity: string; ops: string[] };
}

function checksFor(w: HistoryEntry, pool: Pool): Check[] {
  const a = w.args;
  const v = w.outcome.kind === 'ok' ? w.outcome.value : null;
  switch (w.op) {
    case 'returnCopy': {
      const info = pool.loans.get(a.loanId);
      const checks: Check[] = [
        { name: 'loan.returnedAt', query: `query($id: ID!) { loan(id: $id) { id returnedAt } }`, variables: { id: a.loanId }, judge: (d) => (d.loan?.returnedAt ? null : `loan ${a.loanId} reads ${JSON.stringify(d.loan)} after its return was acknowledged`) },
      ];
      if (info) {
        checks.push({
          name: 'loans.open',
          query: `query($r: ID!) { loans(readerId: $r, open: true, first: 100) { edges { node { id } } } }`,
          variables: { r: info.readerId },
          judge: (d) => (d.loans.edges.some((e: any) => e.node.id === a.loanId) ? `open loans of ${info.readerId} still list returned loan ${a.loanId}` : null),
        });
      }
      return checks;
    }
    case 'renewLoan':
      if (!v?.dueAt) return [];
      return [{ name: 'loan.dueAt', query: `query($id: ID!) { loan(id: $id) { id dueAt } }`, variables: { id: a.loanId }, judge: (d) => (d.loan && new Date(d.loan.dueAt) >= new Date(v.dueAt) ? null : `loan ${a.loanId} due ${d.loan?.dueAt}, renewal answered ${v.dueAt}`), racing: { entity: `Loan:${a.loanId}`, ops: ['renewLoan'] } }];
    case 'transferCopy':
      return [{ name: 'copy.branch', query: `query($id: ID!) { copy(id: $id) { id branch { id } } }`, variables: { id: a.copyId }, judge: (d) => (d.copy?.branch?.id === a.toBranchId ? null : `copy ${a.copyId} at ${d.copy?.branch?.id}, transfer to ${a.toBranchId} acknowledged`), racing: { entity: `Copy:${a.copyId}`, ops: ['transferCopy'] } }];
    case 'moveReader':
      return [{ name: 'reader.homeBranch', query: `query($id: ID!) { reader(id: $id) { id homeBranch { id } } }`, variables: { id: a.readerId }, judge: (d) => (d.reader?.homeBranch?.id === a.toBranchId ? null : `reader ${a.readerId} at ${d.reader?.homeBranch?.id}, move to ${a.toBranchId} acknowledged`), racing: { entity: `Reader:${a.readerId}`, ops: ['moveReader'] } }];
    case 'registerReader':
      if (!v?.id) return [];
      return [
        { name: 'reader', query: `query($id: ID!) { reader(id: $id) { id name } }`, variables: { id: v.id }, judge: (d) => (d.reader?.name === a.name ? null : `registered reader ${v.id} reads ${JSON.stringify(d.reader)}`) },
        {
          name: 'readers.search',
          query: `query($b: ID!, $s: String!) { readers(branchId: $b, search: $s, first: 5) { edges { node { id } } } }`,
          variables: { b: a.branchId, s: a.name },
          judge: (d) => (d.readers.edges.some((e: any) => e.node.id === v.id) ? null : `readers(branchId: ${a.branchId}, search: "${a.name}") misses registered ${v.id}`),
        },
      ];
    case 'borrowCopy': {
      const checks: Check[] = [
        { name: 'copy.status', query: `query($id: ID!) { copy(id: $id) { id status } }`, variables: { id: a.copyId }, judge: (d) => (d.copy?.status === 'ON_LOAN' ? null : `copy ${a.copyId} reads ${d.copy?.status} after borrow ${v?.id ?? ''} was acknowledged`), racing: { entity: `Copy:${a.copyId}`, ops: ['borrowCopy', 'returnCopy', 'transferCopy'] } },
      ];
      if (v?.id) checks.unshift({ name: 'loan', query: `query($id: ID!) { loan(id: $id) { id copy { id } } }`, variables: { id: v.id }, judge: (d) => (d.loan?.copy?.id === a.copyId ? null : `loan ${v.id} reads ${JSON.stringify(d.loan)} after its borrow was acknowledged`) });
      return checks;
    }
    case 'updateBook':
      return [{ name: 'book.title', query: `query($isbn: ID!) { book(isbn: $isbn) { isbn title } }`, variables: { isbn: a.isbn }, judge: (d) => (d.book?.title === a.title ? null : `book ${a.isbn} titled "${d.book?.title}", update to "${a.title}" acknowledged`), racing: { entity: `Book:${a.isbn}`, ops: ['updateBook', 'addBook'] } }];
    case 'addBook':
      return [
        { name: 'book', query: `query($isbn: ID!) { book(isbn: $isbn) { isbn title } }`, variables: { isbn: a.isbn }, judge: (d) => (d.book ? null : `added book ${a.isbn} reads null`) },
        {
          name: 'books.search',
          query: `query($s: String!) { books(search: $s, first: 5) { edges { node { isbn availability { branch { id } total } } } } }`,
          variables: { s: a.author },
          judge: (d) => (d.books.edges.some((e: any) => e.node.isbn === a.isbn) ? null : `books(search: "${a.author}") misses added ${a.isbn}`),
        },
      ];
    default:
      return [];
  }
}

export async function readYourWrites(write: HistoryEntry, gateway: number, url: string, pool: Pool, rec: Recorder): Promise<void> {
  for (const c of checksFor(write, pool)) {
    const entry = rec.begin(write.client, gateway, `ryw:${c.name}`, c.variables, undefined);
    entry.of = write.id;
    let answer: GraphQLAnswer;
    try {
      answer = await post(url, c.query, c.variables);
    } catch (error) {
      rec.finish(entry, { kind: 'ambiguous', reason: `network: ${(error as Error).message}` });
      entry.check = { verdict: 'error', detail: (error as Error).message };
      continue;
    }
    const code = answer.errors?.[0]?.extensions?.code;
    rec.finish(entry, answer.errors?.length ? { kind: 'refused', code: code ?? 'ERROR', message: answer.errors[0].message } : { kind: 'ok', value: answer.data });
    if (answer.errors?.length || !answer.data) {
      entry.check = { verdict: 'error', detail: code ?? 'no data' };
      continue;
    }
    const wrong = c.judge(answer.data);
    if (!wrong) {
      entry.check = { verdict: 'pass', detail: '' };
      continue;
    }
    const others = c.racing ? rec.overlapping(c.racing.entity, c.racing.ops, write, entry.endMs) : [];
    entry.check = others.length ? { verdict: 'concurrent', detail: `${wrong}; overlapping ${others.map((o) => `#${o.id}`).join(', ')}` } : { verdict: 'stale', detail: wrong };
  }
}
