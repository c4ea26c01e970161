import crypto from 'node:crypto';

// The credentials Redis accepted lately, so that a client that connects, authenticates and
// leaves (a PHP or CGI request, a health check) costs Redis nothing more than a direct client
// that reads from the cache. Only a SHA-256 of (salt, user, password), with a salt drawn at
// start, is kept, never the password: a heap dump or a core file shows digests that cannot be
// tried against Redis, nor compared across processes. (A one-shot SHA-256 rather than an
// HMAC: the same one-way lookup key at a third of the cost, and no object per AUTH, which
// every connect-per-request client sends; its input is written byte by byte into one reused
// buffer.) The one exception is the proxy's own --addr credential, which its clients often
// share: compared in constant time with the copy the proxy holds anyway for its own
// connections, and remembered under a key of its own, with no digest to make. Bounded (the
// oldest go first), each entry good for a second only, and emptied whole at any change of
// rules or passwords the proxy sees (see UserPools.accessChanged): a credential answered from
// memory was accepted by Redis less than a second ago, with or without an ACL watch to report
// changes.

/** crypto.hash is Node 20.12+ (package.json allows any 20): createHash before it */
const sha256: (data: Buffer) => string =
  typeof crypto.hash === 'function' ? (data) => crypto.hash('sha256', data, 'base64') : (data) => crypto.createHash('sha256').update(data).digest('base64');

const DEFAULT_MAX = 1024;
const DEFAULT_TTL_MS = 1000;
const SALT_BYTES = 32;
/** the salt, then a user and password are digested from here (longer ones from a buffer of their own) */
const SCRATCH_BYTES = 512;
/**
 * The --addr credential is compared, not digested, in a buffer of this size: its length in
 * two bytes, then the password, then zeros, so that the comparison takes the same time
 * whatever the password and however much of it a guess gets right. (Longer: digested.)
 */
const PADDED_BYTES = 256;
/** the memory's key for the --addr credential: never a digest (those are 44 characters of base64) */
const CONFIGURED_KEY = '';

/** The proxy's own credential (--addr): clients that send it are remembered without a digest. */
export interface ConfiguredCredential {
  user: string;
  password: Buffer;
}

export class CredentialCache {
  /** the salt, then room for one (user, password) at a time: zeroed after each digest */
  private readonly scratch = Buffer.alloc(SCRATCH_BYTES);
  /** key (a digest, or CONFIGURED_KEY) → until when it may answer (a Map keeps insertion order: the first key is the oldest) */
  private readonly verified = new Map<string, number>();
  /** the --addr user (latin1, as a client's AUTH is read), and its password padded (null: none, or too long) */
  private readonly configuredUser: string | null = null;
  private readonly configuredPadded: Buffer | null = null;
  /** a client's password padded the same way, for the comparison: zeroed after each */
  private readonly candidate = Buffer.alloc(PADDED_BYTES);
  /** bumped at each clear: a check answered after one is not remembered */
  epoch = 0;

  constructor(
    private readonly max = DEFAULT_MAX,
    private readonly ttlMs = DEFAULT_TTL_MS,
    private readonly now: () => number = Date.now,
    configured: ConfiguredCredential | null = null,
  ) {
    crypto.randomBytes(SALT_BYTES).copy(this.scratch);
    // (the proxy holds this password anyway, for its own connections)
    if (configured !== null && configured.password.length <= PADDED_BYTES - 2) {
      this.configuredUser = configured.user;
      this.configuredPadded = Buffer.alloc(PADDED_BYTES);
      padInto(this.configuredPadded, configured.password, 0, configured.password.length);
    }
  }

  /**
   * The key the memory keeps a credential under (the same for the same user and password, in
   * this process only): the salted digest, or a fixed key for the --addr credential.
   * The password is password[off, off + len), so that it can be read where it arrived.
   */
  keyOf(user: string, password: Buffer, off = 0, len = password.length - off): string {
    if (this.isConfigured(user, password, off, len)) return CONFIGURED_KEY;
    // salt | the user's length (4 bytes: "ab"+"c" and "a"+"bc" differ) | user | password,
    // written byte by byte: no string is made for it (a user is latin1, a byte a character)
    const s = this.scratch;
    const ul = user.length;
    const end = SALT_BYTES + 4 + ul + len;
    const b = end <= s.length ? s : Buffer.alloc(end);
    if (b !== s) s.copy(b, 0, 0, SALT_BYTES);
    let at = SALT_BYTES;
    b[at++] = ul >>> 24;
    b[at++] = (ul >>> 16) & 0xff;
    b[at++] = (ul >>> 8) & 0xff;
    b[at++] = ul & 0xff;
    for (let i = 0; i < ul; i++) b[at++] = user.charCodeAt(i);
    for (let i = 0; i < len; i++) b[at++] = password[off + i];
    const d = sha256(b.subarray(0, end));
    // (the password is not kept past the call)
    b.fill(0, SALT_BYTES, end);
    return d;
  }

  /** Is this the --addr user with the --addr password (compared in constant time)? */
  private isConfigured(user: string, password: Buffer, off: number, len: number): boolean {
    const mine = this.configuredPadded;
    if (mine === null || len > PADDED_BYTES - 2 || user !== this.configuredUser) return false;
    const c = this.candidate;
    padInto(c, password, off, len);
    const same = crypto.timingSafeEqual(c, mine);
    c.fill(0, 0, len + 2);
    return same;
  }

  /** did Redis accept this user with this password less than ttlMs ago, and since the last change of rules */
  has(user: string, password: Buffer): boolean {
    return this.hasKey(this.keyOf(user, password));
  }

  /** Redis accepted it; `epoch`: the cache's epoch when the check was sent (stale: not kept) */
  add(user: string, password: Buffer, epoch: number): void {
    this.addKey(this.keyOf(user, password), epoch);
  }

  /** has, for a key made once (keyOf) */
  hasKey(k: string): boolean {
    const until = this.verified.get(k);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.verified.delete(k);
    return false;
  }

  /** add, for a key made once (keyOf) */
  addKey(k: string, epoch: number): void {
    if (epoch !== this.epoch) return;
    this.verified.delete(k);
    this.verified.set(k, this.now() + this.ttlMs);
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

/** into[0, 2): len; into[2, 2 + len): password[off, off + len); the rest is left as it is (zeros) */
function padInto(into: Buffer, password: Buffer, off: number, len: number): void {
  into[0] = len >>> 8;
  into[1] = len & 0xff;
  for (let i = 0; i < len; i++) into[2 + i] = password[off + i];
}
