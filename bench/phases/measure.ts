// One measured run of one workload on one target: the load (redis-benchmark or loadgen)
// and, around it, the CPU of the target, Redis and the generator, Redis's command
// counters, the proxy's hit counters and the CPU used by everything else on the machine.

import { lg, type Bench } from '../lib/bench.js';
import { cpuSeconds, cpuTimes, harnessCpuSeconds, machineCpuSeconds } from '../lib/procs.js';
import { runRedisBenchmark } from '../lib/redis-benchmark.js';
import type { EventLoopDelay, RunRecord } from '../lib/report.js';
import { commandCalls, parseInfo } from '../lib/resp.js';
import { extractHitMiss, fetchStats, type Target } from '../lib/targets.js';
import { KEYS, type LgWorkload, type RbWorkload, type Workload } from '../lib/workloads.js';

/** What the load itself yields; the accounting around it is added by measure(). */
type LoadRecord = Omit<RunRecord, 'targetCpuS' | 'targetUserCpuS' | 'redisCpuS' | 'redisGetCalls' | 'redisSetCalls' | 'statsHitRatio' | 'foreignCores' | 'superseded' | 'eld'>;

/** prom-client's monitorEventLoopDelay samples every 10 ms and records the whole interval: the delay is what exceeds it */
const ELD_RESOLUTION_MS = 10;

/**
 * The proxy's event-loop delay since the previous scrape of its /metrics (prom-client resets
 * the histogram at each scrape), in ms beyond the sampling interval; null without /metrics.
 */
export async function eventLoopDelay(t: Target): Promise<EventLoopDelay | null> {
  if (t.kind !== 'proxy' || t.adminPort === null) return null;
  try {
    const res = await fetch(`http://127.0.0.1:${t.adminPort}/metrics`, { signal: AbortSignal.timeout(2000) });
    if (!res.ok) return null;
    const text = await res.text();
    const get = (name: string): number => {
      const m = new RegExp(`^nodejs_eventloop_lag_${name}_seconds(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
      return m ? Math.max(0, Number(m[1]) * 1000 - ELD_RESOLUTION_MS) : Number.NaN;
    };
    const eld = { p50Ms: get('p50'), p90Ms: get('p90'), p99Ms: get('p99'), maxMs: get('max'), meanMs: get('mean') };
    return Number.isFinite(eld.maxMs) ? eld : null;
  } catch {
    return null;
  }
}

export async function redisCounters(b: Bench): Promise<{ get: number; set: number }> {
  const r = await b.control.command(['INFO', 'commandstats']);
  const info = parseInfo(Buffer.isBuffer(r) ? r.toString('latin1') : '');
  return { get: commandCalls(info, 'get'), set: commandCalls(info, 'set') };
}

async function hitMiss(t: Target): Promise<{ hits: number; misses: number } | null> {
  return t.adminPort === null ? null : extractHitMiss(await fetchStats(t.adminPort));
}

/** A run; `probe` = the unrecorded warm-up / calibration run (returns null). */
export async function measure(b: Bench, w: Workload, t: Target, rep: number, probe: boolean): Promise<RunRecord | null> {
  const c0 = await redisCounters(b);
  const s0 = probe ? null : await hitMiss(t);
  if (!probe) await eventLoopDelay(t); // resets the proxy's histogram: the next scrape covers this run
  const tc0 = t.proc ? cpuTimes(t.proc.pid) : null;
  const rc0 = cpuSeconds(b.redisProc.pid);
  const m0 = machineCpuSeconds();
  const h0 = harnessCpuSeconds();
  const wall0 = Date.now();
  const rec = w.run.tool === 'redis-benchmark' ? await rbRun(b, w, w.run, t, rep, probe) : await lgRun(b, w, w.run, t, rep, probe);
  const tc1 = t.proc ? cpuTimes(t.proc.pid) : null;
  const rc1 = cpuSeconds(b.redisProc.pid);
  const m1 = machineCpuSeconds();
  const h1 = harnessCpuSeconds();
  const wallS = Math.max(0.001, (Date.now() - wall0) / 1000);
  // CPU the machine spent on things this harness did not start (plus hypervisor steal)
  const foreignCores = Math.max(0, (m1.busy - m0.busy - (h1 - h0) + (m1.steal - m0.steal)) / wallS);
  if (probe) return null;
  const eld = await eventLoopDelay(t);
  const c1 = await redisCounters(b);
  const s1 = await hitMiss(t);
  let statsHitRatio: number | null = null;
  if (s0 && s1) {
    const h = s1.hits - s0.hits;
    const m = s1.misses - s0.misses;
    statsHitRatio = h + m > 0 ? h / (h + m) : null;
  }
  return {
    ...rec,
    targetCpuS: tc0 === null || tc1 === null ? null : tc1.user + tc1.system - (tc0.user + tc0.system),
    targetUserCpuS: tc0 === null || tc1 === null ? null : tc1.user - tc0.user,
    redisCpuS: rc1 - rc0,
    redisGetCalls: c1.get - c0.get,
    redisSetCalls: c1.set - c0.set,
    statsHitRatio,
    eld,
    foreignCores,
    superseded: false,
  };
}

/** redis-benchmark's -n per `workload|target`, sized from the latest rate so runs last about runSeconds */
const rbRequests = new Map<string, number>();

async function rbRun(b: Bench, w: Workload, run: RbWorkload, t: Target, rep: number, probe: boolean): Promise<LoadRecord> {
  const k = `${w.id}|${t.id}`;
  const requests = probe ? run.probe : rbRequests.get(k) ?? run.probe;
  const expectSec = probe ? 5 : b.runSeconds;
  const startedAt = new Date().toISOString();
  const r = await runRedisBenchmark({
    port: t.port,
    clients: run.clients,
    pipeline: run.pipeline,
    requests,
    keyspace: run.keyspace ?? KEYS,
    command: run.command,
    timeoutMs: Math.max(30_000, expectSec * 8_000),
  });
  const n = Math.round(r.rps * b.runSeconds);
  rbRequests.set(k, Math.max(run.clients * run.pipeline * 20, Math.min(n, 50_000_000)));
  return {
    workload: w.id, target: t.id, rep, tool: 'redis-benchmark', startedAt, opsPerSec: r.rps, requests: r.requests, wallMs: r.wallMs,
    p50Us: r.p50Ms * 1000, p99Us: r.p99Ms * 1000, p999Us: Number.isFinite(r.p999Ms) ? r.p999Ms * 1000 : null, maxUs: r.maxMs * 1000, generatorCpuS: r.generatorCpuS,
    clientGets: run.command[0].toUpperCase() === 'GET' ? r.requests : 0, errors: 0, nils: 0, failure: null,
  };
}

async function lgRun(b: Bench, w: Workload, run: LgWorkload, t: Target, rep: number, probe: boolean): Promise<LoadRecord> {
  const prefix = run.prefixFor ? run.prefixFor(t.id) : undefined;
  const gc0 = cpuSeconds(b.loadgen.pid);
  const startedAt = new Date().toISOString();
  const probeMs = b.opts.quick ? Math.min(300, run.probeMs ?? 300) : run.probeMs ?? 300;
  const r = await lg(b, {
    ...run.spec,
    ...(prefix ? { keyPrefix: prefix } : {}),
    port: t.port,
    // a fixed request count (the tail rows) or a fixed time
    durationMs: probe ? probeMs : run.requests ? 0 : b.runSeconds * 1000,
    maxRequests: probe || !run.requests ? 0 : run.requests,
    seed: 1000 + rep,
    timeoutMs: run.requests ? 300_000 : b.runSeconds * 1000 + 30_000,
  });
  return {
    workload: w.id, target: t.id, rep, tool: 'loadgen', startedAt, opsPerSec: r.opsPerSec, requests: r.requests, wallMs: r.elapsedMs,
    p50Us: r.latencyUs.p50, p99Us: r.latencyUs.p99, p999Us: r.latencyUs.p999, maxUs: r.latencyUs.max, generatorCpuS: cpuSeconds(b.loadgen.pid) - gc0,
    clientGets: r.gets, errors: r.errors, nils: r.nils,
    failure: r.failure ?? (r.errors > 0 ? `${r.errors} error replies` : r.nils > 0 && !run.nilsExpected ? `${r.nils} nil replies for existing keys` : null),
  };
}
