// Which RedisProxy instances run when, and warming a target's cache before it is measured.

import { lg, type Bench } from '../lib/bench.js';
import { stopManaged } from '../lib/procs.js';
import { startProxy, type Target } from '../lib/targets.js';
import { KEYS, KEYSPACES, type Workload } from '../lib/workloads.js';
import { proxyOptions } from './start-targets.js';

/**
 * A proxy with a cache and tracking coherence (its connections are tracked for its invalidation link).
 * `--coherence ttl` proxies have no tracking (Redis pushes them nothing), so they stay up all along.
 */
export function isCaching(b: Bench, id: string): boolean {
  const po = b.proxyOpts.get(id);
  return po !== undefined && po.capacity > 0 && po.coherence !== 'ttl';
}

/** Run exactly the tracking proxies in `wanted` (others stopped: their tracking costs Redis work on writes of keys they read). */
export async function ensureProxies(b: Bench, wanted: string[]): Promise<void> {
  for (const [id, po] of b.proxyOpts) {
    const t = b.targets.get(id);
    if (!t || !t.ok || !isCaching(b, id)) continue;
    const running = t.proc !== null && !t.proc.exited;
    if (running && !wanted.includes(id) && t.proc) {
      await stopManaged(t.proc);
      t.proc = null;
    } else if (!running && wanted.includes(id)) {
      const fresh = await startProxy(b.ctx, po);
      Object.assign(t, fresh);
      // a restarted proxy's cache is empty and its JIT cold
      for (const k of [...b.warmed]) if (k.endsWith(`|${id}`)) b.warmed.delete(k);
      for (const k of [...b.probed]) if (k.endsWith(`|${id}`)) b.probed.delete(k);
      b.fresh.add(id);
      if (!t.ok) b.log(`${id}: restart failed: ${t.note}`);
    }
  }
}

/** Read the workload's keyspace once through `t` (fills a proxy's cache); not recorded. */
export async function warm(b: Bench, w: Workload, t: Target): Promise<void> {
  if (w.warm === null) return;
  const ks = KEYSPACES[w.warm];
  const key = `${w.warm}|${t.id}`;
  if (b.warmed.has(key)) return;
  const keys = ks.keys ?? KEYS;
  const r = await lg(b, { port: t.port, connections: 8, pipeline: ks.size > 1000 ? 4 : 32, durationMs: 0, maxRequests: keys, keyPrefix: ks.prefix, keyspace: keys, distribution: 'sequential', getRatio: 1 });
  if (r.failure) throw new Error(`warm-up failed: ${r.failure}`);
  b.warmed.add(key);
}

/** The cache-on `proxy` target, started if the workloads did not need it, and running (alone among the tracking proxies). */
export async function ensureCacheOnProxy(b: Bench): Promise<Target | null> {
  if (!b.targets.has('proxy')) {
    const po = proxyOptions(b.cli, 'proxy', 'RedisProxy (cache on)', 200_000, b.redis.port);
    b.proxyOpts.set('proxy', po);
    b.targets.set('proxy', await startProxy(b.ctx, po));
  }
  await ensureProxies(b, ['proxy']);
  return b.targets.get('proxy') ?? null;
}
