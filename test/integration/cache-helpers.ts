// Shared bits of the cache and coherence suites: an ioredis client, and "is this answered
// while Redis is frozen?" as the black-box proof of a cache hit. The proxy fixture, /stats
// and polling are in ../helpers/.
import { Redis } from 'ioredis';
import type { RedisServer } from '../helpers/index.js';

export function client(port: number, opts: Record<string, unknown> = {}): Redis {
  return new Redis({ port, host: '127.0.0.1', lazyConnect: false, maxRetriesPerRequest: 0, enableOfflineQueue: true, ...opts });
}

const PENDING = Symbol('pending');

/** Run `fn` while Redis is frozen: resolves with its result if it answers within `ms`, else PENDING (and thaws). */
export async function whileFrozen<T>(redis: RedisServer, fn: () => Promise<T>, ms = 400): Promise<T | typeof PENDING> {
  redis.freeze();
  try {
    const p = fn();
    const r = await Promise.race([p, new Promise<typeof PENDING>((res) => setTimeout(() => res(PENDING), ms))]);
    if (r === PENDING) p.catch(() => undefined);
    return r;
  } finally {
    redis.thaw();
  }
}

export const NOT_ANSWERED = PENDING;
