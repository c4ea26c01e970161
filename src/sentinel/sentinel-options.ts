import type { BackendAddress } from '../config/config.js';
import type { Logger } from 'pino';
import type { TlsClientOptions } from '../backend/connect.js';

/** A sentinel or data node address as the sentinels report it. */
export interface HostPort {
  host: string;
  port: number;
}

/** Credentials and TLS for one kind of server (the sentinels, or the data nodes). */
export interface ServerAccess {
  username: string | null;
  password: string | null;
  tls: boolean;
  tlsOptions?: TlsClientOptions;
}

export interface SentinelFollowerOptions {
  /** asked in this order; the first reachable one also carries the +switch-master subscription */
  sentinels: HostPort[];
  /** the name the sentinels monitor (`sentinel monitor <name> ...`) */
  masterName: string;
  /** for the sentinels, which often have a password of their own (`requirepass` in sentinel.conf) */
  sentinelAccess: ServerAccess;
  /** for the data nodes, to check `ROLE`; the primary handed out carries them (and `db`) */
  nodeAccess: ServerAccess & { db?: number };
  /** re-ask the sentinels this often even without an event (ms, default 5000) */
  recheckIntervalMs?: number;
  /** one request to a sentinel or a node, connect included (ms, default 2000) */
  timeoutMs?: number;
  /** retry delays while nothing is known or no sentinel can be subscribed to (ms, default 100 .. 5000) */
  backoffMinMs?: number;
  backoffMaxMs?: number;
  log?: Logger;
}

/** A BackendAddress for `hp` carrying `access`'s credentials; `display` never holds the password. */
export function addressOf(hp: HostPort, access: ServerAccess & { db?: number }): BackendAddress {
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
export function keyOf(hp: HostPort): string {
  return hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}

/** `delay(attempt)`: doubling from min, capped at max. */
export function backoff(attempt: number, minMs: number, maxMs: number): number {
  return Math.min(maxMs, minMs * 2 ** Math.min(attempt, 20));
}

/** Rejects after `ms` and calls `onTimeout` (which should close what the promise waits on). */
export function within<T>(p: Promise<T>, ms: number, what: string, onTimeout: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
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
export function refusal(sentinel: string, message: string): SentinelAuthError | null {
  if (/^(NOAUTH|WRONGPASS)|invalid password|invalid username-password/i.test(message)) {
    return new SentinelAuthError(`sentinel ${sentinel} refused authentication (${message})`);
  }
  if (/^NOPERM/.test(message)) return new SentinelAuthError(`sentinel ${sentinel} denied permission (${message})`);
  return null;
}

/** The sentinel refused the follower's credentials or its user's rights. */
export class SentinelAuthError extends Error {}

/** A connect failure in a few words: the system code (ECONNREFUSED), or TLS's own sentence. */
export function connectFailure(e: Error & { code?: string }): string {
  return e.code !== undefined && /^E[A-Z]+$/.test(e.code) ? e.code : e.message;
}
