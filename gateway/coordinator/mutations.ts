import { libfedError, MAX_ID_LENGTH, SITE_ID } from '../../schema';
import { hashPassword, staleLines, USERNAME_PATTERN, type Located, type Operation, type ParticipantClient } from '../../contracts';
import type { TxPlan } from './coordinator';

/**
 * Turns a mutation field and its arguments into operations per site
 * (docs/ARCHITECTURE.md §4). Reads that planning needs (where a copy is, a loan's reader) go to the
 * sites directly; their answers are re-checked by the operations under lock.
 */
export interface PlanningContext {
  client: ParticipantClient;
  siteIds: readonly string[];
  birthSite: (id: string) => string | undefined;
  now: () => Date;
  maxOpenLoans: number;
  loanDays: number;
}

type Args = Record<string, unknown>;
const DAY_MS = 86_400_000;


/**
 * A text argument (a name, title, author, address), trimmed. Keys go through
 * `key` instead: reads take a branch or entity id exactly as given, so a
 * mutation must too (" Q1" names no branch either way).
 */
function str(args: Args, name: string, max = 255): string {
  return key(args, name, max).trim();
}

/** A key argument (an id, branch id, ISBN or username), exactly as given: not empty, not only spaces, at most `max` characters. */
function key(args: Args, name: string, max: number): string {
  // The query planner prints an ID that looks like an integer (an ISBN) as an Int literal.
  const value = typeof args[name] === 'number' ? String(args[name]) : args[name];
  if (typeof value !== 'string' || value.trim() === '' || value.length > max) {
    const shown = typeof value === 'string' && value.length > 60 ? `${value.length} characters` : JSON.stringify(value);
    throw libfedError('BAD_USER_INPUT', `${name} must be a non-empty string of at most ${max} characters, got ${shown}`, { argument: name, max });
  }
  return value;
}

/** An entity id argument, within the length every site accepts. */
function id(args: Args, name: string): string {
  return key(args, name, MAX_ID_LENGTH);
}

/** A branch id argument: exactly one of the chain's site ids. */
function branchArg(ctx: PlanningContext, args: Args, name: string): string {
  return branch(ctx, key(args, name, 255));
}

function branch(ctx: PlanningContext, id: string): string {
  if (!ctx.siteIds.includes(id)) throw libfedError('UNKNOWN_BRANCH', `branch "${id}" names no branch; the branches are ${ctx.siteIds.join(', ')}`);
  return id;
}

/** Finds the site that holds a copy or reader now: its birth site, one forward, or every site for an unprefixed id. */
export async function locate(ctx: PlanningContext, entity: 'Copy' | 'Reader', id: string): Promise<{ site: string; row: Extract<Located, { held: true }> }> {
  const ask = (site: string) => ctx.client.call(site, 'locate', { entity, id });
  const born = ctx.birthSite(id);
  if (born) {
    const first = await ask(born);
    if (first.held) return { site: born, row: first };
    if (first.site) {
      const there = await ask(first.site);
      if (there.held) return { site: first.site, row: there };
    }
  } else {
    const answers = await Promise.all(ctx.siteIds.map(async (site) => ({ site, located: await ask(site) })));
    const found = answers.find((a) => a.located.held);
    if (found && found.located.held) return { site: found.site, row: found.located };
  }
  throw libfedError('NOT_FOUND', `${entity === 'Copy' ? 'copy' : 'reader'} ${id} does not exist`);
}

/** `actsAt`: the branch the mutation acts at, the only one where a librarian may do it; null for chain-wide writes. */
function plan(entries: [string, Operation][], commitSite: string, actsAt: string | null): TxPlan {
  const ops = new Map<string, Operation[]>();
  for (const [site, op] of entries) ops.set(site, [...(ops.get(site) ?? []), op]);
  return { ops, commitSite, actsAt, lines: staleLines(entries.map(([, op]) => op)) };
}

async function loanSite(ctx: PlanningContext, loanId: string) {
  const site = ctx.birthSite(loanId);
  const found = site ? (await ctx.client.call(site, 'loan', { id: loanId })).loan : null;
  if (!site || !found) throw libfedError('NOT_FOUND', `loan ${loanId} does not exist`);
  return { site, loan: found };
}

const PLANNERS: Record<string, (ctx: PlanningContext, args: Args) => Promise<TxPlan>> = {
  async borrowCopy(ctx, args) {
    const reader = await locate(ctx, 'Reader', id(args, 'readerId'));
    const copy = await locate(ctx, 'Copy', id(args, 'copyId'));
    const at = ctx.now();
    const dueAt = new Date(at.getTime() + ctx.loanDays * DAY_MS);
    // The copy's site writes the loan, so its commit decides and returns the new id.
    return plan(
      [
        [reader.site, { kind: 'reader.reserveLoan', readerId: id(args, 'readerId'), max: ctx.maxOpenLoans }],
        [copy.site, { kind: 'loan.open', copyId: id(args, 'copyId'), readerId: id(args, 'readerId'), at: at.toISOString(), dueAt: dueAt.toISOString() }],
      ],
      copy.site,
      // A librarian lends the copies of their own branch, to readers of any branch.
      copy.site,
    );
  },
  async returnCopy(ctx, args) {
    const loanId = id(args, 'loanId');
    const { site, loan } = await loanSite(ctx, loanId);
    if (!loan.open) throw libfedError('LOAN_CLOSED', `loan ${loanId} was already returned`);
    const reader = await locate(ctx, 'Reader', loan.readerId);
    return plan(
      [
        [site, { kind: 'loan.close', loanId, at: ctx.now().toISOString(), copyId: loan.copyId }],
        [reader.site, { kind: 'reader.releaseLoan', readerId: loan.readerId }],
      ],
      site,
      site,
    );
  },
  async renewLoan(ctx, args) {
    const loanId = id(args, 'loanId');
    const { site } = await loanSite(ctx, loanId);
    const now = ctx.now();
    const dueAt = new Date(now.getTime() + ctx.loanDays * DAY_MS).toISOString();
    return plan([[site, { kind: 'loan.renew', loanId, now: now.toISOString(), dueAt }]], site, site);
  },
  async transferCopy(ctx, args) {
    const copyId = id(args, 'copyId');
    const to = branchArg(ctx, args, 'toBranchId');
    const copy = await locate(ctx, 'Copy', copyId);
    if (copy.site === to) throw libfedError('SAME_BRANCH', `copy ${copyId} is already at ${to}`);
    const entries: [string, Operation][] = [
      [copy.site, { kind: 'copy.remove', copyId }],
      [to, { kind: 'copy.insert', copyId, isbn: copy.row.copy!.isbn, branchId: to }],
    ];
    const born = ctx.birthSite(copyId);
    // docs/ARCHITECTURE.md §3 rule 4: the birth site learns the new place in the same transaction.
    if (born) entries.push([born, { kind: 'location.set', entity: 'Copy', id: copyId, site: to }]);
    // Out of the branch that has it now.
    return { ...plan(entries, to, copy.site), moved: { id: copyId, site: to } };
  },
  async addCopy(ctx, args) {
    const site = branchArg(ctx, args, 'branchId');
    return plan([[site, { kind: 'copy.add', isbn: key(args, 'isbn', 20), branchId: site }]], site, site);
  },
  async registerReader(ctx, args) {
    const input = (args.input ?? {}) as Args;
    const site = branchArg(ctx, input, 'branchId');
    return plan([[site, { kind: 'reader.register', name: str(input, 'name'), branchId: site }]], site, site);
  },
  async moveReader(ctx, args) {
    const readerId = id(args, 'readerId');
    const to = branchArg(ctx, args, 'toBranchId');
    const reader = await locate(ctx, 'Reader', readerId);
    if (reader.site === to) throw libfedError('SAME_BRANCH', `reader ${readerId} is already registered at ${to}`);
    const { name, openLoans } = reader.row.reader!;
    const entries: [string, Operation][] = [
      [reader.site, { kind: 'reader.remove', readerId, openLoans }],
      [to, { kind: 'reader.insert', readerId, name, branchId: to, openLoans }],
    ];
    const born = ctx.birthSite(readerId);
    if (born) entries.push([born, { kind: 'location.set', entity: 'Reader', id: readerId, site: to }]);
    // A librarian moves the readers registered at their own branch.
    return { ...plan(entries, to, reader.site), moved: { id: readerId, site: to } };
  },
  // Replicated tables: read one, write all, in one transaction over every site.
  async addBook(ctx, args) {
    const input = (args.input ?? {}) as Args;
    const op: Operation = { kind: 'book.add', isbn: key(input, 'isbn', 20), title: str(input, 'title'), author: str(input, 'author') };
    return writeAll(ctx, op);
  },
  async updateBook(ctx, args) {
    const input = (args.input ?? {}) as Args;
    const op: Operation = {
      kind: 'book.update',
      isbn: key(args, 'isbn', 20),
      title: input.title == null ? undefined : str(input, 'title'),
      author: input.author == null ? undefined : str(input, 'author'),
    };
    return writeAll(ctx, op);
  },
  async addBranch(ctx, args) {
    const input = (args.input ?? {}) as Args;
    const id = key(input, 'id', 10);
    if (!SITE_ID.test(id)) throw libfedError('BAD_USER_INPUT', `branch id must be an upper-case letter then up to 7 letters or digits, got "${id}"`);
    // A branch is a site: a CHINHANH row without a site to hold its fragment would list a branch nothing can be done at.
    if (!ctx.siteIds.includes(id)) {
      throw libfedError('BRANCH_HAS_NO_SITE', `branch ${id} has no site in this chain (sites: ${ctx.siteIds.join(', ')}); add its site to the configuration first`, { branch: id });
    }
    const op: Operation = { kind: 'branch.add', id, name: str(input, 'name'), address: str(input, 'address') };
    return writeAll(ctx, op);
  },
};

/** A write of a replicated table: every site, in one transaction; chain-wide, so managers only. */
function writeAll(ctx: PlanningContext, op: Operation): TxPlan {
  return plan(ctx.siteIds.map((s) => [s, op]), ctx.siteIds[0], null);
}

const MIN_PASSWORD = 10;
const MAX_PASSWORD = 200;

/** A new password, hashed here: the sites and the coordinator's log only ever see its hash. */
async function passwordHash(args: Args, name: string): Promise<string> {
  const password = args[name];
  if (typeof password !== 'string' || [...password].length < MIN_PASSWORD || password.length > MAX_PASSWORD) {
    throw libfedError('BAD_USER_INPUT', `${name} must be ${MIN_PASSWORD} to ${MAX_PASSWORD} characters`, { argument: name, min: MIN_PASSWORD, max: MAX_PASSWORD });
  }
  return hashPassword(password);
}

function username(args: Args, name: string): string {
  const value = key(args, name, 64);
  if (!USERNAME_PATTERN.test(value)) throw libfedError('BAD_USER_INPUT', `${name} must be 3 to 64 lower-case letters, digits, dots, dashes or underscores, got "${value}"`, { argument: name });
  return value;
}

/** Staff accounts: a replicated table, written like the catalogue. */
const STAFF_PLANNERS: Record<string, (ctx: PlanningContext, args: Args) => Promise<TxPlan>> = {
  async createStaffAccount(ctx, args) {
    const input = (args.input ?? {}) as Args;
    const role = input.role === 'THUTHU' || input.role === 'QUANLY' ? input.role : undefined;
    if (!role) throw libfedError('BAD_USER_INPUT', `role must be THUTHU or QUANLY`, { argument: 'role' });
    const branchId = input.branchId == null ? null : branchArg(ctx, input, 'branchId');
    if ((role === 'THUTHU') !== (branchId !== null)) {
      throw libfedError('BAD_USER_INPUT', role === 'THUTHU' ? 'a librarian (THUTHU) needs a branchId' : 'a manager (QUANLY) works chain-wide: leave branchId out', { argument: 'branchId' });
    }
    return writeAll(ctx, { kind: 'staff.add', username: username(input, 'username'), passwordHash: await passwordHash(input, 'password'), role, branchId });
  },
  async setStaffAccountDisabled(ctx, args) {
    if (typeof args.disabled !== 'boolean') throw libfedError('BAD_USER_INPUT', 'disabled must be true or false', { argument: 'disabled' });
    return writeAll(ctx, { kind: 'staff.update', username: username(args, 'username'), disabled: args.disabled });
  },
  async resetStaffPassword(ctx, args) {
    return writeAll(ctx, { kind: 'staff.update', username: username(args, 'username'), passwordHash: await passwordHash(args, 'password') });
  },
};
Object.assign(PLANNERS, STAFF_PLANNERS);

export function planMutation(ctx: PlanningContext, field: string, args: Args): Promise<TxPlan> {
  const planner = PLANNERS[field];
  if (!planner) throw new Error(`no planner for mutation ${field}`);
  return planner(ctx, args);
}

export const MUTATIONS = Object.keys(PLANNERS);
