import { createHmac, randomBytes } from 'node:crypto';

// The credentials Redis accepted lately, so that a client that connects, authenticates and
// leaves (a PHP or CGI request, a health check) costs Redis nothing more than a direct client
// that reads from the cache. Only an HMAC of (user, password) under a salt drawn at start is
// kept, never the password: a heap dump or a core file shows digests that cannot be tried
// against Redis, nor compared across processes. Bounded (the oldest go first), each entry
// good for a second only, and emptied whole at any change of rules or passwords the proxy
// sees (see UserPools.accessChanged): a credential answered from memory was accepted by
// Redis less than a second ago, with or without an ACL watch to report changes.

const DEFAULT_MAX = 1024;
const DEFAULT_TTL_MS = 1000;

export class CredentialCache {
  private readonly salt = randomBytes(32);
  /** digest → until when it may answer (a Map keeps insertion order: the first key is the oldest) */
  private readonly verified = new Map<string, number>();
  /** bumped at each clear: a check answered after one is not remembered */
  epoch = 0;

  constructor(
    private readonly max = DEFAULT_MAX,
    private readonly ttlMs = DEFAULT_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  private digest(user: string, password: Buffer): string {
    // (the user's length first: "ab"+"c" and "a"+"bc" differ)
    return createHmac('sha256', this.salt).update(`${user.length}:${user}:`, 'latin1').update(password).digest('base64');
  }

  /** did Redis accept this user with this password less than ttlMs ago, and since the last change of rules */
  has(user: string, password: Buffer): boolean {
    const d = this.digest(user, password);
    const until = this.verified.get(d);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.verified.delete(d);
    return false;
  }

  /** Redis accepted it; `epoch`: the cache's epoch when the check was sent (stale: not kept) */
  add(user: string, password: Buffer, epoch: number): void {
    if (epoch !== this.epoch) return;
    const d = this.digest(user, password);
    this.verified.delete(d);
    this.verified.set(d, this.now() + this.ttlMs);
    if (this.verified.size > this.max) this.verified.delete(this.verified.keys().next().value as string);
  }

  clear(): void {
    this.epoch++;
    this.verified.clear();
  }

  get size(): number {
    return this.verified.size;
  }
}
