// `npm run bench [-- --quick]`: start Redis, RedisProxy, twemproxy and the
// reference servers on free loopback ports, run the workload matrix in
// round-robin, and write bench/results/<timestamp>.json, latest.md, latest.svg.
// See bench/README.md.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadResult, LoadSpec } from './loadgen.js';
import { LoadgenClient } from './lib/loadgen-client.js';
import { cpuSeconds, cpuTimes, harnessCpuSeconds, installCleanupHandlers, machineCpuSeconds, registerTempDir, rssBytes, sleep, stopAll, stopManaged, which, type Managed } from './lib/procs.js';
import { runRedisBenchmark } from './lib/redis-benchmark.js';
import { FOREIGN_LIMIT_CORES, checklist, markdown, summarize, svg, type MemoryResult, type Results, type RunRecord, type StalenessReport } from './lib/report.js';
import { MiniClient, commandCalls, parseInfo, valueFor, keyName } from './lib/resp.js';
import {
  ensureNutcracker,
  ensureProxyBuilt,
  extractHitMiss,
  fetchStats,
  startNodeServer,
  startProxy,
  startRedis,
  startTwemproxy,
  type Ctx,
  type ProxyOptions,
  type Target,
} from './lib/targets.js';
import { KEYS, KEYSPACES, WORKLOADS, type Workload } from './lib/workloads.js';
import { measureStaleness } from './staleness.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface Options {
  quick: boolean;
  reps: number;
  runSeconds: number;
  only: string[] | null;
  skipTargets: string[];
  memory: boolean;
  memEntries: number;
  /** also measure the ceiling server's Map with the same entries, for scale */
  memCeiling: boolean;
  /** measure the staleness window of direct writes through the cache-on proxy */
  staleness: boolean;
  stalenessSamples: number;
  build: boolean;
  delayMs: number;
  outDir: string;
  /** whole-run time budget in seconds (0 = none): runs are shortened to fit */
  budgetSeconds: number;
}

function parseArgs(argv: string[]): Options {
  const quick = argv.includes('--quick');
  const o: Options = {
    quick,
    reps: quick ? 1 : 3,
    runSeconds: quick ? 0.5 : 2.5,
    only: null,
    skipTargets: [],
    memory: true,
    memEntries: quick ? 250_000 : 1_000_000,
    memCeiling: !quick,
    staleness: true,
    stalenessSamples: quick ? 300 : 1000,
    build: true,
    delayMs: 0.5,
    outDir: path.join(repoRoot, 'bench', 'results'),
    budgetSeconds: quick ? 85 : 840, // includes ~10 s (quick) / ~30 s (full) for the tracking-cost runs and the staleness phase
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    const num = (): number => {
      i++;
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) throw new Error(`${a} needs a non-negative number`);
      return n;
    };
    switch (a) {
      case '--quick':
        break;
      case '--reps':
        o.reps = Math.max(1, Math.floor(num()));
        break;
      case '--seconds':
        o.runSeconds = Math.max(0.2, num());
        break;
      case '--only':
        o.only = (v ?? '').split(',').filter(Boolean);
        i++;
        break;
      case '--skip-targets':
        o.skipTargets = (v ?? '').split(',').filter(Boolean);
        i++;
        break;
      case '--skip-memory':
        o.memory = false;
        break;
      case '--mem-entries':
        o.memEntries = Math.max(1000, Math.floor(num()));
        break;
      case '--skip-staleness':
        o.staleness = false;
        break;
      case '--staleness-samples':
        o.stalenessSamples = Math.max(10, Math.min(100_000, Math.floor(num())));
        break;
      case '--no-build':
        o.build = false;
        break;
      case '--delay-ms':
        o.delayMs = num();
        break;
      case '--budget':
        o.budgetSeconds = num();
        break;
      case '--out':
        o.outDir = path.resolve(v ?? o.outDir);
        i++;
        break;
      case '--help':
      case '-h':
        process.stdout.write(
          [
            'usage: npm run bench -- [options]',
            '  --quick              ~1 minute: 1 repetition, short runs, fewer workloads (all checklist targets kept)',
            '  --reps N             repetitions per workload x target (default 3; quick 1)',
            '  --seconds S          length of each measured run (default 2.5; quick 0.5)',
            `  --only a,b           only these workloads: ${WORKLOADS.map((w) => w.id).join(', ')}`,
            '  --skip-targets a,b   leave these targets out (e.g. proxy while src/ is broken)',
            '  --skip-memory        skip the 1,000,000-entry memory measurement',
            '  --mem-entries N      entries for the memory measurement (default 1,000,000; quick 250,000)',
            '  --skip-staleness     skip the staleness window of direct writes',
            '  --staleness-samples N  samples for it (default 1000; quick 300)',
            '  --no-build           do not rebuild dist/ when it is stale',
            '  --delay-ms X         one-way delay of the delay relay (default 0.5)',
            '  --budget S           shorten runs so the whole run fits in S seconds (default 840; quick 85; 0 = off)',
            '  --out DIR            where results go (default bench/results)',
            '',
          ].join('\n'),
        );
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${a} (try --help)`);
    }
  }
  return o;
}

const t0 = Date.now();
function log(msg: string): void {
  const s = ((Date.now() - t0) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[bench ${s}s] ${msg}\n`);
}

/** stdout + stderr of a short command ('' when it cannot run). */
function tryExec(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'pipe'] });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
}

function versions(): Record<string, string> {
  const redis = /v=([\d.]+)/.exec(tryExec('redis-server', ['--version']))?.[1] ?? '?';
  const nc = /nutcracker-([\d.]+)/.exec(tryExec(which('nutcracker') ?? 'nutcracker', ['-V']))?.[1] ?? 'missing';
  return { node: process.version, redis, 'redis-benchmark': /([\d.]+)/.exec(tryExec('redis-benchmark', ['--version']))?.[1] ?? '?', nutcracker: nc };
}

function gitDescription(): string {
  const head = tryExec('git', ['-C', repoRoot, 'rev-parse', '--short', 'HEAD']) || 'unknown';
  const dirty = tryExec('git', ['-C', repoRoot, 'status', '--porcelain', '--', 'src']);
  return `${head}${dirty ? ' (src/ has uncommitted changes)' : ''}`;
}

// ---------------------------------------------------------------------------

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const startedAt = new Date();
  const loadStart = os.loadavg();
  const notes: string[] = [];
  const runs: RunRecord[] = [];
  let memory: MemoryResult | null = null;
  let staleness: StalenessReport | null = null;
  let finished = false;

  const workloads = WORKLOADS.filter((w) => (opts.only ? opts.only.includes(w.id) : !opts.quick || w.quick));
  if (workloads.length === 0) throw new Error('no workloads selected');
  const needed = new Set(workloads.flatMap((w) => w.targets));
  for (const s of opts.skipTargets) needed.delete(s);

  notes.push(
    'GET-miss rows use a RedisProxy started with --capacity 1, so every GET is forwarded (and still pays the fill path). ' +
      'In write workloads (SET, the mix) a caching RedisProxy runs only while it is the target being measured: its tracking makes Redis push an invalidation for writes of keys it has read, which must not load Redis and the shared CPUs during the other targets\' runs. ' +
      'The `--coherence ttl` twins (proxy-ttl, proxy-cap1-ttl: the "Cost of tracking" rows) have no tracking, so Redis pushes them nothing and they stay up throughout.',
  );
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'redisproxy-bench-'));
  registerTempDir(tmpDir);
  const ctx: Ctx = { repoRoot, tmpDir, log };
  const targets = new Map<string, Target>();

  const writeResults = (partial: boolean): string => {
    const summaries = summarize(runs);
    const res: Results = {
      meta: {
        startedAt: startedAt.toISOString(),
        finishedAt: new Date().toISOString(),
        wallSeconds: (Date.now() - t0) / 1000,
        mode: opts.quick ? 'quick' : 'full',
        reps: opts.reps,
        runSeconds: opts.runSeconds,
        host: {
          cpus: os.cpus().length,
          cpuModel: os.cpus()[0]?.model ?? '?',
          loadavgStart: loadStart,
          loadavgEnd: os.loadavg(),
          memTotalMB: Math.round(os.totalmem() / 1024 / 1024),
        },
        versions: versions(),
        git: gitDescription(),
        delayMs: opts.delayMs,
        delayRelayAddedRttUs: addedRtt(summaries),
        notes: partial ? [...notes, 'PARTIAL RESULTS: the run was interrupted.'] : notes,
      },
      targets: [...targets.values()].map((t) => ({ id: t.id, label: t.label, kind: t.kind, ok: t.ok, note: t.note, detail: t.detail })),
      workloads: workloads.map((w) => ({ id: w.id, title: w.title, targets: w.targets.filter((t) => targets.has(t)), baseline: w.baseline, twemproxy: w.twemproxy, compare: w.compare })),
      runs,
      summaries,
      memory,
      staleness,
      checklist: [],
    };
    res.checklist = checklist(res);
    fs.mkdirSync(opts.outDir, { recursive: true });
    const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
    const jsonPath = path.join(opts.outDir, `${stamp}.json`);
    fs.writeFileSync(jsonPath, JSON.stringify(res, null, 2) + '\n');
    fs.writeFileSync(path.join(opts.outDir, 'latest.md'), markdown(res));
    fs.writeFileSync(path.join(opts.outDir, 'latest.svg'), svg(res, res.workloads));
    return jsonPath;
  };

  installCleanupHandlers(() => {
    if (!finished && runs.length > 0) {
      const p = writeResults(true);
      process.stderr.write(`[bench] partial results written to ${p}\n`);
    }
  });

  // --- processes -----------------------------------------------------------
  log(`mode ${opts.quick ? 'quick' : 'full'}: ${workloads.length} workloads, ${opts.reps} rep(s), ${opts.runSeconds} s/run; temp dir ${tmpDir}`);
  const { target: redis, proc: redisProc } = await startRedis(ctx);
  targets.set('redis', redis);
  log(`redis-server on ${redis.port} (pid ${redisProc.pid})`);

  const stalenessOn = opts.staleness && !opts.skipTargets.includes('proxy');
  const wantProxy = [...needed].some((t) => t.startsWith('proxy')) || opts.memory || stalenessOn;
  const built = wantProxy ? await ensureProxyBuilt(ctx, opts.build) : { cli: null, note: 'not needed' };
  if (built.note) notes.push(`RedisProxy build: ${built.note}`);
  const nutcracker = needed.has('twemproxy') || needed.has('twemproxy-wan') ? await ensureNutcracker(ctx) : null;

  const starters: Array<Promise<Target>> = [];
  const want = (id: string): boolean => needed.has(id);
  // RedisProxy instances: remembered so they can be stopped and restarted (see Workload.isolate)
  const proxyOpts = new Map<string, ProxyOptions>();
  const proxy = (id: string, label: string, capacity: number, upstreamPort: number, coherence?: 'ttl'): Promise<Target> => {
    const po: ProxyOptions = { id, label, cli: built.cli, upstreamPort, capacity, ttlSeconds: 3600, withAdmin: true, ...(coherence ? { coherence } : {}) };
    proxyOpts.set(id, po);
    return startProxy(ctx, po);
  };
  if (want('proxy')) starters.push(proxy('proxy', 'RedisProxy (cache on)', 200_000, redis.port));
  if (want('proxy-ttl')) starters.push(proxy('proxy-ttl', 'RedisProxy --coherence ttl (cache on, no tracking)', 200_000, redis.port, 'ttl'));
  if (want('proxy-cap1')) starters.push(proxy('proxy-cap1', 'RedisProxy --capacity 1 (misses)', 1, redis.port));
  if (want('proxy-cap1-ttl')) starters.push(proxy('proxy-cap1-ttl', 'RedisProxy --capacity 1 --coherence ttl (misses, no tracking)', 1, redis.port, 'ttl'));
  if (want('proxy-nocache')) starters.push(proxy('proxy-nocache', 'RedisProxy --capacity 0 (cache off)', 0, redis.port));
  if (want('twemproxy')) starters.push(startTwemproxy(ctx, nutcracker, 'twemproxy', 'twemproxy', redis.port));
  if (want('ceiling'))
    starters.push(startNodeServer(ctx, { id: 'ceiling', label: 'ceiling (Node Map server)', kind: 'ceiling', script: 'bench/reference/ceiling.ts', args: [], ownStorage: true }));
  if (want('relay'))
    starters.push(startNodeServer(ctx, { id: 'relay', label: 'naive relay (socket.pipe)', kind: 'relay', script: 'bench/reference/relay.ts', args: ['--upstream', `127.0.0.1:${redis.port}`], ownStorage: false }));
  const wanNeeded = want('redis-wan') || want('proxy-wan') || want('twemproxy-wan');
  for (const t of await Promise.all(starters)) targets.set(t.id, t);

  if (wanNeeded) {
    const delay = await startNodeServer(ctx, {
      id: 'redis-wan',
      label: `direct Redis over delay relay (+${opts.delayMs} ms each way)`,
      kind: 'redis',
      script: 'bench/delay-relay.ts',
      args: ['--upstream', `127.0.0.1:${redis.port}`, '--delay-ms', String(opts.delayMs)],
      ownStorage: false,
    });
    targets.set('redis-wan', delay);
    const wan: Array<Promise<Target>> = [];
    if (want('proxy-wan')) wan.push(proxy('proxy-wan', 'RedisProxy, Redis over delay relay', 200_000, delay.port));
    if (want('twemproxy-wan')) wan.push(startTwemproxy(ctx, nutcracker, 'twemproxy-wan', 'twemproxy, Redis over delay relay', delay.port));
    for (const t of await Promise.all(wan)) targets.set(t.id, t);
  }
  for (const t of targets.values()) log(`${t.id.padEnd(14)} ${t.ok ? `port ${t.port}${t.proc ? ` pid ${t.proc.pid}` : ''}${t.adminPort ? ` admin ${t.adminPort}` : ''}` : `UNAVAILABLE: ${t.note}`}`);

  const loadgen = await LoadgenClient.start(repoRoot);
  const control = await MiniClient.connect(redis.port);
  const lg = (spec: Partial<LoadSpec>): Promise<LoadResult> => loadgen.run({ timeoutMs: 120_000, ...spec });

  // --- data ----------------------------------------------------------------
  const fill = async (port: number, prefix: string, size: number, count: number): Promise<void> => {
    const r = await lg({ port, connections: 4, pipeline: size > 1000 ? 8 : 64, durationMs: 0, maxRequests: count, keyPrefix: prefix, keyspace: count, distribution: 'sequential', getRatio: 0, valueSize: size });
    if (r.failure || r.errors > 0) throw new Error(`prefill ${prefix} on ${port} failed: ${r.failure ?? `${r.errors} errors`}`);
  };
  const storesFor = (ids: string[]): number[] => {
    const ports = new Set<number>([redis.port]);
    for (const id of ids) {
      const t = targets.get(id);
      if (t?.ok && t.ownStorage) ports.add(t.port);
    }
    return [...ports];
  };
  const allIds = [...targets.keys()];
  for (const port of storesFor(allIds)) await fill(port, KEYSPACES.hot.prefix, KEYSPACES.hot.size, KEYS);
  if (workloads.some((w) => w.warm === 'big')) for (const port of storesFor(allIds)) await fill(port, KEYSPACES.big.prefix, KEYSPACES.big.size, KEYS);
  for (const w of workloads) {
    if (w.run.tool !== 'loadgen' || !w.run.prefixFor) continue;
    for (const id of w.targets) {
      const t = targets.get(id);
      if (!t?.ok) continue;
      await fill(t.ownStorage ? t.port : redis.port, w.run.prefixFor(id), w.run.spec.valueSize ?? 100, w.run.spec.keyspace ?? KEYS);
    }
  }
  log('prefill done');

  // sanity: every target must return the right bytes for a known key (twice, so a cached copy is checked too)
  const expected = valueFor(0, KEYSPACES.hot.size);
  for (const t of targets.values()) {
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
      log(`${t.id}: ${t.note}`);
    }
  }

  // --- measuring -------------------------------------------------------------
  const warmed = new Set<string>();
  const warm = async (w: Workload, t: Target): Promise<void> => {
    if (w.warm === null) return;
    const ks = KEYSPACES[w.warm];
    const key = `${w.warm}|${t.id}`;
    if (warmed.has(key)) return;
    const r = await lg({ port: t.port, connections: 8, pipeline: ks.size > 1000 ? 4 : 32, durationMs: 0, maxRequests: KEYS, keyPrefix: ks.prefix, keyspace: KEYS, distribution: 'sequential', getRatio: 1 });
    if (r.failure) throw new Error(`warm-up failed: ${r.failure}`);
    warmed.add(key);
  };

  const probed = new Set<string>();
  /**
   * A proxy with a cache and tracking coherence (its connections are tracked for its invalidation link).
   * `--coherence ttl` proxies have no tracking (Redis pushes them nothing), so they stay up all along.
   */
  const isCaching = (id: string): boolean => {
    const po = proxyOpts.get(id);
    return po !== undefined && po.capacity > 0 && po.coherence !== 'ttl';
  };
  /** Run exactly the tracking proxies in `wanted` (others stopped: their tracking costs Redis work on writes of keys they read). */
  const ensureProxies = async (wanted: string[]): Promise<void> => {
    for (const [id, po] of proxyOpts) {
      const t = targets.get(id);
      if (!t || !t.ok || !isCaching(id)) continue;
      const running = t.proc !== null && !t.proc.exited;
      if (running && !wanted.includes(id) && t.proc) {
        await stopManaged(t.proc);
        t.proc = null;
      } else if (!running && wanted.includes(id)) {
        const fresh = await startProxy(ctx, po);
        Object.assign(t, fresh);
        for (const k of [...warmed]) if (k.endsWith(`|${id}`)) warmed.delete(k);
        for (const k of [...probed]) if (k.endsWith(`|${id}`)) probed.delete(k);
        if (!t.ok) log(`${id}: restart failed: ${t.note}`);
      }
    }
  };

  const STALENESS_DEADLINE_MS = 1000;
  async function stalenessPhase(): Promise<StalenessReport> {
    const N = opts.stalenessSamples;
    if (!targets.has('proxy')) targets.set('proxy', await proxy('proxy', 'RedisProxy (cache on)', 200_000, redis.port));
    await ensureProxies(['proxy']);
    const t = targets.get('proxy');
    if (!t || !t.ok || !t.proc) return failedStaleness(N, `RedisProxy (cache on) not running: ${t?.note ?? 'not started'}`, false);
    // warm-up, not recorded: the hit path (hot keyspace) and the invalidation path (a short staleness run)
    const w = await lg({ port: t.port, connections: 8, pipeline: 32, durationMs: 0, maxRequests: KEYS, keyPrefix: KEYSPACES.hot.prefix, keyspace: KEYS, distribution: 'sequential', getRatio: 1 });
    if (w.failure) throw new Error(`warm-up failed: ${w.failure}`);
    await withTimeout(measureStaleness(redis.port, t.port, Math.min(100, N), STALENESS_DEADLINE_MS), 30_000, 'staleness warm-up');
    // bound: a healthy sample takes well under a millisecond; a broken one up to 2 deadlines
    const limitMs = 30_000 + N * 20;
    const attempt = async (): Promise<StalenessReport> => {
      const m0 = machineCpuSeconds();
      const h0 = harnessCpuSeconds();
      const wall0 = Date.now();
      let r: Awaited<ReturnType<typeof measureStaleness>>;
      try {
        r = await withTimeout(measureStaleness(redis.port, t.port, N, STALENESS_DEADLINE_MS), limitMs, 'staleness');
      } catch (e) {
        if (e instanceof TimeoutError)
          return failedStaleness(N, `${N} samples did not finish within ${limitMs / 1000} s (samples normally take under a millisecond: the proxy is unresponsive or keeps serving stale values)`, true);
        throw e;
      }
      const wallS = Math.max(0.001, (Date.now() - wall0) / 1000);
      const m1 = machineCpuSeconds();
      const h1 = harnessCpuSeconds();
      return {
        target: 'proxy',
        samplesRequested: N,
        samples: r.samples,
        p50Us: r.p50Us,
        p99Us: r.p99Us,
        maxUs: r.maxUs,
        staleReads: r.staleReads,
        neverFresh: r.neverFresh,
        stalePeriod: r.stalePeriod,
        missRoundTrip: r.missRoundTrip,
        pushLag: r.pushLag,
        deadlineMs: STALENESS_DEADLINE_MS,
        foreignCores: Math.max(0, (m1.busy - m0.busy - (h1 - h0) + (m1.steal - m0.steal)) / wallS),
        wallMs: wallS * 1000,
        failure: null,
        timedOut: false,
        discarded: null,
      };
    };
    const first = await attempt();
    // like the workload runs: repeated once when others took a real share of the CPUs; the quieter is kept
    if (first.failure !== null || first.foreignCores === null || first.foreignCores <= FOREIGN_LIMIT_CORES) return first;
    log(`  staleness: other processes used ${first.foreignCores.toFixed(2)} cores during it — measuring again`);
    const again = await attempt();
    if (again.failure !== null) return again;
    const [keep, drop] = (again.foreignCores ?? 0) <= first.foreignCores ? [again, first] : [first, again];
    const { p50Us, p99Us, maxUs, staleReads, neverFresh, foreignCores } = drop;
    return { ...keep, discarded: { p50Us, p99Us, maxUs, staleReads, neverFresh, foreignCores } };
  }

  const redisCounters = async (): Promise<{ get: number; set: number }> => {
    const r = await control.command(['INFO', 'commandstats']);
    const info = parseInfo(Buffer.isBuffer(r) ? r.toString('latin1') : '');
    return { get: commandCalls(info, 'get'), set: commandCalls(info, 'set') };
  };
  const hitMiss = async (t: Target): Promise<{ hits: number; misses: number } | null> =>
    t.adminPort === null ? null : extractHitMiss(await fetchStats(t.adminPort));

  const rbRequests = new Map<string, number>();
  // run length can shrink to keep the whole run inside its time budget (see below)
  let runSeconds = opts.runSeconds;
  const measure = async (w: Workload, t: Target, rep: number, probe: boolean): Promise<RunRecord | null> => {
    const prefix = w.run.tool === 'loadgen' && w.run.prefixFor ? w.run.prefixFor(t.id) : undefined;
    const c0 = await redisCounters();
    const s0 = probe ? null : await hitMiss(t);
    const tc0 = t.proc ? cpuTimes(t.proc.pid) : null;
    const rc0 = cpuSeconds(redisProc.pid);
    const gc0 = cpuSeconds(loadgen.pid);
    const m0 = machineCpuSeconds();
    const h0 = harnessCpuSeconds();
    const wall0 = Date.now();
    const startedAtRun = new Date().toISOString();
    let rec: Omit<RunRecord, 'targetCpuS' | 'targetUserCpuS' | 'redisCpuS' | 'redisGetCalls' | 'redisSetCalls' | 'statsHitRatio' | 'foreignCores' | 'superseded'>;
    if (w.run.tool === 'redis-benchmark') {
      const k = `${w.id}|${t.id}`;
      const requests = probe ? w.run.probe : rbRequests.get(k) ?? w.run.probe;
      const expectSec = probe ? 5 : runSeconds;
      const r = await runRedisBenchmark({
        port: t.port,
        clients: w.run.clients,
        pipeline: w.run.pipeline,
        requests,
        keyspace: KEYS,
        command: w.run.command,
        timeoutMs: Math.max(30_000, expectSec * 8_000),
      });
      // size the next run from the latest rate, so runs stay near runSeconds as conditions change
      const n = Math.round(r.rps * runSeconds);
      rbRequests.set(k, Math.max(w.run.clients * w.run.pipeline * 20, Math.min(n, 50_000_000)));
      rec = {
        workload: w.id,
        target: t.id,
        rep,
        tool: 'redis-benchmark',
        startedAt: startedAtRun,
        opsPerSec: r.rps,
        requests: r.requests,
        wallMs: r.wallMs,
        p50Us: r.p50Ms * 1000,
        p99Us: r.p99Ms * 1000,
        p999Us: null,
        generatorCpuS: r.generatorCpuS,
        clientGets: w.run.command[0].toUpperCase() === 'GET' ? r.requests : 0,
        errors: 0,
        nils: 0,
        failure: null,
      };
    } else {
      const r = await lg({
        ...w.run.spec,
        ...(prefix ? { keyPrefix: prefix } : {}),
        port: t.port,
        durationMs: probe ? (opts.quick ? Math.min(300, w.run.probeMs ?? 300) : w.run.probeMs ?? 300) : runSeconds * 1000,
        maxRequests: 0,
        seed: 1000 + rep,
        timeoutMs: runSeconds * 1000 + 30_000,
      });
      rec = {
        workload: w.id,
        target: t.id,
        rep,
        tool: 'loadgen',
        startedAt: startedAtRun,
        opsPerSec: r.opsPerSec,
        requests: r.requests,
        wallMs: r.elapsedMs,
        p50Us: r.latencyUs.p50,
        p99Us: r.latencyUs.p99,
        p999Us: r.latencyUs.p999,
        generatorCpuS: cpuSeconds(loadgen.pid) - gc0,
        clientGets: r.gets,
        errors: r.errors,
        nils: r.nils,
        failure: r.failure ?? (r.errors > 0 ? `${r.errors} error replies` : r.nils > 0 && w.id !== 'mix-zipf' ? `${r.nils} nil replies for existing keys` : null),
      };
    }
    const tc1 = t.proc ? cpuTimes(t.proc.pid) : null;
    const rc1 = cpuSeconds(redisProc.pid);
    const m1 = machineCpuSeconds();
    const h1 = harnessCpuSeconds();
    const wallS = Math.max(0.001, (Date.now() - wall0) / 1000);
    // CPU the machine spent on things this harness did not start (plus hypervisor steal)
    const foreignCores = Math.max(0, (m1.busy - m0.busy - (h1 - h0) + (m1.steal - m0.steal)) / wallS);
    if (probe) return null;
    const c1 = await redisCounters();
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
      foreignCores,
      superseded: false,
    };
  };

  // Run order groups workloads by which caching proxy they need (fewer restarts);
  // the report keeps the WORKLOADS order.
  const phase = (w: Workload): number => (w.isolate ? 2 : w.targets.includes('proxy-wan') ? 3 : w.targets.includes('proxy-cap1') ? 1 : 0);
  const execOrder = [...workloads].sort((a, b) => phase(a) - phase(b));
  // Time budget: if the remaining runs would not fit, shorten the runs that are left.
  const loopStart = Date.now();
  const reserveS = (opts.memory ? (opts.memEntries >= 500_000 ? 45 : 10) : 0) + (stalenessOn ? (opts.quick ? 5 : 10) : 0);
  let overheadS = opts.quick ? 0.4 : 0.6; // per run, beyond runSeconds; refined as we go
  let plannedDoneS = 0;
  let runsDone = 0;
  let retriesLeft = 0;
  const budgetAllowsRetry = (): boolean => {
    if (opts.budgetSeconds <= 0) return true;
    const availableS = opts.budgetSeconds - (Date.now() - t0) / 1000 - reserveS;
    return availableS - runsLeft * (runSeconds + overheadS) > runSeconds + overheadS;
  };
  // workloads may ask for more repetitions of a few targets (pairs compared as a ratio)
  const repsFor = (w: Workload, id: string): number => Math.max(opts.reps, w.minReps?.targets.includes(id) ? w.minReps.reps : 0);
  let runsLeft = execOrder.reduce((a, w) => a + w.targets.filter((id) => targets.get(id)?.ok).reduce((b, id) => b + repsFor(w, id), 0), 0);
  retriesLeft = Math.ceil(runsLeft / 3);
  for (const w of execOrder) {
    if (opts.budgetSeconds > 0 && runsLeft > 0) {
      const availableS = opts.budgetSeconds - (Date.now() - t0) / 1000 - reserveS;
      const fit = availableS / runsLeft - overheadS;
      const floor = opts.quick ? 0.3 : 1;
      if (fit < runSeconds) {
        const next = Math.max(floor, Math.round(fit * 10) / 10);
        if (next < runSeconds) {
          notes.push(`Time budget (${opts.budgetSeconds} s): runs shortened from ${runSeconds} s to ${next} s from workload ${w.id} on.`);
          log(`time budget: shortening runs to ${next} s`);
          runSeconds = next;
        }
      }
    }
    log(`${w.id}: ${w.title}`);
    const wReps = Math.max(...w.targets.map((id) => repsFor(w, id)));
    for (let rep = 0; rep < wReps; rep++) {
      for (const id of w.targets) {
        const t = targets.get(id);
        if (!t || !t.ok || rep >= repsFor(w, id)) continue;
        try {
          await ensureProxies(w.isolate ? (isCaching(id) ? [id] : []) : w.targets.filter(isCaching));
          if (!t.ok) continue;
          const pk = `${w.id}|${t.id}`;
          if (!probed.has(pk)) {
            // warm caches, JIT and (for redis-benchmark) calibrate the request count; not recorded
            await warm(w, t);
            await measure(w, t, -1, true);
            probed.add(pk);
          }
          let r = await measure(w, t, rep, false);
          // Re-run (once) when something outside the harness took a real share of the CPUs.
          if (r && r.foreignCores !== null && r.foreignCores > FOREIGN_LIMIT_CORES && retriesLeft > 0 && budgetAllowsRetry()) {
            retriesLeft--;
            log(`  rep ${rep + 1} ${t.id}: other processes used ${r.foreignCores.toFixed(2)} cores during the run — running it again`);
            const again = await measure(w, t, rep, false);
            if (again) {
              const keep = (again.foreignCores ?? 0) <= (r.foreignCores ?? 0) ? again : r;
              const drop = keep === again ? r : again;
              drop.superseded = true;
              runs.push(drop);
              r = keep;
            }
          }
          runsDone++;
          runsLeft--;
          plannedDoneS += runSeconds;
          overheadS = Math.max(0.1, ((Date.now() - loopStart) / 1000 - plannedDoneS) / runsDone);
          if (r) {
            runs.push(r);
            log(
              `  rep ${rep + 1} ${t.id.padEnd(14)} ${Math.round(r.opsPerSec).toLocaleString('en-US').padStart(10)} ops/s  p50 ${r.p50Us?.toFixed(0) ?? '-'} µs  p99 ${r.p99Us?.toFixed(0) ?? '-'} µs` +
                `${r.foreignCores !== null && r.foreignCores > FOREIGN_LIMIT_CORES ? `  (others used ${r.foreignCores.toFixed(2)} cores)` : ''}` +
                `${r.failure ? `  FAILURE: ${r.failure}` : ''}`,
            );
          }
        } catch (e) {
          const msg = (e as Error).message;
          runsLeft--;
          log(`  rep ${rep + 1} ${t.id}: FAILED ${msg}`);
          runs.push({
            workload: w.id, target: t.id, rep, tool: w.run.tool, startedAt: new Date().toISOString(), opsPerSec: 0, requests: 0, wallMs: 0,
            p50Us: null, p99Us: null, p999Us: null, targetCpuS: null, redisCpuS: 0, generatorCpuS: null, redisGetCalls: 0, redisSetCalls: 0,
            clientGets: 0, statsHitRatio: null, errors: 0, nils: 0, failure: msg, foreignCores: null, superseded: false,
          });
          if (t.proc?.exited) {
            t.ok = false;
            t.note = `process exited during ${w.id}`;
          }
        }
      }
    }
  }
  // --- staleness of direct writes (issue 4) -------------------------------------
  // Runs while the cache-on proxy is up (write workloads stop it when it is not measured).
  if (stalenessOn) {
    log(`staleness: ${opts.stalenessSamples} direct writes on Redis, reads through the cache-on proxy`);
    staleness = await stalenessPhase().catch((e: unknown) => failedStaleness(opts.stalenessSamples, `failed: ${(e as Error).message}`, false));
    log(
      staleness.failure === null
        ? `staleness: p50 ${staleness.p50Us.toFixed(0)} µs  p99 ${staleness.p99Us.toFixed(0)} µs  max ${staleness.maxUs.toFixed(0)} µs  stale reads ${staleness.staleReads}  never fresh ${staleness.neverFresh}`
        : `staleness: ${staleness.failure}`,
    );
  }
  await ensureProxies([]);

  // --- memory ----------------------------------------------------------------
  if (opts.memory && !opts.skipTargets.includes('proxy')) {
    log(`memory: ${opts.memEntries.toLocaleString('en-US')} cached 100-byte values`);
    memory = await measureMemory(ctx, {
      cli: built.cli,
      redisPort: redis.port,
      entries: opts.memEntries,
      lg,
      redisCounters,
      withCeiling: opts.memCeiling,
    }).catch((e: unknown) => emptyMemory(opts.memEntries, `failed: ${(e as Error).message}`));
    log(
      Number.isFinite(memory.overheadPerEntry)
        ? `memory: ${memory.bytesPerEntry.toFixed(0)} B/entry, ${memory.overheadPerEntry.toFixed(0)} B overhead`
        : `memory: ${memory.note}`,
    );
  }

  control.close();
  await loadgen.stop();
  finished = true;
  const jsonPath = writeResults(false);
  await stopAll();
  const shown = (f: string): string => path.relative(repoRoot, f);
  log(`wrote ${shown(jsonPath)}, ${shown(path.join(path.dirname(jsonPath), 'latest.md'))}, ${shown(path.join(path.dirname(jsonPath), 'latest.svg'))}`);
}

function addedRtt(summaries: ReturnType<typeof summarize>): number | null {
  const a = summaries.find((s) => s.workload === 'wan-lat-c1' && s.target === 'redis-wan')?.p50Us;
  const b = summaries.find((s) => s.workload === 'lat-hit-c1' && s.target === 'redis')?.p50Us;
  return a !== undefined && a !== null && b !== undefined && b !== null ? a - b : null;
}

class TimeoutError extends Error {}

/** `p`, or a TimeoutError after `ms` (p keeps running; its sockets close when the processes stop). */
function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what}: no result within ${ms / 1000} s`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

function failedStaleness(samples: number, failure: string, timedOut: boolean): StalenessReport {
  return {
    target: 'proxy',
    samplesRequested: samples,
    samples: 0,
    p50Us: Number.NaN,
    p99Us: Number.NaN,
    maxUs: Number.NaN,
    staleReads: 0,
    neverFresh: 0,
    stalePeriod: null,
    missRoundTrip: null,
    pushLag: null,
    deadlineMs: 1000,
    foreignCores: null,
    wallMs: 0,
    failure,
    timedOut,
    discarded: null,
  };
}

function emptyMemory(entries: number, note: string): MemoryResult {
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

async function measureMemory(
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

main().then(
  () => process.exit(0),
  async (e: unknown) => {
    process.stderr.write(`[bench] error: ${(e as Error).stack ?? String(e)}\n`);
    await stopAll();
    process.exit(1);
  },
);
