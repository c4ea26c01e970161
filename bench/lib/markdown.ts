// bench/results/latest.md from the results.

import { FOREIGN_LIMIT_CORES, GENERATOR_BOUND_PCT, esc, fmtBytes, fmtInt, fmtOps, fmtRatio, fmtUs, type Results, type Summary } from './report.js';
import type { Percentiles } from '../staleness.js';
import { TRACKING_COST } from './workloads.js';

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
  const reported = res.checklist.filter((c) => c.status === 'reported').length;
  L.push(`## Target checklist — ${met} MET, ${notMet} NOT MET, ${na} n/a, ${reported} reported (no target)`);
  L.push('');
  L.push('| # | Target | Measured | Status |');
  L.push('|---|---|---|---|');
  res.checklist.forEach((c, i) => L.push(`| ${i + 1} | ${esc(c.text)} | ${esc(c.measured)} | ${c.status === 'MET' ? '**MET**' : c.status === 'NOT MET' ? '**NOT MET**' : c.status} |`));
  L.push('');

  L.push('## Throughput and latency');
  L.push('');
  L.push('Latency columns: per-request round trip seen by the client (p99.9 from redis-benchmark\'s percentile distribution: its first step at or past 99.9%); max is the slowest request over all kept runs. Ratios compare ops/s with the same workload\'s direct Redis, twemproxy, ceiling (cache hits) or naive relay (pass-through).');
  L.push('');
  L.push(`† = the load generator used ≥ ${GENERATOR_BOUND_PCT}% of a core during the run: that row measures the generator as much as the target.`);
  L.push('');
  L.push('| Workload | Target | ops/s | spread | p50 | p99 | p99.9 | max | vs Redis | vs twemproxy | vs ceiling | vs relay |');
  L.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const w of res.workloads) {
    let first = true;
    for (const t of w.targets) {
      const s = S(w.id, t);
      const info = res.targets.find((x) => x.id === t);
      const wl = first ? `**${esc(w.title)}**` : '';
      first = false;
      if (!s || s.reps === 0) {
        const why = info && !info.ok ? info.note || 'unavailable' : s?.failures[0] ?? 'not run';
        L.push(`| ${wl} | ${esc(label(t))} | n/a | | | | | | | | | ${esc(why).slice(0, 160)} |`);
        continue;
      }
      const base = S(w.id, w.baseline);
      const tw = S(w.id, w.twemproxy);
      const ce = w.compare.includes('ceiling') ? S(w.id, 'ceiling') : undefined;
      const re = w.compare.includes('relay') ? S(w.id, 'relay') : undefined;
      const spread = s.reps > 1 ? `${(((s.opsMax - s.opsMin) / s.opsPerSec) * 100).toFixed(0)}%` : '';
      const bound = s.generatorCpuPct !== null && s.generatorCpuPct >= GENERATOR_BOUND_PCT ? ' †' : '';
      L.push(
        `| ${wl} | ${esc(label(t))} | ${fmtOps(s.opsPerSec)}${bound} | ${spread} | ${fmtUs(s.p50Us)} | ${fmtUs(s.p99Us)} | ${fmtUs(s.p999Us)} | ${fmtUs(s.maxUs ?? null)} | ` +
          `${t === w.baseline ? '1.00×' : fmtRatio(s.opsPerSec, base?.opsPerSec ?? null)} | ${t === w.twemproxy ? '1.00×' : fmtRatio(s.opsPerSec, tw?.opsPerSec ?? null)} | ` +
          `${ce ? fmtRatio(s.opsPerSec, ce.opsPerSec) : ''} | ${re ? fmtRatio(s.opsPerSec, re.opsPerSec) : ''} |`,
      );
    }
  }
  L.push('');

  tailsSection(L, res, label);

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

  largeValuesSection(L, res, label);
  slowReadersSection(L, res);

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

/** Tail latency and the proxy's event-loop delay, per run of the tail rows. */
function tailsSection(L: string[], res: Results, label: (id: string) => string): void {
  const ws = res.workloads.filter((w) => w.id.startsWith('tail-'));
  if (ws.length === 0) return;
  L.push('## Tails');
  L.push('');
  L.push(
    'Each run is a fixed number of requests (after an unrecorded warm-up run) from bench/loadgen.ts, latency per request in an HDR histogram. ' +
      "Event-loop delay is the RedisProxy process's own: prom-client's default metrics (perf_hooks.monitorEventLoopDelay, a 10 ms timer) read from its /metrics right before and right after each run " +
      '(each read resets the histogram), shown beyond the 10 ms interval; twemproxy and Redis have none. No --inspect, no change to the proxy.',
  );
  L.push('');
  L.push('| Workload | Target | run | requests | ops/s | p50 | p99 | p99.9 | max | event-loop delay p50 / p99 / max |');
  L.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const w of ws)
    for (const r of res.runs.filter((x) => x.workload === w.id && !x.superseded)) {
      const e = r.eld;
      const eld = e ? `${e.p50Ms.toFixed(1)} / ${e.p99Ms.toFixed(1)} / ${e.maxMs.toFixed(1)} ms` : '—';
      L.push(`| ${esc(w.title)} | ${esc(label(r.target))} | ${r.rep + 1} | ${fmtInt(r.requests)} | ${fmtOps(r.opsPerSec)} | ${fmtUs(r.p50Us)} | ${fmtUs(r.p99Us)} | ${fmtUs(r.p999Us)} | ${fmtUs(r.maxUs ?? null)} | ${eld}${r.failure ? ` (${esc(r.failure)})` : ''} |`);
    }
  L.push('');
  const other = res.runs.filter((r) => !r.superseded && r.eld && !r.workload.startsWith('tail-'));
  if (other.length > 0) {
    L.push("The proxy's event-loop delay in the other runs (p99 / max beyond the 10 ms interval):");
    L.push('');
    L.push('| Workload | Target | run | p99 | max |');
    L.push('|---|---|---:|---:|---:|');
    for (const r of other) L.push(`| ${r.workload} | ${r.target} | ${r.rep + 1} | ${r.eld!.p99Ms.toFixed(1)} ms | ${r.eld!.maxMs.toFixed(1)} ms |`);
    L.push('');
  }
}

function largeValuesSection(L: string[], res: Results, label: (id: string) => string): void {
  const lv = res.largeValues;
  if (!lv) return;
  L.push('## Large values');
  L.push('');
  L.push(
    `One client connects and writes ${lv.count} SETs of ${(lv.valueBytes / 2 ** 20).toFixed(0)} MiB values at once (pipelined, as an auto-pipelining client library does), and waits for every reply; then the same for ${lv.count} GETs of them. ` +
      "Time from the connection to the last reply; median over repetitions. Through the proxy the GETs are misses (its own SETs leave nothing cached) that fill 1 MiB entries.",
  );
  L.push('');
  L.push('| Target | SETs (ms) | vs Redis | GETs (ms) | vs Redis | runs |');
  L.push('|---|---:|---:|---:|---:|---|');
  const d = lv.rows.find((r) => r.target === 'redis');
  for (const r of lv.rows) {
    if (r.failure) {
      L.push(`| ${esc(label(r.target))} | | | | | failed: ${esc(r.failure)} |`);
      continue;
    }
    L.push(
      `| ${esc(label(r.target))} | ${r.setMedianMs.toFixed(0)} | ${fmtRatio(r.setMedianMs, d?.setMedianMs ?? null)} | ${r.getMedianMs.toFixed(0)} | ${fmtRatio(r.getMedianMs, d?.getMedianMs ?? null)} | ` +
        `SET ${r.setMs.map((x) => x.toFixed(0)).join(', ')}; GET ${r.getMs.map((x) => x.toFixed(0)).join(', ')} |`,
    );
  }
  L.push('');
  L.push('Ratios here are times: below 1× is faster than direct Redis.');
  L.push('');
}

function slowReadersSection(L: string[], res: Results): void {
  const sr = res.slowReaders;
  if (!sr) return;
  L.push('## Memory under load');
  L.push('');
  if (sr.failure !== null) {
    L.push(`Not measured: ${esc(sr.failure)}`);
    L.push('');
    return;
  }
  L.push(
    `${sr.clients} clients each send ${fmtInt(sr.getsPerClient)} GETs of one cached 100-byte value at once, to a RedisProxy of its own, and read the replies slowly (one read every 50 ms each); ` +
      `VmRSS sampled every 50 ms. Peak **${fmtBytes(sr.peakRssBytes)}** (before: ${fmtBytes(sr.rssBeforeBytes)}), in ${sr.seconds.toFixed(1)} s. ` +
      `Bound: ${esc(sr.boundText)}. It follows from the proxy's backpressure: a session stops reading its client while the client's socket holds more than its write high-water mark, ` +
      'so per client it holds at most the replies to one read of requests plus that mark (there is no output limit for normal clients by default: `--output-limit-normal 0 0 0`).',
  );
  L.push('');
}
