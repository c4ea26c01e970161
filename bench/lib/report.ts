// Turning raw runs into medians, the target checklist, Markdown and an SVG chart.

import type { Percentiles } from '../staleness.js';
import type { LargeValuesResult } from '../phases/large-values.js';
import type { SlowReadersResult } from '../phases/slow-readers.js';

export interface RunRecord {
  workload: string;
  target: string;
  rep: number;
  tool: 'redis-benchmark' | 'loadgen';
  startedAt: string;
  opsPerSec: number;
  requests: number;
  wallMs: number;
  p50Us: number | null;
  p99Us: number | null;
  p999Us: number | null;
  /** the slowest request of the run (redis-benchmark and loadgen both report it) */
  maxUs?: number | null;
  /** the proxy's event-loop delay during the run (RedisProxy targets with an admin port) */
  eld?: EventLoopDelay | null;
  /** CPU seconds of the target's own process during the run (null for direct Redis) */
  targetCpuS: number | null;
  /** of which in user space (utime): the rest is the kernel's (system calls, the TCP stack) */
  targetUserCpuS?: number | null;
  redisCpuS: number;
  generatorCpuS: number | null;
  /** Redis-side counters during the run (INFO commandstats deltas) */
  redisGetCalls: number;
  redisSetCalls: number;
  clientGets: number;
  /** proxy hit ratio from admin /stats deltas, when available */
  statsHitRatio: number | null;
  errors: number;
  nils: number;
  failure: string | null;
  /** CPU cores used on average by processes outside the harness during the run (plus steal) */
  foreignCores: number | null;
  /** replaced by a re-run (too much foreign CPU); kept for the record, not summarized */
  superseded: boolean;
}

/**
 * Event-loop delay of a RedisProxy process during one run, in ms: prom-client's default
 * metrics (perf_hooks.monitorEventLoopDelay, sampled every 10 ms) from the proxy's /metrics,
 * scraped right before the run (which resets the histogram) and right after it.
 */
export interface EventLoopDelay {
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

/** foreign CPU (cores) above which a run is repeated once */
export const FOREIGN_LIMIT_CORES = 0.3;

export interface Summary {
  workload: string;
  target: string;
  reps: number;
  opsPerSec: number;
  opsMin: number;
  opsMax: number;
  p50Us: number | null;
  p99Us: number | null;
  p999Us: number | null;
  /** the slowest request over all kept runs */
  maxUs: number | null;
  /** event-loop delay of the proxy: median p99 over runs, and the largest max */
  eldP99Ms: number | null;
  eldMaxMs: number | null;
  targetCpuPerM: number | null;
  targetUserCpuPerM: number | null;
  redisCpuPerM: number | null;
  generatorCpuPct: number | null;
  statsHitRatio: number | null;
  /** 1 - (GETs Redis saw) / (GETs clients sent): how many GETs never reached Redis */
  absorbedGetRatio: number | null;
  errors: number;
  failures: string[];
  /** median foreign CPU (cores) over the kept runs */
  foreignCores: number | null;
}

export interface MemoryResult {
  entries: number;
  keyBytes: number;
  valueBytes: number;
  rssEmptyBytes: number;
  rssFullBytes: number;
  bytesPerEntry: number;
  overheadPerEntry: number;
  /** fraction of a re-read sample that did not reach Redis (i.e. was served from the cache) */
  verifiedCached: number | null;
  statsEntries: number | null;
  /** V8 heap in use (from /stats) empty and full, divided by entries, minus key + value: live objects only */
  heapOverheadPerEntry: number | null;
  fillOpsPerSec: number;
  note: string;
  /** the same measurement for the ceiling server's plain Map, for context */
  ceiling: { rssEmptyBytes: number; rssFullBytes: number; overheadPerEntry: number } | null;
}

/** bench/staleness.ts run by run.ts: direct writes on Redis, reads through the cache-on proxy */
export interface StalenessReport {
  /** target id the reads went through */
  target: string;
  samplesRequested: number;
  /** samples that saw the new value (never-fresh ones have no window) */
  samples: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
  /** reads that returned the old value after the write was acknowledged */
  staleReads: number;
  /** samples whose new value was not seen within the per-sample deadline */
  neverFresh: number;
  /** from the +OK to the sending of the read that returned the new value (null: not measured) */
  stalePeriod: Percentiles | null;
  /** a GET the cache cannot answer, through the proxy, in every sample: the floor of a window */
  missRoundTrip: Percentiles | null;
  /** how long after the +OK Redis's invalidation reached a tracking connection of the harness */
  pushLag: Percentiles | null;
  /** per-sample deadline after which a sample counts as never fresh */
  deadlineMs: number;
  /** average cores used by processes outside the harness during the measurement */
  foreignCores: number | null;
  wallMs: number;
  /** set when the measurement did not complete (then the numbers are NaN) */
  failure: string | null;
  /** the measurement ran out of time: something is very slow or invalidations are missing */
  timedOut: boolean;
  /**
   * A first attempt replaced by a quieter re-run (processes outside the harness used more than
   * FOREIGN_LIMIT_CORES during it). Its never-fresh samples still count in the checklist.
   */
  discarded: { p50Us: number; p99Us: number; maxUs: number; staleReads: number; neverFresh: number; foreignCores: number | null } | null;
}

export interface TargetInfo {
  id: string;
  label: string;
  kind: string;
  ok: boolean;
  note: string;
  detail: string;
}

export interface CheckItem {
  id: string;
  text: string;
  measured: string;
  /** 'reported': a row kept for the record, with no target */
  status: 'MET' | 'NOT MET' | 'n/a' | 'reported';
}

export interface Results {
  meta: {
    startedAt: string;
    finishedAt: string;
    wallSeconds: number;
    mode: 'quick' | 'full';
    reps: number;
    runSeconds: number;
    host: { cpus: number; cpuModel: string; loadavgStart: number[]; loadavgEnd: number[]; memTotalMB: number };
    versions: Record<string, string>;
    git: string;
    delayMs: number;
    /** measured extra round-trip of the delay relay: p50(redis-wan) - p50(redis), 1 client */
    delayRelayAddedRttUs: number | null;
    notes: string[];
  };
  targets: TargetInfo[];
  workloads: Array<{ id: string; title: string; targets: string[]; baseline: string; twemproxy: string; compare: string[] }>;
  runs: RunRecord[];
  summaries: Summary[];
  memory: MemoryResult | null;
  staleness: StalenessReport | null;
  /** 600 pipelined 1 MiB SETs then GETs from one client (absent in older results) */
  largeValues?: LargeValuesResult | null;
  /** peak RSS of a proxy under 50 slow-reading clients (absent in older results) */
  slowReaders?: SlowReadersResult | null;
  checklist: CheckItem[];
}

// ---------------------------------------------------------------------------

export function median(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function medianOrNull(xs: Array<number | null>): number | null {
  const v = xs.filter((x): x is number => x !== null && Number.isFinite(x));
  return v.length === 0 ? null : median(v);
}

function maxOrNull(xs: Array<number | null>): number | null {
  const v = xs.filter((x): x is number => x !== null && Number.isFinite(x));
  return v.length === 0 ? null : Math.max(...v);
}

export function summarize(runs: RunRecord[]): Summary[] {
  const groups = new Map<string, RunRecord[]>();
  for (const r of runs) {
    if (r.superseded) continue;
    const k = `${r.workload}\u0000${r.target}`;
    const g = groups.get(k) ?? [];
    g.push(r);
    groups.set(k, g);
  }
  const out: Summary[] = [];
  for (const g of groups.values()) {
    const good = g.filter((r) => r.failure === null && r.opsPerSec > 0);
    const ops = good.map((r) => r.opsPerSec);
    const perM = (cpu: number | null, req: number): number | null => (cpu === null || !Number.isFinite(cpu) || req <= 0 ? null : (cpu / req) * 1e6);
    out.push({
      workload: g[0].workload,
      target: g[0].target,
      reps: good.length,
      opsPerSec: ops.length ? median(ops) : Number.NaN,
      opsMin: ops.length ? Math.min(...ops) : Number.NaN,
      opsMax: ops.length ? Math.max(...ops) : Number.NaN,
      p50Us: medianOrNull(good.map((r) => r.p50Us)),
      p99Us: medianOrNull(good.map((r) => r.p99Us)),
      p999Us: medianOrNull(good.map((r) => r.p999Us)),
      maxUs: maxOrNull(good.map((r) => r.maxUs ?? null)),
      eldP99Ms: medianOrNull(good.map((r) => r.eld?.p99Ms ?? null)),
      eldMaxMs: maxOrNull(good.map((r) => r.eld?.maxMs ?? null)),
      targetCpuPerM: medianOrNull(good.map((r) => perM(r.targetCpuS, r.requests))),
      targetUserCpuPerM: medianOrNull(good.map((r) => perM(r.targetUserCpuS ?? null, r.requests))),
      redisCpuPerM: medianOrNull(good.map((r) => perM(r.redisCpuS, r.requests))),
      generatorCpuPct: medianOrNull(good.map((r) => (r.generatorCpuS === null ? null : (100 * r.generatorCpuS) / (r.wallMs / 1000)))),
      statsHitRatio: medianOrNull(good.map((r) => r.statsHitRatio)),
      absorbedGetRatio: medianOrNull(good.map((r) => (r.clientGets > 0 ? 1 - r.redisGetCalls / r.clientGets : null))),
      errors: g.reduce((a, r) => a + r.errors, 0),
      failures: g.filter((r) => r.failure !== null).map((r) => `rep ${r.rep}: ${r.failure}`),
      foreignCores: medianOrNull(good.map((r) => r.foreignCores)),
    });
  }
  return out;
}

export const GENERATOR_BOUND_PCT = 90;

export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function fmtOps(n: number | null): string {
  if (n === null || !Number.isFinite(n)) return '—';
  return fmtInt(n);
}

export function fmtUs(us: number | null): string {
  if (us === null || !Number.isFinite(us)) return '—';
  if (us < 1000) return `${us < 100 ? us.toFixed(1) : us.toFixed(0)} µs`;
  return `${(us / 1000).toFixed(2)} ms`;
}

export function fmtRatio(a: number | null, b: number | null): string {
  if (a === null || b === null || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '—';
  return `${(a / b).toFixed(2)}×`;
}

export function fmtBytes(n: number): string {
  if (!Number.isFinite(n)) return '—';
  if (Math.abs(n) >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024).toFixed(0)} KiB`;
}

export function esc(s: string): string {
  return s.replace(/\|/g, '\\|');
}
