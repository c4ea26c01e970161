// Issue 14's figure on its own, A/B: connect-per-request clients through the proxy in
// front of a Redis that wants a password (each connects, `AUTH app pw`, `GET`, closes)
// against the same clients through the proxy in front of an open Redis (connect, `GET`,
// close). The two run in turns, round after round, so that a shared machine's drifts hit
// both alike; each round prints both rates, the proxies' CPU per request and their ratio,
// and the end the ratios' median (the target: ≥ 0.9). Beside the rate ratio, the ratio of
// the proxies' CPU per request (open over authenticated): what the rates' ratio would be
// with the proxy the bottleneck, and much less moved by other work on a shared machine.
// Each round also runs the same two workloads against the two Redis servers directly: their
// ratio is what the AUTH's own round trip costs these clients without any proxy, the floor.
//
//   node --import tsx bench/ab-auth.ts [--rounds 5] [--seconds 2] [-c 16] [--cli dist/cli.js] [--json out.json]
//
// Uses the built CLI (npm run build first) and bench/loadgen.ts in a child of its own.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LoadgenClient } from './lib/loadgen-client.js';
import { cpuSeconds, freePorts, harnessCpuSeconds, installCleanupHandlers, machineCpuSeconds, registerTempDir, spawnManaged, stopAll, waitForPort, type Managed } from './lib/procs.js';
import { MiniClient } from './lib/resp.js';
import type { LoadResult, LoadSpec } from './loadgen.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** the ACL user the clients authenticate as (the proxy's --addr names it too) */
const USER = 'app';
const PASSWORD = 'app-pw';
/** the default user's password on the locked Redis (requirepass) */
const ADMIN_PASSWORD = 'admin-pw';
/** a round counts as quiet when neither of its runs saw more other work than this (cores; the bench's threshold too) */
const QUIET_CORES = 0.3;
/** the one key every request reads: loadgen names it prefix + 12 digits */
const KEY_PREFIX = 'hot:';
const KEY = `${KEY_PREFIX}000000000000`;

interface Options {
  rounds: number;
  seconds: number;
  connections: number;
  cli: string;
  json: string | null;
}

function parseOptions(argv: string[]): Options {
  const o: Options = { rounds: 5, seconds: 2, connections: 16, cli: path.join(repoRoot, 'dist', 'cli.js'), json: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[++i];
    const num = (): number => {
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0) throw new Error(`${a} needs a positive number`);
      return n;
    };
    if (a === '--rounds') o.rounds = num();
    else if (a === '--seconds') o.seconds = num();
    else if (a === '-c' || a === '--connections') o.connections = num();
    else if (a === '--cli') o.cli = path.resolve(v);
    else if (a === '--json') o.json = path.resolve(v);
    else throw new Error(`unknown option ${a} (see the head of bench/ab-auth.ts)`);
  }
  return o;
}

/** One side of the A/B: a Redis, the proxy in front of it, and what its clients send first. */
interface Side {
  name: string;
  redis: Managed;
  proxy: Managed;
  proxyPort: number;
  redisPort: number;
  auth: string[];
}

async function startSide(name: string, locked: boolean, o: Options, tmp: string): Promise<Side> {
  const [redisPort, proxyPort] = await freePorts(2);
  const redisArgs = ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tmp, '--dbfilename', `${name}.rdb`, '--maxclients', '10000'];
  if (locked) redisArgs.push('--requirepass', ADMIN_PASSWORD, '--user', USER, 'on', `>${PASSWORD}`, '~*', '+@all');
  const redis = spawnManaged(`redis-${name}`, 'redis-server', redisArgs, { logFile: path.join(tmp, `redis-${name}.log`) });
  await waitForPort(redisPort, 10_000, redis);
  const c = await MiniClient.connect(redisPort);
  if (locked) await c.command(['AUTH', USER, PASSWORD]);
  await c.command(['SET', KEY, 'v'.repeat(100)]);
  c.close();
  const addr = locked ? `redis://${USER}:${PASSWORD}@127.0.0.1:${redisPort}` : `127.0.0.1:${redisPort}`;
  const proxy = spawnManaged(`proxy-${name}`, process.execPath, [o.cli, '--addr', addr, '--port', String(proxyPort), '--log-level', 'warn'], {
    logFile: path.join(tmp, `proxy-${name}.log`),
    cwd: repoRoot,
  });
  await waitForPort(proxyPort, 15_000, proxy);
  return { name, redis, proxy, proxyPort, redisPort, auth: locked ? [USER, PASSWORD] : [] };
}

interface Run {
  round: number;
  side: string;
  opsPerSec: number;
  p50Us: number;
  /** the proxy's CPU (user + system) per request */
  proxyCpuUs: number;
  /** Redis's, per request */
  redisCpuUs: number;
  /** the load generator's, per request: it shares the machine's cores with the proxy */
  clientCpuUs: number;
  /** cores busy with work other than this tool's processes during the run (steal included) */
  foreignCores: number;
  failure: string | null;
}

/** direct: the clients talk to the side's Redis itself (what the AUTH round trip costs without a proxy) */
async function measure(lg: LoadgenClient, side: Side, o: Options, round: number, seconds: number, direct = false): Promise<Run> {
  const spec: Partial<LoadSpec> = {
    port: direct ? side.redisPort : side.proxyPort,
    connections: o.connections,
    durationMs: seconds * 1000,
    keyPrefix: KEY_PREFIX,
    keyspace: 1,
    connectPerRequest: true,
    auth: side.auth,
  };
  const p0 = cpuSeconds(side.proxy.pid);
  const r0 = cpuSeconds(side.redis.pid);
  const l0 = cpuSeconds(lg.pid);
  const m0 = machineCpuSeconds();
  const h0 = harnessCpuSeconds();
  const t0 = Date.now();
  const r: LoadResult = await lg.run(spec);
  const m1 = machineCpuSeconds();
  const foreign = (m1.busy - m0.busy + m1.steal - m0.steal - (harnessCpuSeconds() - h0)) / ((Date.now() - t0) / 1000);
  const perReq = (s: number): number => (r.requests > 0 ? (s * 1e6) / r.requests : Number.NaN);
  return {
    round,
    side: direct ? `${side.name}-direct` : side.name,
    opsPerSec: r.opsPerSec,
    p50Us: r.latencyUs.p50,
    proxyCpuUs: direct ? 0 : perReq(cpuSeconds(side.proxy.pid) - p0),
    redisCpuUs: perReq(cpuSeconds(side.redis.pid) - r0),
    clientCpuUs: perReq(cpuSeconds(lg.pid) - l0),
    foreignCores: Math.max(0, foreign),
    failure: r.failure ?? (r.errors > 0 || r.nils > 0 ? `${r.errors} errors, ${r.nils} nils` : null),
  };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? Number.NaN : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  if (!fs.existsSync(o.cli)) throw new Error(`${o.cli} is missing: npm run build first`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'redisproxy-ab-auth-'));
  registerTempDir(tmp);
  installCleanupHandlers(() => undefined);
  const locked = await startSide('auth', true, o, tmp);
  const open = await startSide('open', false, o, tmp);
  const lg = await LoadgenClient.start(repoRoot);
  // warm-up, not recorded: fills each proxy's cache and warms the JIT of all three processes
  for (const s of [locked, open]) await measure(lg, s, o, 0, 1);
  const runs: Run[] = [];
  const ratios: number[] = [];
  const cpuRatios: number[] = [];
  /** the rate ratios of the rounds that were quiet */
  const quietRatios: number[] = [];
  /** direct Redis's own ratio of the same two workloads, per round: the floor the AUTH's round trip sets */
  const directRatios: number[] = [];
  const fmt = (r: Run): string => `${r.opsPerSec.toFixed(0).padStart(6)} ops/s, proxy ${r.proxyCpuUs.toFixed(0).padStart(3)} µs/req, Redis ${r.redisCpuUs.toFixed(0).padStart(2)}, clients ${r.clientCpuUs.toFixed(0).padStart(3)} µs/req, other work ${r.foreignCores.toFixed(2)} cores${r.failure ? ` (${r.failure})` : ''}`;
  process.stdout.write(`${o.connections} connect-per-request clients, ${o.seconds} s per run, ${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(2)}\n`);
  for (let round = 1; round <= o.rounds; round++) {
    // alternate which goes first, so neither always follows the other
    const order = round % 2 === 1 ? [locked, open] : [open, locked];
    const got = new Map<string, Run>();
    for (const direct of [false, true]) {
      for (const s of order) {
        const r = await measure(lg, s, o, round, o.seconds, direct);
        runs.push(r);
        got.set(r.side, r);
      }
    }
    const a = got.get('auth') as Run;
    const b = got.get('open') as Run;
    const ratio = a.opsPerSec / b.opsPerSec;
    const cpuRatio = b.proxyCpuUs / a.proxyCpuUs;
    const directRatio = (got.get('auth-direct') as Run).opsPerSec / (got.get('open-direct') as Run).opsPerSec;
    directRatios.push(directRatio);
    ratios.push(ratio);
    cpuRatios.push(cpuRatio);
    if (a.foreignCores <= QUIET_CORES && b.foreignCores <= QUIET_CORES) quietRatios.push(ratio);
    process.stdout.write(`round ${round}: AUTH+GET (requirepass) ${fmt(a)} | GET (open) ${fmt(b)} | ratio ${ratio.toFixed(3)}, CPU ratio ${cpuRatio.toFixed(3)}; direct Redis: ${got.get('auth-direct')?.opsPerSec.toFixed(0)} vs ${got.get('open-direct')?.opsPerSec.toFixed(0)} ops/s, ratio ${directRatio.toFixed(3)}\n`);
  }
  const med = median(ratios);
  const side = (n: string, f: (r: Run) => number): number => median(runs.filter((r) => r.side === n).map(f));
  process.stdout.write(
    `median: AUTH+GET ${side('auth', (r) => r.opsPerSec).toFixed(0)} ops/s (proxy ${side('auth', (r) => r.proxyCpuUs).toFixed(0)}, clients ${side('auth', (r) => r.clientCpuUs).toFixed(0)} µs/req), ` +
      `GET ${side('open', (r) => r.opsPerSec).toFixed(0)} ops/s (proxy ${side('open', (r) => r.proxyCpuUs).toFixed(0)}, clients ${side('open', (r) => r.clientCpuUs).toFixed(0)} µs/req); ` +
      `ratio median ${med.toFixed(3)} (min ${Math.min(...ratios).toFixed(3)}, max ${Math.max(...ratios).toFixed(3)}): ${med >= 0.9 ? 'within' : 'NOT within'} 10%; ` +
      `CPU ratio median ${median(cpuRatios).toFixed(3)} (min ${Math.min(...cpuRatios).toFixed(3)}, max ${Math.max(...cpuRatios).toFixed(3)}); ` +
      `other work: median ${median(runs.map((r) => r.foreignCores)).toFixed(2)} cores, max ${Math.max(...runs.map((r) => r.foreignCores)).toFixed(2)}; ` +
      `quiet rounds (other work ≤ ${QUIET_CORES} cores in both runs): ${quietRatios.length}, ratio median ${quietRatios.length > 0 ? median(quietRatios).toFixed(3) : 'n/a'}; ` +
      `direct Redis, the same two workloads: ratio median ${median(directRatios).toFixed(3)} (min ${Math.min(...directRatios).toFixed(3)}, max ${Math.max(...directRatios).toFixed(3)})\n`,
  );
  if (o.json) fs.writeFileSync(o.json, JSON.stringify({ options: o, runs, ratios, median: med, cpuRatios, cpuMedian: median(cpuRatios), quietRatios, quietMedian: median(quietRatios), directRatios, directMedian: median(directRatios), loadavg: os.loadavg() }, null, 2));
  await lg.stop();
}

main()
  .catch((e: unknown) => {
    process.stderr.write(`ab-auth: ${(e as Error).message}\n`);
    process.exitCode = 1;
  })
  .finally(() => stopAll());
