// Shared bits of the cache and coherence suites: proxy stats over the admin port,
// and "is this answered while Redis is frozen?" as the black-box proof of a cache hit.
import { Redis } from 'ioredis';
import { startProxy, getFreePort, sleep, type RedisServer, type ProxyProcess } from '../helpers/index.js';

export async function stats(adminPort: number): Promise<{ cache: Record<string, number>; link: { state: string; connects: number } }> {
  const res = await fetch(`http://127.0.0.1:${adminPort}/stats`);
  return (await res.json()) as { cache: Record<string, number>; link: { state: string; connects: number } };
}

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

/** Poll until `check` passes or the deadline; returns elapsed ms. */
export async function eventually(check: () => Promise<boolean>, deadlineMs = 2000, stepMs = 2): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    if (await check()) return performance.now() - t0;
    if (performance.now() - t0 > deadlineMs) throw new Error(`condition not met within ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** A proxy in front of `redis` with an admin port, once its link is up and the cache serves. */
export async function withProxy(redis: RedisServer, args: string[]): Promise<{ proxy: ProxyProcess; admin: number }> {
  const admin = await getFreePort();
  const proxy = await startProxy({ redisPort: redis.port, args: ['--admin-port', String(admin), ...args] });
  for (let i = 0; i < 200; i++) {
    const s = await stats(admin);
    if (s.link?.state === 'up' || s.link?.state === 'ttl-only') break;
    await sleep(20);
  }
  return { proxy, admin };
}
