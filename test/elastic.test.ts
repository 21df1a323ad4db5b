import { startTestChain, type TestChain } from './harness';
import { libfed } from './libfed';

/**
 * Elastic branches: a fourth site joins a running three-site chain through
 * `libfed sites add` (the launcher starts it from the edited config, the
 * gateway seeds it and routes to it) and is used through the same gateway
 * process, never restarted; then `libfed sites remove` drains it (new writes
 * there refused with BRANCH_DRAINING, holdings reported) and `--force`
 * removes it from routing.
 */

describe('a branch added to and removed from a running chain (pglite)', () => {
  let chain: TestChain;
  const target = () => ['--data', chain.dataDir, '--config', chain.configFile];

  beforeAll(async () => {
    chain = await startTestChain('pglite');
  }, 180_000);
  afterAll(() => chain?.close());

  it('Q7 joins without a gateway restart, lends, shows in gathered reads, then drains and is removed', async () => {
    const gatewayPid = chain.gateway.child.pid;
    const refusedBefore = await chain.query('mutation { addBranch(input: { id: "Q7", name: "Q7", address: "x" }) { id } }');
    expect(refusedBefore.errors?.[0].extensions.code).toBe('BRANCH_HAS_NO_SITE');

    const add = await libfed(['sites', 'add', '--id', 'Q7', '--name', 'Chi nhánh Quận 7', '--address', '1 Nguyễn Thị Thập, Quận 7', '--json', ...target()]);
    expect({ code: add.code, stderr: add.stderr }).toEqual({ code: 0, stderr: '' });
    const added = JSON.parse(add.stdout);
    expect(added.site).toBe('Q7');
    expect(added.copied).toBeGreaterThan(0);
    expect(added.branch).toEqual(expect.any(String));
    expect(chain.gateway.child.pid).toBe(gatewayPid);

    const branches = await chain.query<{ branches: { id: string; name: string }[] }>('{ branches { id name } }');
    expect(branches.data?.branches.map((b) => b.id)).toEqual(expect.arrayContaining(['Q1', 'Q3', 'Q5', 'Q7']));

    const book = (await chain.query<{ books: { edges: { node: { isbn: string } }[] } }>('{ books(first: 1) { edges { node { isbn } } } }')).data!.books.edges[0].node.isbn;
    const copy = await chain.query<{ addCopy: { id: string; branch: { id: string } } }>('mutation($i: ID!) { addCopy(isbn: $i, branchId: "Q7") { id branch { id } } }', { i: book });
    expect(copy.errors).toBeUndefined();
    expect(copy.data?.addCopy.branch.id).toBe('Q7');
    const reader = await chain.query<{ registerReader: { id: string } }>('mutation { registerReader(input: { name: "Người đọc Q7", branchId: "Q7" }) { id } }');
    expect(reader.errors).toBeUndefined();
    const loan = await chain.query<{ borrowCopy: { id: string } }>('mutation($r: ID!, $c: ID!) { borrowCopy(readerId: $r, copyId: $c) { id } }', { r: reader.data!.registerReader.id, c: copy.data!.addCopy.id });
    expect(loan.errors).toBeUndefined();
    const loanId = loan.data!.borrowCopy.id;
    expect(loanId.startsWith('Q7-')).toBe(true);

    const atQ7 = await chain.query<{ loans: { edges: { node: { id: string } }[] } }>('{ loans(branchId: "Q7", first: 100) { edges { node { id } } } }');
    expect(atQ7.data?.loans.edges.map((e) => e.node.id)).toEqual([loanId]);
    const gathered = await chain.query<{ loans: { totalCount: number; edges: { node: { id: string } }[] } }>('{ loans(open: true, first: 100) { totalCount edges { node { id } } } }');
    expect(gathered.errors).toBeUndefined();
    expect(gathered.data?.loans.edges.map((e) => e.node.id)).toContain(loanId);

    // Draining: it still holds a copy, a reader and an open loan, so it stays, and takes nothing new.
    const drain = await libfed(['sites', 'remove', '--id', 'Q7', '--json', ...target()]);
    expect(drain.code).toBe(1);
    expect(JSON.parse(drain.stdout)).toEqual({ site: 'Q7', removed: false, holds: { copies: 1, readers: 1, openLoans: 1 } });
    const refused = await chain.query('mutation($i: ID!) { addCopy(isbn: $i, branchId: "Q7") { id } }', { i: book });
    expect(refused.errors?.[0].extensions.code).toBe('BRANCH_DRAINING');
    // Still routed while draining: its loan is still there to be returned.
    expect((await chain.query('{ loans(branchId: "Q7", first: 5) { totalCount } }')).data).toEqual({ loans: { totalCount: 1 } });

    const force = await libfed(['sites', 'remove', '--id', 'Q7', '--force', '--json', ...target()]);
    expect(force.code).toBe(0);
    expect(JSON.parse(force.stdout).removed).toBe(true);
    const after = await chain.query('mutation($i: ID!) { addCopy(isbn: $i, branchId: "Q7") { id } }', { i: book });
    expect(after.errors?.[0].extensions.code).toBe('UNKNOWN_BRANCH');
    const without = await chain.query<{ loans: { edges: { node: { id: string } }[] } }>('{ loans(open: true, first: 100) { edges { node { id } } } }');
    expect(without.errors).toBeUndefined();
    expect(without.data?.loans.edges.map((e) => e.node.id)).not.toContain(loanId);
    expect(chain.gateway.child.pid).toBe(gatewayPid);
  }, 240_000);
});
