import { LRUCache } from 'lru-cache';
import { hashPassword, nameSalt, USERNAME_PATTERN, verifyPassword, type ParticipantClient } from '../../contracts';
import { libfedError } from '../../schema';
import type { Session, Tokens } from './tokens';

export interface LoginOptions {
  client: ParticipantClient;
  /** Sites in the order to ask (the accounts table is replicated: any one answers). */
  siteIds: () => readonly string[];
  tokens: Tokens;
  /**
   * Failed attempts allowed within `windowMs`: per name from one address (5),
   * per address (50: the staff of a branch often share one), and per name
   * from anywhere (100: a guesser spread over many addresses). A stranger can
   * lock a name out only by failing 100 times, not 5.
   */
  maxFailures?: number;
  maxFailuresPerAddress?: number;
  maxFailuresPerName?: number;
  windowMs?: number;
}

type Account = { username: string; passwordHash: string; role: 'THUTHU' | 'QUANLY'; branchId: string | null; disabled: boolean };

/**
 * `login(username, password)`. Wrong credentials get one answer whether the
 * account exists, is disabled or the password is wrong, after the same work
 * (an unknown name is checked against a hash of nothing). Repeated failures
 * for a name, or from an address, are throttled for a while.
 */
export class LoginService {
  private readonly failures: LRUCache<string, number[]>;
  private readonly decoy: Promise<string>;

  constructor(private readonly o: LoginOptions) {
    // Large enough that flooding it from many addresses to reset a name's count costs far more than 100 tries.
    this.failures = new LRUCache({ max: 200_000 });
    this.decoy = hashPassword('', nameSalt('libfed-decoy'));
  }

  async login(typed: string, password: string, clientAddress: string): Promise<Session> {
    // One spelling per account, whatever the engine's collation folds (case, width, trailing spaces).
    const username = typed.normalize('NFKC').toLowerCase();
    const keys: [string, number][] = [
      [`pair:${username}|${clientAddress}`, this.o.maxFailures ?? 5],
      [`addr:${clientAddress}`, this.o.maxFailuresPerAddress ?? 50],
      [`user:${username}`, this.o.maxFailuresPerName ?? 100],
    ];
    const retryAfter = this.throttled(keys);
    if (retryAfter > 0) {
      throw libfedError('LOGIN_THROTTLED', `too many failed logins; try again in ${retryAfter} s`, { retryAfterSeconds: retryAfter });
    }
    // Counted as failed before any wait, so parallel attempts cannot all pass the check; undone on success.
    const attempt = this.fail(keys);
    const account = USERNAME_PATTERN.test(username) && password.length <= 200 ? await this.account(username) : null;
    const matches = await verifyPassword(password, account?.passwordHash ?? (await this.decoy));
    if (!account || account.username !== username || !matches || account.disabled) throw libfedError('UNAUTHENTICATED', 'wrong username or password');
    this.forget(keys, attempt);
    return this.o.tokens.issue(account.username, account.role, account.branchId);
  }

  /** The account from the first site that answers; no site answering is BRANCH_UNAVAILABLE, not "wrong password". */
  private async account(username: string): Promise<Account | null> {
    for (const site of this.o.siteIds()) {
      try {
        return (await this.o.client.call(site, 'staff', { username })).account;
      } catch {
        // the next site
      }
    }
    throw libfedError('BRANCH_UNAVAILABLE', 'no branch site answered; logins need one of them up, try again shortly');
  }

  private throttled(keys: [string, number][]): number {
    const now = Date.now();
    const windowMs = this.o.windowMs ?? 15 * 60_000;
    let wait = 0;
    for (const [key, max] of keys) {
      const recent = (this.failures.get(key) ?? []).filter((t) => t > now - windowMs);
      if (recent.length >= max) wait = Math.max(wait, Math.ceil((recent[recent.length - max] + windowMs - now) / 1000));
    }
    return wait;
  }

  /** Records a failed attempt under every key; returns its time, so a success can take it back. */
  private fail(keys: [string, number][]): number {
    const now = Date.now();
    for (const [key, max] of keys) this.failures.set(key, [...(this.failures.get(key) ?? []), now].slice(-max));
    return now;
  }

  private forget(keys: [string, number][], attempt: number): void {
    for (const [key] of keys) {
      const times = this.failures.get(key) ?? [];
      const i = times.lastIndexOf(attempt);
      if (i >= 0) this.failures.set(key, [...times.slice(0, i), ...times.slice(i + 1)]);
    }
  }
}
