// Phase 3: every workload, its targets in round-robin (A B C A B C ...), inside the time
// budget; a run disturbed by other processes is repeated once and the quieter one kept.

import type { Bench } from '../lib/bench.js';
import { FOREIGN_LIMIT_CORES, type RunRecord } from '../lib/report.js';
import type { Target } from '../lib/targets.js';
import type { Workload } from '../lib/workloads.js';
import { measure } from './measure.js';
import { ensureProxies, isCaching, warm } from './proxies.js';

/**
 * Unrecorded load after a RedisProxy (re)starts, beyond the calibration run: measured here
 * (SET 50 clients, CPU per request in consecutive chunks after a start), the first ~300,000
 * requests at -P 16 and ~30,000 at -P 1 cost 1.3–2.5× the steady CPU per request; then flat.
 */
const SETTLE_SECONDS = 2;

/** Run order groups workloads by which caching proxy they need (fewer restarts); the report keeps the WORKLOADS order. */
function phaseOf(w: Workload): number {
  return w.isolate ? 2 : w.targets.includes('proxy-wan') ? 3 : w.targets.includes('proxy-cap1') ? 1 : 0;
}

/** Workloads may ask for more repetitions of a few targets (pairs compared as a ratio). */
function repsFor(b: Bench, w: Workload, id: string): number {
  return Math.max(b.opts.reps, w.minReps?.targets.includes(id) ? w.minReps.reps : 0);
}

/** Seconds kept back at the end of the budget for the phases after the workloads. */
export function reservedSeconds(b: Bench): number {
  const { opts } = b;
  return (
    (opts.memory ? (opts.memEntries >= 500_000 ? 45 : 10) : 0) +
    (b.stalenessOn ? (opts.quick ? 5 : 10) : 0) +
    (opts.largeValues ? 10 * opts.reps : 0) +
    (opts.slowReaders ? (opts.quick ? 15 : 60) : 0)
  );
}

export async function runWorkloads(b: Bench): Promise<void> {
  const { opts } = b;
  const execOrder = [...b.workloads].sort((x, y) => phaseOf(x) - phaseOf(y));
  const loopStart = Date.now();
  const reserveS = reservedSeconds(b);
  const budget = {
    overheadS: opts.quick ? 0.4 : 0.6, // per run, beyond runSeconds; refined as we go
    runsLeft: execOrder.reduce((a, w) => a + w.targets.filter((id) => b.targets.get(id)?.ok).reduce((n, id) => n + repsFor(b, w, id), 0), 0),
    retriesLeft: 0,
    runsDone: 0,
    plannedDoneS: 0,
  };
  budget.retriesLeft = Math.ceil(budget.runsLeft / 3);
  const availableS = (): number => opts.budgetSeconds - (Date.now() - b.t0) / 1000 - reserveS;
  const allowsRetry = (): boolean =>
    opts.budgetSeconds <= 0 || availableS() - budget.runsLeft * (b.runSeconds + budget.overheadS) > b.runSeconds + budget.overheadS;

  for (const w of execOrder) {
    // Time budget: if the remaining runs would not fit, shorten the runs that are left.
    if (opts.budgetSeconds > 0 && budget.runsLeft > 0) {
      const fit = availableS() / budget.runsLeft - budget.overheadS;
      const next = Math.max(opts.quick ? 0.3 : 1, Math.round(fit * 10) / 10);
      if (fit < b.runSeconds && next < b.runSeconds) {
        b.notes.push(`Time budget (${opts.budgetSeconds} s): runs shortened from ${b.runSeconds} s to ${next} s from workload ${w.id} on.`);
        b.log(`time budget: shortening runs to ${next} s`);
        b.runSeconds = next;
      }
    }
    b.log(`${w.id}: ${w.title}`);
    const wReps = Math.max(...w.targets.map((id) => repsFor(b, w, id)));
    for (let rep = 0; rep < wReps; rep++) {
      for (const id of w.targets) {
        const t = b.targets.get(id);
        if (!t || !t.ok || rep >= repsFor(b, w, id)) continue;
        try {
          await ensureProxies(b, w.isolate ? (isCaching(b, id) ? [id] : []) : w.targets.filter((x) => isCaching(b, x)));
          if (!t.ok) continue;
          const r = await runOnce(b, w, t, rep, () => budget.retriesLeft > 0 && allowsRetry(), () => budget.retriesLeft--);
          budget.runsDone++;
          budget.runsLeft--;
          // a run of a fixed request count (the tails) is as long as it takes: it is not overhead
          budget.plannedDoneS += w.run.tool === 'loadgen' && w.run.requests && r ? r.wallMs / 1000 : b.runSeconds;
          budget.overheadS = Math.max(0.1, ((Date.now() - loopStart) / 1000 - budget.plannedDoneS) / budget.runsDone);
          if (r) {
            b.runs.push(r);
            logRun(b, r, rep);
          }
        } catch (e) {
          budget.runsLeft--;
          recordFailure(b, w, t, rep, (e as Error).message);
        }
      }
    }
  }
}

/** Warm (first time only), measure, and measure again once if others took a real share of the CPUs. */
async function runOnce(b: Bench, w: Workload, t: Target, rep: number, mayRetry: () => boolean, tookRetry: () => void): Promise<RunRecord | null> {
  const pk = `${w.id}|${t.id}`;
  if (!b.probed.has(pk)) {
    // warm caches, JIT and (for redis-benchmark) calibrate the request count; not recorded
    await warm(b, w, t);
    await measure(b, w, t, -1, true);
    if (b.fresh.has(t.id)) {
      // a (re)started proxy: more of the same load until its JIT has settled, so that it is
      // compared with the processes that stayed up (e.g. SET with the cache on, restarted
      // for its turn, against --capacity 0, up all along) in the same state
      const until = Date.now() + SETTLE_SECONDS * 1000;
      do await measure(b, w, t, -1, true);
      while (Date.now() < until);
      b.fresh.delete(t.id);
    }
    b.probed.add(pk);
  }
  const r = await measure(b, w, t, rep, false);
  if (!r || r.foreignCores === null || r.foreignCores <= FOREIGN_LIMIT_CORES || !mayRetry()) return r;
  tookRetry();
  b.log(`  rep ${rep + 1} ${t.id}: other processes used ${r.foreignCores.toFixed(2)} cores during the run — running it again`);
  const again = await measure(b, w, t, rep, false);
  if (!again) return r;
  const keep = (again.foreignCores ?? 0) <= r.foreignCores ? again : r;
  const drop = keep === again ? r : again;
  drop.superseded = true;
  b.runs.push(drop);
  return keep;
}

function logRun(b: Bench, r: RunRecord, rep: number): void {
  b.log(
    `  rep ${rep + 1} ${r.target.padEnd(14)} ${Math.round(r.opsPerSec).toLocaleString('en-US').padStart(10)} ops/s  p50 ${r.p50Us?.toFixed(0) ?? '-'} µs  p99 ${r.p99Us?.toFixed(0) ?? '-'} µs` +
      `${r.foreignCores !== null && r.foreignCores > FOREIGN_LIMIT_CORES ? `  (others used ${r.foreignCores.toFixed(2)} cores)` : ''}` +
      `${r.failure ? `  FAILURE: ${r.failure}` : ''}`,
  );
}

function recordFailure(b: Bench, w: Workload, t: Target, rep: number, msg: string): void {
  b.log(`  rep ${rep + 1} ${t.id}: FAILED ${msg}`);
  b.runs.push({
    workload: w.id, target: t.id, rep, tool: w.run.tool, startedAt: new Date().toISOString(), opsPerSec: 0, requests: 0, wallMs: 0,
    p50Us: null, p99Us: null, p999Us: null, targetCpuS: null, redisCpuS: 0, generatorCpuS: null, redisGetCalls: 0, redisSetCalls: 0,
    clientGets: 0, statsHitRatio: null, errors: 0, nils: 0, failure: msg, foreignCores: null, superseded: false,
  });
  if (t.proc?.exited) {
    t.ok = false;
    t.note = `process exited during ${w.id}`;
  }
}
