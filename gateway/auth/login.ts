import { LRUCache } from 'lru-cache';
import { hashPassword, nameSalt, verifyPassword, type ParticipantClient } from '../../contracts';
import { libfedError } from '../../schema';
import type { Session, Tokens } from './tokens';

export interface LoginOptions {
  client: ParticipantClient;
  /** Sites in the order to ask (the accounts table is replicated: any one answers). */
  siteIds: () => readonly string[];
  tokens: Tokens;
  /** Failed attempts allowed per user name within `windowMs` (5), and per client address (50: many staff may share one). */
  maxFailures?: number;
  maxFailuresPerAddress?: number;
  windowMs?: number;
}

type Account = { passwordHash: string; role: 'THUTHU' | 'QUANLY'; branchId: string | null; disabled: boolean };

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
    this.failures = new LRUCache({ max: 10_000 });
    this.decoy = hashPassword('', nameSalt('libfed-decoy'));
  }

  async login(username: string, password: string, clientAddress: string): Promise<Session> {
    const keys: [string, number][] = [
      [`user:${username.toLowerCase()}`, this.o.maxFailures ?? 5],
      [`addr:${clientAddress}`, this.o.maxFailuresPerAddress ?? 50],
    ];
    const retryAfter = this.throttled(keys);
    if (retryAfter > 0) {
      throw libfedError('LOGIN_THROTTLED', `too many failed logins; try again in ${retryAfter} s`, { retryAfterSeconds: retryAfter });
    }
    const account = username.length <= 64 && password.length <= 200 ? await this.account(username) : null;
    const matches = await verifyPassword(password, account?.passwordHash ?? (await this.decoy));
    if (!account || !matches || account.disabled) {
      this.fail(keys);
      throw libfedError('UNAUTHENTICATED', 'wrong username or password');
    }
    return this.o.tokens.issue(username, account.role, account.branchId);
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

  private fail(keys: [string, number][]): void {
    const now = Date.now();
    for (const [key, max] of keys) this.failures.set(key, [...(this.failures.get(key) ?? []), now].slice(-max));
  }
}
