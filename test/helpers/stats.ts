// The proxy's admin `/stats` JSON, read over HTTP.
import { withTimeout } from './util.js';

export interface ProxyStats {
  clients: { connected: number; total: number; rejected: number };
  /** the cache's counters (entries, bytes, hits, misses, fills, invalidations, ...); only `enabled: false` when the cache is off */
  cache: Record<string, number>;
  /** the invalidation link; null when the cache is off */
  link: { state: string; connects: number; lastError: string } | null;
  /** sharing: a client connecting now would ride a shared connection */
  redis: { reachable: boolean; sharing: boolean; userPools?: { users: number; authFromMemory: number; authChecks: number } | null };
  memory: Record<string, number>;
}

/** GET /stats on the admin port (bounded: 3 s). */
export async function proxyStats(adminPort: number): Promise<ProxyStats> {
  const res = await withTimeout(fetch(`http://127.0.0.1:${adminPort}/stats`), 3000, 'GET /stats');
  return (await res.json()) as ProxyStats;
}
