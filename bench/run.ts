// `npm run bench [-- --quick]`: start Redis, RedisProxy, twemproxy and the
// reference servers on free loopback ports, run the workload matrix in
// round-robin, and write bench/results/<timestamp>.json, latest.md, latest.svg.
// See bench/README.md. Each phase is a file of bench/phases/.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { lg, type Bench } from './lib/bench.js';
import { LoadgenClient } from './lib/loadgen-client.js';
import { parseArgs } from './lib/options.js';
import { installCleanupHandlers, registerTempDir, stopAll } from './lib/procs.js';
import { MiniClient } from './lib/resp.js';
import { WORKLOADS } from './lib/workloads.js';
import { LARGE_COUNT, largeValues } from './phases/large-values.js';
import { emptyMemory, measureMemory } from './phases/memory.js';
import { redisCounters } from './phases/measure.js';
import { prefill } from './phases/prefill.js';
import { ensureProxies } from './phases/proxies.js';
import { runWorkloads } from './phases/run-workloads.js';
import { SLOW_CLIENTS, slowReaders } from './phases/slow-readers.js';
import { failedStaleness, stalenessPhase } from './phases/staleness-phase.js';
import { startTargets } from './phases/start-targets.js';
import { writeResults, type Extras } from './phases/write-results.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const t0 = Date.now();
function log(msg: string): void {
  const s = ((Date.now() - t0) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[bench ${s}s] ${msg}\n`);
}

const NOTE =
  'GET-miss rows use a RedisProxy started with --capacity 1, so every GET is forwarded (and still pays the fill path). ' +
  'In write workloads (SET, the mix) a caching RedisProxy runs only while it is the target being measured: its tracking makes Redis push an invalidation for writes of keys it has read, which must not load Redis and the shared CPUs during the other targets\' runs. ' +
  'The `--coherence ttl` twins (proxy-ttl, proxy-cap1-ttl: the "Cost of tracking" rows) have no tracking, so Redis pushes them nothing and they stay up throughout.';

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2), repoRoot);
  const startedAt = new Date();
  const loadStart = os.loadavg();
  const workloads = WORKLOADS.filter((w) => (opts.only ? opts.only.includes(w.id) : !opts.quick || w.quick));
  if (workloads.length === 0) throw new Error('no workloads selected');
  const notes = [NOTE];
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'redisproxy-bench-'));
  registerTempDir(tmpDir);
  const ctx = { repoRoot, tmpDir, log };

  const extras: Extras = { memory: null, staleness: null, largeValues: null, slowReaders: null };
  let bench: Bench | null = null;
  let finished = false;
  installCleanupHandlers(() => {
    if (!finished && bench !== null && bench.runs.length > 0)
      process.stderr.write(`[bench] partial results written to ${writeResults(bench, extras, startedAt, loadStart, true)}\n`);
  });

  // phase 1: processes
  log(`mode ${opts.quick ? 'quick' : 'full'}: ${workloads.length} workloads, ${opts.reps} rep(s), ${opts.runSeconds} s/run; temp dir ${tmpDir}`);
  const started = await startTargets(ctx, opts, workloads, notes);
  const b: Bench = {
    ...started, opts, ctx, log, t0, workloads, notes, runs: [],
    loadgen: await LoadgenClient.start(repoRoot),
    control: await MiniClient.connect(started.redis.port),
    warmed: new Set(), probed: new Set(), runSeconds: opts.runSeconds,
    fresh: new Set([...started.targets.values()].filter((t) => t.kind === 'proxy').map((t) => t.id)),
  };
  bench = b;

  // phases 2 and 3: data, then the workloads
  await prefill(b);
  await runWorkloads(b);

  // phase 4: staleness of direct writes (issue 4), while the cache-on proxy is up
  if (b.stalenessOn) {
    log(`staleness: ${opts.stalenessSamples} direct writes on Redis, reads through the cache-on proxy`);
    const st = await stalenessPhase(b).catch((e: unknown) => failedStaleness(opts.stalenessSamples, `failed: ${(e as Error).message}`, false));
    extras.staleness = st;
    log(
      st.failure === null
        ? `staleness: p50 ${st.p50Us.toFixed(0)} µs  p99 ${st.p99Us.toFixed(0)} µs  max ${st.maxUs.toFixed(0)} µs  stale reads ${st.staleReads}  never fresh ${st.neverFresh}`
        : `staleness: ${st.failure}`,
    );
  }
  // phase 5: large values, one client, through the cache-on proxy and the others
  if (opts.largeValues && !opts.skipTargets.includes('proxy')) {
    log(`large values: ${LARGE_COUNT} pipelined SETs of 1 MiB, then ${LARGE_COUNT} GETs, from one client`);
    extras.largeValues = await largeValues(b).catch((e: unknown) => {
      log(`large values: failed: ${(e as Error).message}`);
      return null;
    });
  }
  await ensureProxies(b, []);

  // phase 6: peak RSS under slow-reading clients (a proxy of its own)
  if (opts.slowReaders && !opts.skipTargets.includes('proxy')) {
    log(`slow readers: ${SLOW_CLIENTS} clients pipelining cached GETs, reading one chunk every 50 ms`);
    const r = await slowReaders(b);
    extras.slowReaders = r;
    log(r.failure === null ? `slow readers: peak RSS ${(r.peakRssBytes / 2 ** 20).toFixed(0)} MiB (bound ${(r.boundBytes / 2 ** 20).toFixed(0)} MiB) in ${r.seconds.toFixed(1)} s` : `slow readers: ${r.failure}`);
  }

  // phase 7: memory per cached entry
  if (opts.memory && !opts.skipTargets.includes('proxy')) {
    log(`memory: ${opts.memEntries.toLocaleString('en-US')} cached 100-byte values`);
    const m = await measureMemory(ctx, {
      cli: b.cli,
      redisPort: b.redis.port,
      entries: opts.memEntries,
      lg: (spec) => lg(b, spec),
      redisCounters: () => redisCounters(b),
      withCeiling: opts.memCeiling,
    }).catch((e: unknown) => emptyMemory(opts.memEntries, `failed: ${(e as Error).message}`));
    extras.memory = m;
    log(Number.isFinite(m.overheadPerEntry) ? `memory: ${m.bytesPerEntry.toFixed(0)} B/entry, ${m.overheadPerEntry.toFixed(0)} B overhead` : `memory: ${m.note}`);
  }

  b.control.close();
  await b.loadgen.stop();
  finished = true;
  const jsonPath = writeResults(b, extras, startedAt, loadStart, false);
  await stopAll();
  const shown = (f: string): string => path.relative(repoRoot, f);
  log(`wrote ${shown(jsonPath)}, ${shown(path.join(path.dirname(jsonPath), 'latest.md'))}, ${shown(path.join(path.dirname(jsonPath), 'latest.svg'))}`);
}

main().then(
  () => process.exit(0),
  async (e: unknown) => {
    process.stderr.write(`[bench] error: ${(e as Error).stack ?? String(e)}\n`);
    await stopAll();
    process.exit(1);
  },
);
