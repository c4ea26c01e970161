// Phase 5: memory per cached entry: RSS of a dedicated RedisProxy before and after
// caching N values, checked by re-reading a sample (what reaches Redis was not cached).

import type { LoadResult, LoadSpec } from '../loadgen.js';
import { rssBytes, sleep, stopManaged, type Managed } from '../lib/procs.js';
import type { MemoryResult } from '../lib/report.js';
import { extractHitMiss, fetchStats, startNodeServer, startProxy, type Ctx } from '../lib/targets.js';
import { KEYSPACES } from '../lib/workloads.js';

export function emptyMemory(entries: number, note: string): MemoryResult {
  return {
    entries,
    keyBytes: 16,
    valueBytes: 100,
    rssEmptyBytes: Number.NaN,
    rssFullBytes: Number.NaN,
    bytesPerEntry: Number.NaN,
    overheadPerEntry: Number.NaN,
    heapOverheadPerEntry: null,
    verifiedCached: null,
    statsEntries: null,
    fillOpsPerSec: Number.NaN,
    note,
    ceiling: null,
  };
}

export async function measureMemory(
  ctx: Ctx,
  o: {
    cli: string | null;
    redisPort: number;
    entries: number;
    lg: (spec: Partial<LoadSpec>) => Promise<LoadResult>;
    redisCounters: () => Promise<{ get: number; set: number }>;
    withCeiling: boolean;
  },
): Promise<MemoryResult> {
  const prefix = 'mem:';
  const keyBytes = prefix.length + 12;
  const valueBytes = KEYSPACES.hot.size;
  const N = o.entries;
  // Redis holds the values; the proxy will cache them through GETs.
  const pre = await o.lg({ port: o.redisPort, connections: 4, pipeline: 64, durationMs: 0, maxRequests: N, keyPrefix: prefix, keyspace: N, distribution: 'sequential', getRatio: 0, valueSize: valueBytes, timeoutMs: 300_000 });
  if (pre.failure || pre.errors) throw new Error(`prefill: ${pre.failure ?? `${pre.errors} errors`}`);

  const t = await startProxy(ctx, { id: 'proxy-mem', label: 'RedisProxy memory probe', cli: o.cli, upstreamPort: o.redisPort, capacity: N, ttlSeconds: 3600, withAdmin: true });
  if (!t.ok || !t.proc) return emptyMemory(N, `RedisProxy did not start: ${t.note}`);
  const proc: Managed = t.proc;
  try {
    // exercise the pass-through path (SETs are not cached) so connection buffers and JIT are in place
    await o.lg({ port: t.port, connections: 4, pipeline: 32, durationMs: 0, maxRequests: 20_000, keyPrefix: 'memwarm:', keyspace: 20_000, distribution: 'sequential', getRatio: 0, valueSize: valueBytes });
    await sleep(1000);
    const rssEmpty = rssBytes(proc.pid);
    const heapEmpty = t.adminPort !== null ? heapUsed(await fetchStats(t.adminPort)) : null;
    const f = await o.lg({ port: t.port, connections: 4, pipeline: 32, durationMs: 0, maxRequests: N, keyPrefix: prefix, keyspace: N, distribution: 'sequential', getRatio: 1, timeoutMs: 600_000 });
    if (f.failure || f.errors) throw new Error(`fill: ${f.failure ?? `${f.errors} errors`}`);
    await sleep(1500);
    const rssFull = rssBytes(proc.pid);
    const heapFull = t.adminPort !== null ? heapUsed(await fetchStats(t.adminPort)) : null;
    // verify: re-read a sample; whatever reaches Redis was not cached
    const sample = Math.min(N, 50_000);
    const c0 = await o.redisCounters();
    await o.lg({ port: t.port, connections: 4, pipeline: 32, durationMs: 0, maxRequests: sample, keyPrefix: prefix, keyspace: sample, distribution: 'sequential', getRatio: 1 });
    const c1 = await o.redisCounters();
    const stats = t.adminPort !== null ? extractHitMiss(await fetchStats(t.adminPort)) : null;
    const per = (rssFull - rssEmpty) / N;
    const ceiling = o.withCeiling ? await ceilingMemory(ctx, N, o.lg, prefix, valueBytes, keyBytes).catch(() => null) : null;
    return {
      entries: N,
      keyBytes,
      valueBytes,
      rssEmptyBytes: rssEmpty,
      rssFullBytes: rssFull,
      bytesPerEntry: per,
      overheadPerEntry: per - keyBytes - valueBytes,
      verifiedCached: 1 - (c1.get - c0.get) / sample,
      statsEntries: stats?.entries ?? null,
      heapOverheadPerEntry: heapEmpty !== null && heapFull !== null ? (heapFull - heapEmpty) / N - keyBytes - valueBytes : null,
      fillOpsPerSec: f.opsPerSec,
      note: 'RSS includes V8 garbage not yet collected, so this is an upper bound on the live cost.',
      ceiling,
    };
  } finally {
    await stopManaged(proc);
  }
}

function heapUsed(stats: unknown): number | null {
  const v = (stats as { memory?: { heapUsed?: unknown } } | null)?.memory?.heapUsed;
  return typeof v === 'number' ? v : null;
}

async function ceilingMemory(
  ctx: Ctx,
  N: number,
  lg: (spec: Partial<LoadSpec>) => Promise<LoadResult>,
  prefix: string,
  valueBytes: number,
  keyBytes: number,
): Promise<{ rssEmptyBytes: number; rssFullBytes: number; overheadPerEntry: number }> {
  const t = await startNodeServer(ctx, { id: 'ceiling-mem', label: 'ceiling memory probe', kind: 'ceiling', script: 'bench/reference/ceiling.ts', args: [], ownStorage: true });
  if (!t.ok || !t.proc) throw new Error(t.note);
  try {
    // warm with GET misses (nothing stored)
    await lg({ port: t.port, connections: 4, pipeline: 32, durationMs: 0, maxRequests: 20_000, keyPrefix: prefix, keyspace: 20_000, distribution: 'sequential', getRatio: 1 });
    await sleep(1000);
    const rssEmpty = rssBytes(t.proc.pid);
    await lg({ port: t.port, connections: 4, pipeline: 32, durationMs: 0, maxRequests: N, keyPrefix: prefix, keyspace: N, distribution: 'sequential', getRatio: 0, valueSize: valueBytes, timeoutMs: 600_000 });
    await sleep(1500);
    const rssFull = rssBytes(t.proc.pid);
    return { rssEmptyBytes: rssEmpty, rssFullBytes: rssFull, overheadPerEntry: (rssFull - rssEmpty) / N - keyBytes - valueBytes };
  } finally {
    await stopManaged(t.proc);
  }
}
