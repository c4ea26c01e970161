// Phase 2: write the data every workload reads, then check that each target returns the
// right bytes for a known key (twice, so a cached copy is checked too).

import { lg, type Bench } from '../lib/bench.js';
import { MiniClient, keyName, valueFor } from '../lib/resp.js';
import { KEYS, KEYSPACES, type KeyspaceName } from '../lib/workloads.js';

/** SET `count` keys `prefix` + 12 digits with `size`-byte values on the server at `port`. */
export async function fill(b: Bench, port: number, prefix: string, size: number, count: number): Promise<void> {
  const r = await lg(b, { port, connections: 4, pipeline: size > 1000 ? 8 : 64, durationMs: 0, maxRequests: count, keyPrefix: prefix, keyspace: count, distribution: 'sequential', getRatio: 0, valueSize: size });
  if (r.failure || r.errors > 0) throw new Error(`prefill ${prefix} on ${port} failed: ${r.failure ?? `${r.errors} errors`}`);
}

export async function prefill(b: Bench): Promise<void> {
  // the keyspaces read: into Redis, and into each target with a store of its own (the ceiling server) that reads it
  const spaces = new Set<KeyspaceName>(['hot', ...b.workloads.flatMap((w) => (w.warm ? [w.warm] : []))]);
  for (const name of spaces) {
    const { prefix, size, keys } = KEYSPACES[name];
    const own = [...b.targets.values()].filter((t) => t.ok && t.ownStorage && (name === 'hot' || b.workloads.some((w) => w.warm === name && w.targets.includes(t.id))));
    for (const port of [b.redis.port, ...own.map((t) => t.port)]) await fill(b, port, prefix, size, keys ?? KEYS);
  }
  for (const w of b.workloads) {
    if (w.run.tool !== 'loadgen' || !w.run.prefixFor) continue;
    for (const id of w.targets) {
      const t = b.targets.get(id);
      if (!t?.ok) continue;
      await fill(b, t.ownStorage ? t.port : b.redis.port, w.run.prefixFor(id), w.run.spec.valueSize ?? 100, w.run.spec.keyspace ?? KEYS);
    }
  }
  b.log('prefill done');
  await sanityCheck(b);
}

async function sanityCheck(b: Bench): Promise<void> {
  const expected = valueFor(0, KEYSPACES.hot.size);
  for (const t of b.targets.values()) {
    if (!t.ok) continue;
    try {
      const c = await MiniClient.connect(t.port);
      try {
        for (let i = 0; i < 2; i++) {
          const r = await c.command(['GET', keyName(KEYSPACES.hot.prefix, 0)], 5000);
          if (!Buffer.isBuffer(r) || !r.equals(expected)) throw new Error(`GET returned ${r instanceof Error ? r.message : Buffer.isBuffer(r) ? `${r.length} wrong bytes` : String(r)}`);
        }
      } finally {
        c.close();
      }
    } catch (e) {
      t.ok = false;
      t.note = `sanity check failed: ${(e as Error).message}`;
      b.log(`${t.id}: ${t.note}`);
    }
  }
}
