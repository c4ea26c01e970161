import { createHmac, randomBytes } from 'node:crypto';
// The credentials Redis accepted lately, so that a client that connects, authenticates and
// leaves (a PHP or CGI request, a health check) costs Redis nothing more than a direct client
// that reads from the cache. Only an HMAC of (user, password) under a salt drawn at start is
// kept, never the password: a heap dump or a core file shows digests that cannot be tried
// against Redis, nor compared across processes. Bounded (the oldest go first), and emptied
// whole at any change of rules or passwords (see UserPools.accessChanged): a cached credential
// is never older than the last change the proxy has seen.
const DEFAULT_MAX = 1024;
export class CredentialCache {
    max;
    salt = randomBytes(32);
    /** digest → user (a Map keeps insertion order: the first key is the oldest) */
    verified = new Map();
    /** bumped at each clear: a check answered after one is not remembered */
    epoch = 0;
    constructor(max = DEFAULT_MAX) {
        this.max = max;
    }
    digest(user, password) {
        // (the user's length first: "ab"+"c" and "a"+"bc" differ)
        return createHmac('sha256', this.salt).update(`${user.length}:${user}:`, 'latin1').update(password).digest('base64');
    }
    /** did Redis accept this user with this password since the last change of rules */
    has(user, password) {
        return this.verified.has(this.digest(user, password));
    }
    /** Redis accepted it; `epoch`: the cache's epoch when the check was sent (stale: not kept) */
    add(user, password, epoch) {
        if (epoch !== this.epoch)
            return;
        const d = this.digest(user, password);
        this.verified.delete(d);
        this.verified.set(d, user);
        if (this.verified.size > this.max)
            this.verified.delete(this.verified.keys().next().value);
    }
    clear() {
        this.epoch++;
        this.verified.clear();
    }
    get size() {
        return this.verified.size;
    }
}
//# sourceMappingURL=credential-cache.js.map