// Turning raw runs into medians, the target checklist, Markdown and an SVG chart.

import { TRACKING_COST, type Workload } from './workloads.js';
import type { Percentiles } from '../staleness.js';

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
  status: 'MET' | 'NOT MET' | 'n/a';
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

// ---------------------------------------------------------------------------
// Target checklist (from the issue)

export function checklist(results: Pick<Results, 'summaries' | 'memory' | 'staleness'>): CheckItem[] {
  const S = (w: string, t: string): Summary | undefined => results.summaries.find((s) => s.workload === w && s.target === t && s.reps > 0);
  const items: CheckItem[] = [];
  const ops = (w: string, t: string): number | null => S(w, t)?.opsPerSec ?? null;
  const status = (ok: boolean | null): CheckItem['status'] => (ok === null ? 'n/a' : ok ? 'MET' : 'NOT MET');

  /** proxy ops >= factor x reference ops (strict: > instead of >=) */
  const ratioItem = (id: string, text: string, w: string, t: string, ref: string, factor: number, strict = false): void => {
    const a = ops(w, t);
    const b = ops(w, ref);
    if (a === null || b === null) {
      items.push({ id, text, measured: `not measured (${a === null ? t : ref} missing in ${w})`, status: 'n/a' });
      return;
    }
    const r = a / b;
    items.push({
      id,
      text,
      measured: `${fmtOps(a)} vs ${fmtOps(b)} ops/s = ${r.toFixed(2)}× (need ${strict ? '>' : '≥'} ${factor}×)`,
      status: status(strict ? r > factor : r >= factor),
    });
  };

  ratioItem('hit-p1-ceiling', 'Cached GET, 50 clients -P 1: ≥ 95% of the ceiling', 'get-hit-p1', 'proxy', 'ceiling', 0.95);
  ratioItem('hit-p1-twem', 'Cached GET, 50 clients -P 1: ≥ twemproxy', 'get-hit-p1', 'proxy', 'twemproxy', 1);
  ratioItem('hit-p16-ceiling', 'Cached GET, 50 clients -P 16: ≥ 90% of the ceiling', 'get-hit-p16', 'proxy', 'ceiling', 0.9);
  ratioItem('hit-p16-twem', 'Cached GET, 50 clients -P 16: ≥ 2× twemproxy', 'get-hit-p16', 'proxy', 'twemproxy', 2);
  ratioItem('set-p1-twem', 'Pass-through SET -P 1: ≥ twemproxy', 'set-p1', 'proxy', 'twemproxy', 1);
  ratioItem('set-p1-relay', 'Pass-through SET -P 1: > 1.7× naive relay', 'set-p1', 'proxy', 'relay', 1.7, true);
  ratioItem('miss-p1-twem', 'Pass-through GET miss -P 1: ≥ twemproxy', 'get-miss-p1', 'proxy-cap1', 'twemproxy', 1);
  ratioItem('miss-p1-relay', 'Pass-through GET miss -P 1: > 1.7× naive relay', 'get-miss-p1', 'proxy-cap1', 'relay', 1.7, true);
  ratioItem('set-p16-twem', 'Pass-through SET -P 16: ≥ 1.2× twemproxy', 'set-p16', 'proxy', 'twemproxy', 1.2);
  ratioItem('miss-p16-twem', 'Pass-through GET miss -P 16: ≥ 1.2× twemproxy', 'get-miss-p16', 'proxy-cap1', 'twemproxy', 1.2);

  const latItem = (id: string, text: string, w: string, t: string, maxExtraUs: number): void => {
    const a = S(w, t)?.p50Us ?? null;
    const b = S(w, 'redis')?.p50Us ?? null;
    if (a === null || b === null) {
      items.push({ id, text, measured: 'not measured', status: 'n/a' });
      return;
    }
    const d = a - b;
    items.push({ id, text, measured: `p50 ${fmtUs(a)} vs Redis ${fmtUs(b)}: ${d >= 0 ? '+' : ''}${d.toFixed(1)} µs (need ≤ +${maxExtraUs} µs)`, status: status(d <= maxExtraUs) });
  };
  latItem('lat-hit', '1 client, no pipelining: cache-hit p50 at most 10 µs slower than direct Redis', 'lat-hit-c1', 'proxy', 10);
  latItem('lat-miss', '1 client, no pipelining: miss p50 at most 25 µs slower than direct Redis', 'lat-miss-c1', 'proxy-cap1', 25);

  {
    const a = S('wan-lat-c1', 'proxy-wan')?.p50Us ?? null;
    const b = S('wan-lat-c1', 'redis-wan')?.p50Us ?? null;
    const text = 'Redis across a network (+0.5 ms each way): cached GET p50 ≤ 1/5 of a direct GET (1 client)';
    if (a === null || b === null) items.push({ id: 'wan-p50', text, measured: 'not measured', status: 'n/a' });
    else items.push({ id: 'wan-p50', text, measured: `p50 ${fmtUs(a)} vs ${fmtUs(b)} = ${(a / b).toFixed(3)} (need ≤ 0.2)`, status: status(a / b <= 0.2) });
  }
  ratioItem('wan-tput', 'Redis across a network: cached GET throughput at 50 clients ≥ 3× direct', 'wan-get-hit', 'proxy-wan', 'redis-wan', 3);

  {
    const via = S('mix-zipf', 'proxy');
    const direct = S('mix-zipf', 'redis');
    const text = 'With a ~90% hit ratio (the 90/10 Zipf mix): Redis CPU per million requests via the proxy ≤ 0.15× direct';
    if (!via || !direct || via.redisCpuPerM === null || direct.redisCpuPerM === null) {
      items.push({ id: 'redis-cpu', text, measured: 'not measured', status: 'n/a' });
    } else {
      const r = via.redisCpuPerM / direct.redisCpuPerM;
      const hr = via.statsHitRatio !== null ? `hit ratio ${(via.statsHitRatio * 100).toFixed(1)}% (/stats)` : via.absorbedGetRatio !== null ? `hit ratio n/a from /stats; ${(via.absorbedGetRatio * 100).toFixed(1)}% of GETs never reached Redis` : 'hit ratio n/a';
      items.push({
        id: 'redis-cpu',
        text,
        measured: `${via.redisCpuPerM.toFixed(2)} vs ${direct.redisCpuPerM.toFixed(2)} CPU s/Mreq = ${r.toFixed(3)}× (need ≤ 0.15×); ${hr}`,
        status: status(r <= 0.15),
      });
    }
  }

  {
    const m = results.memory;
    const text = 'Memory: ≤ 200 bytes of overhead per cached entry (beyond key + value)';
    if (!m || !Number.isFinite(m.overheadPerEntry)) items.push({ id: 'memory', text, measured: m?.note || 'not measured', status: 'n/a' });
    else
      items.push({
        id: 'memory',
        text,
        measured: `${m.overheadPerEntry.toFixed(0)} B/entry over ${m.keyBytes + m.valueBytes} B key+value (${fmtInt(m.entries)} entries${m.verifiedCached !== null ? `, ${(m.verifiedCached * 100).toFixed(1)}% verified cached` : ''})`,
        status: status(m.overheadPerEntry <= 200),
      });
  }

  {
    const st = results.staleness;
    // never-fresh samples are a correctness failure, not noise: a discarded attempt's count too
    const neverFresh = st ? st.neverFresh + (st.discarded?.neverFresh ?? 0) : 0;
    const text = 'Staleness of writes made directly on Redis: p99 under 1 ms on loopback, zero permanently stale entries';
    if (!st) items.push({ id: 'staleness', text, measured: 'not measured', status: 'n/a' });
    else if (st.failure !== null && !st.timedOut) items.push({ id: 'staleness', text, measured: `not measured: ${st.failure}`, status: 'n/a' });
    else if (st.timedOut) items.push({ id: 'staleness', text, measured: st.failure ?? 'timed out', status: 'NOT MET' });
    else
      items.push({
        id: 'staleness',
        text,
        measured:
          `p99 ${fmtUs(st.p99Us)} (need < 1 ms), ${fmtInt(neverFresh)} never fresh within ${st.deadlineMs} ms (need 0); ` +
          `p50 ${fmtUs(st.p50Us)}, max ${fmtUs(st.maxUs)}, ${fmtInt(st.samplesRequested)} samples` +
          (st.missRoundTrip && st.stalePeriod
            ? `; its floor, one uncached GET through the proxy: p99 ${fmtUs(st.missRoundTrip.p99Us)}; the old value was visible to reads sent up to p99 ${fmtUs(st.stalePeriod.p99Us)} after the +OK`
            : ''),
        // a window is only measured for samples that became fresh; all never-fresh gives p99 NaN
        status: status(neverFresh === 0 && Number.isFinite(st.p99Us) && st.p99Us < 1000),
      });
  }

  ratioItem('cap0-set-p1-twem', '--capacity 0: pass-through SET -P 1 ≥ twemproxy', 'set-p1', 'proxy-nocache', 'twemproxy', 1);
  ratioItem('cap0-set-p1-relay', '--capacity 0: pass-through SET -P 1 > 1.7× naive relay', 'set-p1', 'proxy-nocache', 'relay', 1.7, true);
  ratioItem('cap0-get-p1-twem', '--capacity 0: GET -P 1 ≥ twemproxy', 'get-miss-p1', 'proxy-nocache', 'twemproxy', 1);
  ratioItem('cap0-get-p1-relay', '--capacity 0: GET -P 1 > 1.7× naive relay', 'get-miss-p1', 'proxy-nocache', 'relay', 1.7, true);
  ratioItem('cap0-set-p16-twem', '--capacity 0: pass-through SET -P 16 ≥ 1.2× twemproxy', 'set-p16', 'proxy-nocache', 'twemproxy', 1.2);
  ratioItem('cap0-get-p16-twem', '--capacity 0: GET -P 16 ≥ 1.2× twemproxy', 'get-miss-p16', 'proxy-nocache', 'twemproxy', 1.2);
  ratioItem('cache-cost-set-p1', 'No cost from the cache: SET -P 1 with cache on ≥ 95% of --capacity 0 (5% noise allowance)', 'set-p1', 'proxy', 'proxy-nocache', 0.95);
  ratioItem('cache-cost-set-p16', 'No cost from the cache: SET -P 16 with cache on ≥ 95% of --capacity 0 (5% noise allowance)', 'set-p16', 'proxy', 'proxy-nocache', 0.95);
  return items;
}

// ---------------------------------------------------------------------------
// Formatting

/** generator CPU (% of one core) from which a row is flagged as generator-bound */
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

function fmtRatio(a: number | null, b: number | null): string {
  if (a === null || b === null || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '—';
  return `${(a / b).toFixed(2)}×`;
}

function fmtBytes(n: number): string {
  if (!Number.isFinite(n)) return '—';
  if (Math.abs(n) >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024).toFixed(0)} KiB`;
}

function esc(s: string): string {
  return s.replace(/\|/g, '\\|');
}

export function markdown(res: Results): string {
  const L: string[] = [];
  const label = (id: string): string => res.targets.find((t) => t.id === id)?.label ?? id;
  const S = (w: string, t: string): Summary | undefined => res.summaries.find((s) => s.workload === w && s.target === t);
  const m = res.meta;
  L.push(`# RedisProxy benchmark — ${m.mode} run, ${m.startedAt}`);
  L.push('');
  L.push(
    `${m.host.cpus} CPU(s) (${m.host.cpuModel}), ${m.host.memTotalMB} MB RAM, load average at start ${m.host.loadavgStart.map((x) => x.toFixed(2)).join(' ')}, at end ${m.host.loadavgEnd.map((x) => x.toFixed(2)).join(' ')}. ` +
      `${m.reps} repetition(s) per workload × target in round-robin order, ~${m.runSeconds} s per run, medians shown; wall time ${Math.round(m.wallSeconds)} s. ` +
      `Versions: ${Object.entries(m.versions)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}. Code: ${m.git}.`,
  );
  L.push('');
  const kept = res.runs.filter((r) => !r.superseded && r.foreignCores !== null);
  const noisy = kept.filter((r) => (r.foreignCores ?? 0) > FOREIGN_LIMIT_CORES).length;
  const redone = res.runs.filter((r) => r.superseded).length;
  L.push(
    `Interference: ${redone} run(s) were repeated because processes outside the harness used more than ${FOREIGN_LIMIT_CORES} cores during them; ` +
      `${noisy} of the ${kept.length} kept runs still had more than that (see "foreign CPU" in the CPU table).`,
  );
  L.push('');
  L.push('Everything (load generator, proxy, Redis) shares the same few cores, so absolute numbers are bounded by the machine and the load generator; compare rows within a workload. "spread" is (max − min) / median over repetitions.');
  for (const n of m.notes) L.push(`\n> ${n}`);
  L.push('');

  // Checklist first: it is what the issue asks.
  const met = res.checklist.filter((c) => c.status === 'MET').length;
  const notMet = res.checklist.filter((c) => c.status === 'NOT MET').length;
  const na = res.checklist.filter((c) => c.status === 'n/a').length;
  L.push(`## Target checklist — ${met} MET, ${notMet} NOT MET, ${na} n/a`);
  L.push('');
  L.push('| # | Target | Measured | Status |');
  L.push('|---|---|---|---|');
  res.checklist.forEach((c, i) => L.push(`| ${i + 1} | ${esc(c.text)} | ${esc(c.measured)} | ${c.status === 'MET' ? '**MET**' : c.status === 'NOT MET' ? '**NOT MET**' : 'n/a'} |`));
  L.push('');

  L.push('## Throughput and latency');
  L.push('');
  L.push('Latency columns: per-request round trip seen by the client (redis-benchmark reports p50/p99 only; p99.9 comes from bench/loadgen.ts). Ratios compare ops/s with the same workload\'s direct Redis, twemproxy, ceiling (cache hits) or naive relay (pass-through).');
  L.push('');
  L.push(`† = the load generator used ≥ ${GENERATOR_BOUND_PCT}% of a core during the run: that row measures the generator as much as the target.`);
  L.push('');
  L.push('| Workload | Target | ops/s | spread | p50 | p99 | p99.9 | vs Redis | vs twemproxy | vs ceiling | vs relay |');
  L.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const w of res.workloads) {
    let first = true;
    for (const t of w.targets) {
      const s = S(w.id, t);
      const info = res.targets.find((x) => x.id === t);
      const wl = first ? `**${esc(w.title)}**` : '';
      first = false;
      if (!s || s.reps === 0) {
        const why = info && !info.ok ? info.note || 'unavailable' : s?.failures[0] ?? 'not run';
        L.push(`| ${wl} | ${esc(label(t))} | n/a | | | | | | | | ${esc(why).slice(0, 160)} |`);
        continue;
      }
      const base = S(w.id, w.baseline);
      const tw = S(w.id, w.twemproxy);
      const ce = w.compare.includes('ceiling') ? S(w.id, 'ceiling') : undefined;
      const re = w.compare.includes('relay') ? S(w.id, 'relay') : undefined;
      const spread = s.reps > 1 ? `${(((s.opsMax - s.opsMin) / s.opsPerSec) * 100).toFixed(0)}%` : '';
      const bound = s.generatorCpuPct !== null && s.generatorCpuPct >= GENERATOR_BOUND_PCT ? ' †' : '';
      L.push(
        `| ${wl} | ${esc(label(t))} | ${fmtOps(s.opsPerSec)}${bound} | ${spread} | ${fmtUs(s.p50Us)} | ${fmtUs(s.p99Us)} | ${fmtUs(s.p999Us)} | ` +
          `${t === w.baseline ? '1.00×' : fmtRatio(s.opsPerSec, base?.opsPerSec ?? null)} | ${t === w.twemproxy ? '1.00×' : fmtRatio(s.opsPerSec, tw?.opsPerSec ?? null)} | ` +
          `${ce ? fmtRatio(s.opsPerSec, ce.opsPerSec) : ''} | ${re ? fmtRatio(s.opsPerSec, re.opsPerSec) : ''} |`,
      );
    }
  }
  L.push('');

  L.push('## CPU cost and cache effectiveness');
  L.push('');
  L.push('CPU seconds per million requests from /proc/<pid>/stat (utime+stime) before/after each run; "of which user" is the utime of the target alone, the rest being the kernel time (system calls and the loopback TCP stack, which cost every target about the same per socket operation). "target" is the process between the client and Redis (the proxy, twemproxy, a reference server, or the delay relay for the direct-over-network row). "generator" is the load generator\'s CPU as % of one core — near 100% means the generator, not the target, set the pace. "foreign CPU" is the average number of cores used during the run by processes the harness did not start (plus hypervisor steal). CPU per request is less sensitive to interference than ops/s. "GETs absorbed" = 1 − GETs Redis executed / GETs clients sent (from Redis INFO commandstats).');
  L.push('');
  L.push('| Workload | Target | target CPU s/Mreq | of which user | Redis CPU s/Mreq | generator CPU | foreign CPU | hit ratio (/stats) | GETs absorbed | errors |');
  L.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const w of res.workloads) {
    let first = true;
    for (const t of w.targets) {
      const s = S(w.id, t);
      if (!s || s.reps === 0) continue;
      const wl = first ? `**${esc(w.title)}**` : '';
      first = false;
      const isProxy = t.startsWith('proxy');
      L.push(
        `| ${wl} | ${esc(label(t))} | ${s.targetCpuPerM === null ? '—' : s.targetCpuPerM.toFixed(2)} | ${s.targetUserCpuPerM === null ? '—' : s.targetUserCpuPerM.toFixed(2)} | ${s.redisCpuPerM === null ? '—' : s.redisCpuPerM.toFixed(2)} | ` +
          `${s.generatorCpuPct === null ? '—' : `${s.generatorCpuPct.toFixed(0)}%`} | ${s.foreignCores === null ? '—' : s.foreignCores.toFixed(2)} | ${isProxy ? (s.statsHitRatio === null ? 'n/a' : `${(s.statsHitRatio * 100).toFixed(1)}%`) : ''} | ` +
          `${s.absorbedGetRatio === null ? '' : `${(Math.max(0, s.absorbedGetRatio) * 100).toFixed(1)}%`} | ${s.errors || ''} |`,
      );
    }
  }
  L.push('');

  L.push('## Cost of tracking');
  L.push('');
  L.push(
    'The same RedisProxy with `--coherence ttl` (no CLIENT TRACKING: writes made directly on Redis are seen only after --ttl) next to the default tracking one, ' +
      'in the same round-robin as the other targets of the workload. Ratios < 1 mean tracking costs throughput; informational, no target. ' +
      'Target CPU per million requests moves less with interference than ops/s.',
  );
  L.push('');
  L.push('| Workload | tracking ops/s | ttl ops/s | tracking / ttl (ops/s) | spread (tracking, ttl) | target CPU s/Mreq (tracking, ttl) | runs (tracking, ttl) |');
  L.push('|---|---:|---:|---:|---:|---:|---:|');
  const spreadOf = (s: Summary | undefined): string => (s && s.reps > 1 ? `${(((s.opsMax - s.opsMin) / s.opsPerSec) * 100).toFixed(0)}%` : '—');
  const cpuOf = (s: Summary | undefined): string => (s?.targetCpuPerM === null || s?.targetCpuPerM === undefined ? '—' : s.targetCpuPerM.toFixed(2));
  let costRows = 0;
  for (const c of TRACKING_COST) {
    const w = res.workloads.find((x) => x.id === c.workload);
    if (!w) continue;
    costRows++;
    const a = S(c.workload, c.tracking);
    const b = S(c.workload, c.ttl);
    const ok = (s: Summary | undefined): s is Summary => s !== undefined && s.reps > 0;
    L.push(
      `| ${esc(w.title)} | ${ok(a) ? fmtOps(a.opsPerSec) : 'n/a'} | ${ok(b) ? fmtOps(b.opsPerSec) : 'n/a'} | ` +
        `${ok(a) && ok(b) ? `**${fmtRatio(a.opsPerSec, b.opsPerSec)}**` : '—'} | ${spreadOf(a)}, ${spreadOf(b)} | ${cpuOf(a)}, ${cpuOf(b)} | ${a?.reps ?? 0}, ${b?.reps ?? 0} |`,
    );
  }
  if (costRows === 0) L.push('| (workloads not selected) | | | | | | |');
  L.push('');
  L.push('Hits: `proxy` vs `proxy-ttl` (both `--capacity 200000`). Misses: `proxy-cap1` vs `proxy-cap1-ttl` (both `--capacity 1`, every GET forwarded and filled). Trust a ratio only when it is further from 1 than the spreads.');
  L.push('');

  L.push('## Staleness of direct writes');
  L.push('');
  const st = res.staleness;
  if (!st) L.push('Not measured (--skip-staleness, or the cache-on proxy was left out).');
  else {
    L.push(
      `A writer connected straight to Redis SETs a key the proxy has cached; as soon as its +OK arrives, a reader through \`${st.target}\` (tracking, \`--capacity 200000\`) GETs the key in a loop until it sees the new value. ` +
        'The window runs from the +OK to the reply carrying the new value, so it includes one proxy round trip: an upper bound on the real window. ' +
        `A sample that is still stale after ${st.deadlineMs} ms counts as never fresh (a permanently stale entry). bench/staleness.ts, after a warm-up that is not recorded.`,
    );
    L.push('');
    if (st.failure !== null) L.push(`**Not completed:** ${esc(st.failure)}`);
    else {
      L.push('| samples | p50 | p99 | max | stale reads | never fresh | foreign CPU |');
      L.push('|---:|---:|---:|---:|---:|---:|---:|');
      L.push(
        `| ${fmtInt(st.samplesRequested)} | ${fmtUs(st.p50Us)} | ${fmtUs(st.p99Us)} | ${fmtUs(st.maxUs)} | ${fmtInt(st.staleReads)} | ${fmtInt(st.neverFresh)} | ${st.foreignCores === null ? '—' : st.foreignCores.toFixed(2)} |`,
      );
      L.push('');
      if (st.stalePeriod && st.missRoundTrip && st.pushLag) {
        const row = (name: string, what: string, q: Percentiles): string => `| ${name} | ${what} | ${fmtUs(q.p50Us)} | ${fmtUs(q.p99Us)} | ${fmtUs(q.maxUs)} |`;
        L.push('What a window is made of, measured in the same samples:');
        L.push('');
        L.push('| part | what | p50 | p99 | max |');
        L.push('|---|---|---:|---:|---:|');
        L.push(row('stale period', 'from the +OK to the sending of the read that got the new value (how long reads could see the old one)', st.stalePeriod));
        L.push(row('invalidation lag', "from the +OK to Redis's invalidation reaching a tracking connection of the harness (Redis writes the reply first)", st.pushLag));
        L.push(row('floor', 'one GET of a key not in the cache, through the proxy, right after each sample', st.missRoundTrip));
        L.push('');
      }
      const hit = S('lat-hit-c1', st.target)?.p50Us ?? null;
      const miss = S('lat-miss-c1', 'proxy-cap1')?.p50Us ?? null;
      const scale = [hit !== null ? `a cached GET ${fmtUs(hit)}` : '', miss !== null ? `a GET miss (forwarded to Redis) ${fmtUs(miss)}` : ''].filter(Boolean).join(', ');
      L.push(
        `"stale reads" = GETs that returned the old value after the write was acknowledged (the invalidation was still on its way); ${fmtInt(st.staleReads)} over ${fmtInt(st.samplesRequested)} samples. ` +
          'The read that ends a window is usually a miss (the invalidation removed the entry), so a window is at least one miss round trip' +
          (scale ? `; for scale, 1-client p50 round trips through the proxy: ${scale}. ` : '. ') +
          `Measured in ${(st.wallMs / 1000).toFixed(1)} s.`,
      );
      const d = st.discarded;
      if (d)
        L.push(
          `\nA first attempt was repeated because processes outside the harness used ${d.foreignCores === null ? '?' : d.foreignCores.toFixed(2)} cores during it; the quieter attempt is shown. ` +
            `The other one: p50 ${fmtUs(d.p50Us)}, p99 ${fmtUs(d.p99Us)}, max ${fmtUs(d.maxUs)}, ${fmtInt(d.staleReads)} stale reads, ${fmtInt(d.neverFresh)} never fresh (counted in the checklist).`,
        );
    }
  }
  L.push('');

  L.push('## Memory');
  L.push('');
  const mem = res.memory;
  if (!mem) L.push('Not measured (--skip-memory).');
  else if (!Number.isFinite(mem.overheadPerEntry)) L.push(`Not measured: ${mem.note}`);
  else {
    L.push(
      `RedisProxy with \`--capacity ${mem.entries}\`, filled with ${fmtInt(mem.entries)} × (${mem.keyBytes} B key + ${mem.valueBytes} B value) through GETs: ` +
        `VmRSS ${fmtBytes(mem.rssEmptyBytes)} empty → ${fmtBytes(mem.rssFullBytes)} full = ${mem.bytesPerEntry.toFixed(0)} B/entry, ` +
        `**${mem.overheadPerEntry.toFixed(0)} B/entry overhead** beyond key + value. ` +
        `${mem.verifiedCached !== null ? `A re-read sample was ${(mem.verifiedCached * 100).toFixed(1)}% served without reaching Redis. ` : ''}` +
        `${mem.statsEntries !== null ? `/stats reported ${fmtInt(mem.statsEntries)} entries. ` : ''}Fill rate ${fmtOps(mem.fillOpsPerSec)} GET/s.` +
        `${mem.heapOverheadPerEntry != null ? ` V8's heapUsed (live objects after its last GC, from /stats) grew by ${mem.heapOverheadPerEntry.toFixed(0)} B/entry beyond key + value; the target is judged on RSS.` : ''}`,
    );
    if (mem.ceiling)
      L.push(
        `\nFor scale, the ceiling server's plain \`Map<string, Buffer>\` holding the same entries (via SET): ${fmtBytes(mem.ceiling.rssEmptyBytes)} → ${fmtBytes(mem.ceiling.rssFullBytes)}, ${mem.ceiling.overheadPerEntry.toFixed(0)} B/entry overhead.`,
      );
    if (mem.note) L.push(`\n${mem.note}`);
  }
  L.push('');

  L.push('## Targets');
  L.push('');
  L.push('| id | what | status |');
  L.push('|---|---|---|');
  for (const t of res.targets) L.push(`| ${t.id} | ${esc(t.label)}${t.detail ? `: \`${esc(t.detail).slice(0, 200)}\`` : ''} | ${t.ok ? 'ok' : `unavailable: ${esc(t.note).slice(0, 300)}`}${t.ok && t.note ? ` (${esc(t.note)})` : ''} |`);
  L.push('');
  if (m.delayRelayAddedRttUs !== null)
    L.push(`Delay relay: configured +${m.delayMs} ms each way; measured extra round trip (1-client p50, via relay − direct) ${fmtUs(m.delayRelayAddedRttUs)}.`);
  L.push('');
  L.push('![ops/s relative to direct Redis](latest.svg)');
  L.push('');
  return L.join('\n');
}

// ---------------------------------------------------------------------------
// SVG bar chart: per workload, ops/s of each target relative to the workload's baseline.

const COLORS: Record<string, string> = {
  redis: '#6b7280',
  'redis-wan': '#6b7280',
  proxy: '#2563eb',
  'proxy-wan': '#2563eb',
  'proxy-cap1': '#60a5fa',
  'proxy-ttl': '#7c3aed',
  'proxy-cap1-ttl': '#a78bfa',
  'proxy-nocache': '#93c5fd',
  twemproxy: '#f59e0b',
  'twemproxy-wan': '#f59e0b',
  ceiling: '#10b981',
  relay: '#ef4444',
};

function xmlEsc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const SHORT: Record<string, string> = {
  redis: 'Redis',
  'redis-wan': 'Redis (over delay)',
  proxy: 'RedisProxy',
  'proxy-wan': 'RedisProxy (over delay)',
  'proxy-cap1': 'RedisProxy cap 1',
  'proxy-ttl': 'RedisProxy ttl coh.',
  'proxy-cap1-ttl': 'RedisProxy cap 1 ttl',
  'proxy-nocache': 'RedisProxy cap 0',
  twemproxy: 'twemproxy',
  'twemproxy-wan': 'twemproxy (over delay)',
  ceiling: 'ceiling',
  relay: 'naive relay',
};

/**
 * Diverging bars on a log2 axis: each bar starts at the workload's baseline (1×,
 * direct Redis) and runs right when faster, left when slower.
 */
export function svg(res: Results, workloads: Array<Pick<Workload, 'id' | 'title' | 'targets' | 'baseline'>>): string {
  const S = (w: string, t: string): Summary | undefined => res.summaries.find((s) => s.workload === w && s.target === t && s.reps > 0);
  const rowH = 16;
  const headH = 24;
  const left = 160;
  const barW = 600;
  const width = left + barW + 70;
  let lo = 0.25;
  let hi = 2;
  for (const w of workloads)
    for (const t of w.targets) {
      const a = S(w.id, t);
      const b = S(w.id, w.baseline);
      if (!a || !b || !(a.opsPerSec > 0) || !(b.opsPerSec > 0)) continue;
      const r = a.opsPerSec / b.opsPerSec;
      lo = Math.min(lo, 2 ** Math.floor(Math.log2(r)));
      hi = Math.max(hi, 2 ** Math.ceil(Math.log2(r)));
    }
  lo = Math.max(lo, 1 / 64);
  hi = Math.min(hi, 64);
  const span = Math.log2(hi) - Math.log2(lo);
  const x = (r: number): number => left + ((Math.log2(Math.min(Math.max(r, lo), hi)) - Math.log2(lo)) / span) * barW;
  const x1 = x(1);
  const parts: string[] = [];
  let y = 40;
  for (const w of workloads) {
    parts.push(`<text x="8" y="${y + 16}" font-weight="bold">${xmlEsc(w.title)}</text>`);
    y += headH;
    for (const t of w.targets) {
      const a = S(w.id, t);
      const b = S(w.id, w.baseline);
      parts.push(`<text x="${left - 8}" y="${y + 12}" text-anchor="end">${xmlEsc(SHORT[t] ?? t)}</text>`);
      if (a && b && a.opsPerSec > 0 && b.opsPerSec > 0) {
        const r = a.opsPerSec / b.opsPerSec;
        const xr = x(r);
        const x0 = Math.min(xr, x1);
        const w0 = Math.max(1, Math.abs(xr - x1));
        parts.push(`<rect x="${x0.toFixed(1)}" y="${y + 2}" width="${w0.toFixed(1)}" height="${rowH - 4}" fill="${COLORS[t] ?? '#9ca3af'}"><title>${xmlEsc(`${SHORT[t] ?? t}: ${fmtOps(a.opsPerSec)} ops/s`)}</title></rect>`);
        parts.push(`<text x="${(Math.max(xr, x1) + 4).toFixed(1)}" y="${y + 12}">${r.toFixed(2)}×</text>`);
      } else {
        parts.push(`<text x="${(x1 + 4).toFixed(1)}" y="${y + 12}" fill="#9ca3af">n/a</text>`);
      }
      y += rowH;
    }
    y += 6;
  }
  const height = y + 20;
  const grid: string[] = [];
  for (let g = lo; g <= hi * 1.0001; g *= 2) {
    const gx = x(g).toFixed(1);
    const label = g >= 1 ? `${g}×` : `1/${Math.round(1 / g)}×`;
    grid.push(`<line x1="${gx}" y1="30" x2="${gx}" y2="${height - 16}" stroke="${g === 1 ? '#111827' : '#e5e7eb'}" stroke-width="${g === 1 ? 1.5 : 1}"${g === 1 ? ' stroke-dasharray="4 3"' : ''}/>`);
    grid.push(`<text x="${gx}" y="${height - 4}" text-anchor="middle" fill="#6b7280">${label}</text>`);
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="8" y="18" font-size="13" font-weight="bold">ops/s relative to direct Redis, log scale (dashed line = 1×) — ${xmlEsc(res.meta.mode)} run ${xmlEsc(res.meta.startedAt)}</text>`,
    ...grid,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
