import crypto from 'node:crypto';

// The credentials Redis accepted lately, so that a client that connects, authenticates and
// leaves (a PHP or CGI request, a health check) costs Redis nothing more than a direct client
// that reads from the cache. Only a SHA-256 of (salt, user, password), with a salt drawn at
// start, is kept, never the password: a heap dump or a core file shows digests that cannot be
// tried against Redis, nor compared across processes. (A one-shot SHA-256 rather than an
// HMAC: the same one-way lookup key at a third of the cost, and no object per AUTH, which
// every connect-per-request client sends.) Bounded (the oldest go first), each entry good
// for a second only, and emptied whole at any change of rules or passwords the proxy sees
// (see UserPools.accessChanged): a credential answered from memory was accepted by Redis
// less than a second ago, with or without an ACL watch to report changes.

/** crypto.hash is Node 20.12+ (package.json allows any 20): createHash before it */
const sha256: (data: Buffer) => string =
  typeof crypto.hash === 'function' ? (data) => crypto.hash('sha256', data, 'base64') : (data) => crypto.createHash('sha256').update(data).digest('base64');

const DEFAULT_MAX = 1024;
const DEFAULT_TTL_MS = 1000;
const SALT_BYTES = 32;
/** the salt, then a user and password are digested from here (longer ones from a buffer of their own) */
const SCRATCH_BYTES = 512;

export class CredentialCache {
  /** the salt, then room for one (user, password) at a time: zeroed after each digest */
  private readonly scratch = Buffer.alloc(SCRATCH_BYTES);
  /** digest → until when it may answer (a Map keeps insertion order: the first key is the oldest) */
  private readonly verified = new Map<string, number>();
  /** bumped at each clear: a check answered after one is not remembered */
  epoch = 0;

  constructor(
    private readonly max = DEFAULT_MAX,
    private readonly ttlMs = DEFAULT_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {
    crypto.randomBytes(SALT_BYTES).copy(this.scratch);
  }

  /** The salted digest the memory is keyed by (the same for the same user and password, in this process only). */
  digestOf(user: string, password: Buffer): string {
    // (the user's length first: "ab"+"c" and "a"+"bc" differ; a user is latin1, a byte a character)
    const head = `${user.length}:${user}:`;
    const s = this.scratch;
    const end = SALT_BYTES + head.length + password.length;
    const b = end <= s.length ? s : Buffer.alloc(end);
    if (b !== s) s.copy(b, 0, 0, SALT_BYTES);
    b.write(head, SALT_BYTES, 'latin1');
    password.copy(b, SALT_BYTES + head.length);
    const d = sha256(b.subarray(0, end));
    // (the password is not kept past the call)
    b.fill(0, SALT_BYTES, end);
    return d;
  }

  /** did Redis accept this user with this password less than ttlMs ago, and since the last change of rules */
  has(user: string, password: Buffer): boolean {
    return this.hasDigest(this.digestOf(user, password));
  }

  /** Redis accepted it; `epoch`: the cache's epoch when the check was sent (stale: not kept) */
  add(user: string, password: Buffer, epoch: number): void {
    this.addDigest(this.digestOf(user, password), epoch);
  }

  /** has, for a digest made once (digestOf) */
  hasDigest(d: string): boolean {
    const until = this.verified.get(d);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.verified.delete(d);
    return false;
  }

  /** add, for a digest made once (digestOf) */
  addDigest(d: string, epoch: number): void {
    if (epoch !== this.epoch) return;
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
