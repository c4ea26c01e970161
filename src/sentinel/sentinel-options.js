/** A BackendAddress for `hp` carrying `access`'s credentials; `display` never holds the password. */
export function addressOf(hp, access) {
    const hostPort = hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
    return {
        host: hp.host,
        port: hp.port,
        tls: access.tls,
        username: access.username,
        password: access.password,
        db: access.db ?? 0,
        display: access.username ? `${access.username}@${hostPort}` : hostPort,
    };
}
/** host:port, the key two answers are compared by. */
export function keyOf(hp) {
    return hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}
/** `delay(attempt)`: doubling from min, capped at max. */
export function backoff(attempt, minMs, maxMs) {
    return Math.min(maxMs, minMs * 2 ** Math.min(attempt, 20));
}
/** Rejects after `ms` and calls `onTimeout` (which should close what the promise waits on). */
export function within(p, ms, what, onTimeout) {
    let timer;
    const t = new Promise((_, reject) => {
        timer = setTimeout(() => {
            onTimeout();
            reject(new Error(`${what}: no answer within ${ms} ms`));
        }, ms);
    });
    return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
/**
 * A sentinel's refusal as an error to report, or null when the reply is no refusal: a
 * missing or wrong password (NOAUTH, WRONGPASS), or a user without the right (NOPERM; a
 * user needs `&*` or `&+switch-master` to subscribe, since Redis 7 gives new users no channels).
 */
export function refusal(sentinel, message) {
    if (/^(NOAUTH|WRONGPASS)|invalid password|invalid username-password/i.test(message)) {
        return new SentinelAuthError(`sentinel ${sentinel} refused authentication (${message})`);
    }
    if (/^NOPERM/.test(message))
        return new SentinelAuthError(`sentinel ${sentinel} denied permission (${message})`);
    return null;
}
/** The sentinel refused the follower's credentials or its user's rights. */
export class SentinelAuthError extends Error {
}
/** A connect failure in a few words: the system code (ECONNREFUSED), or TLS's own sentence. */
export function connectFailure(e) {
    return e.code !== undefined && /^E[A-Z]+$/.test(e.code) ? e.code : e.message;
}
//# sourceMappingURL=sentinel-options.js.map