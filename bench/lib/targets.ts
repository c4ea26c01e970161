// Starting the things we measure: redis-server, RedisProxy (the real CLI),
// twemproxy, the two reference servers and the delay relay. Every process goes
// through spawnManaged so it is torn down on exit.

import fs from 'node:fs';
import path from 'node:path';
import { MiniClient } from './resp.js';
import {
  freePorts,
  logTail,
  runCapture,
  sleep,
  spawnManaged,
  stopManaged,
  waitForPort,
  which,
  type Managed,
} from './procs.js';

/** [user, password] of the ACL user the authenticated workloads AUTH as */
export const BENCH_USER = ['bench', 'bench-pw'] as const;

export type TargetKind = 'redis' | 'proxy' | 'twemproxy' | 'ceiling' | 'relay';

export interface Target {
  /** stable id used in results: redis, proxy, proxy-ttl, proxy-cap1, proxy-cap1-ttl, proxy-nocache, twemproxy, ceiling, relay, *-wan */
  id: string;
  label: string;
  kind: TargetKind;
  port: number;
  /** the process that does the target's work (null: direct Redis, measured as Redis) */
  proc: Managed | null;
  adminPort: number | null;
  ok: boolean;
  note: string;
  /** true when the target has its own storage (the ceiling server) and needs its own prefill */
  ownStorage: boolean;
  /** extra facts for the report (flags, config) */
  detail: string;
}

export interface Ctx {
  repoRoot: string;
  tmpDir: string;
  log: (msg: string) => void;
}

export async function startRedis(ctx: Ctx): Promise<{ target: Target; proc: Managed }> {
  const [port] = await freePorts(1);
  const dir = path.join(ctx.tmpDir, 'redis');
  fs.mkdirSync(dir, { recursive: true });
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--save', '',
    '--appendonly', 'no',
    '--dir', dir,
    '--daemonize', 'no',
    '--protected-mode', 'no',
    '--loglevel', 'warning',
    '--maxclients', '10000',
    // as the README asks of a Redis behind a cache of 1,000,000 keys (the memory probe)
    '--tracking-table-max-keys', '0',
    // the ACL user of the authenticated rows (auth-*): the same Redis, the same proxy, with AUTH
    '--user', BENCH_USER[0], 'on', `>${BENCH_USER[1]}`, '~*', '+@all',
  ];
  const proc = spawnManaged('redis-server', 'redis-server', args, { logFile: path.join(ctx.tmpDir, 'redis.log') });
  await waitForPort(port, 10_000, proc);
  const c = await MiniClient.connect(port);
  for (let i = 0; i < 50; i++) {
    const r = await c.command(['PING']).catch(() => null);
    if (r === 'PONG') break;
    await sleep(100);
  }
  c.close();
  return {
    proc,
    target: {
      id: 'redis',
      label: 'direct Redis',
      kind: 'redis',
      port,
      proc: null,
      adminPort: null,
      ok: true,
      note: '',
      ownStorage: false,
      detail: `redis-server ${args.join(' ').replace("--save  ", "--save '' ")}`,
    },
  };
}

function newestMtime(dir: string): number {
  let newest = 0;
  const walk = (d: string, depth: number): void => {
    if (depth > 8) return;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p, depth + 1);
      else newest = Math.max(newest, fs.statSync(p).mtimeMs);
    }
  };
  walk(dir, 0);
  return newest;
}

/** Build dist/cli.js when it is missing or older than src/. Returns a human note. */
export async function ensureProxyBuilt(ctx: Ctx, allowBuild: boolean): Promise<{ cli: string | null; note: string }> {
  const cli = path.join(ctx.repoRoot, 'dist', 'cli.js');
  const exists = fs.existsSync(cli);
  const stale = exists && fs.statSync(cli).mtimeMs < newestMtime(path.join(ctx.repoRoot, 'src'));
  if (exists && !stale) return { cli, note: '' };
  if (!allowBuild) return exists ? { cli, note: 'dist/cli.js is older than src/ (build skipped)' } : { cli: null, note: 'dist/cli.js missing (build skipped)' };
  ctx.log(`dist/cli.js ${exists ? 'is stale' : 'is missing'}: running tsc -p tsconfig.json`);
  const tsc = path.join(ctx.repoRoot, 'node_modules', '.bin', 'tsc');
  const r = await runCapture('tsc', tsc, ['-p', 'tsconfig.json'], 240_000, { cwd: ctx.repoRoot }).catch(
    (e: unknown) => ({ code: 1, stdout: '', stderr: String(e), timedOut: false, pid: 0 }),
  );
  if (r.code !== 0) {
    const msg = (r.stdout + r.stderr).split('\n').slice(0, 5).join(' | ');
    if (fs.existsSync(cli)) return { cli, note: `build failed, using existing dist/cli.js: ${msg}` };
    return { cli: null, note: `build failed and dist/cli.js missing: ${msg}` };
  }
  return fs.existsSync(cli) ? { cli, note: '' } : { cli: null, note: 'build succeeded but dist/cli.js was not produced' };
}

export interface ProxyOptions {
  id: string;
  label: string;
  cli: string | null;
  upstreamPort: number;
  capacity: number;
  ttlSeconds: number;
  withAdmin: boolean;
  /** 'ttl' adds `--coherence ttl` (no CLIENT TRACKING); default: the CLI's default (tracking) */
  coherence?: 'tracking' | 'ttl';
}

/** Start RedisProxy via its real CLI. Never throws: a failed start yields ok=false with the reason. */
export async function startProxy(ctx: Ctx, o: ProxyOptions): Promise<Target> {
  const [port, adminPort] = await freePorts(2);
  const base: Target = {
    id: o.id,
    label: o.label,
    kind: 'proxy',
    port,
    proc: null,
    adminPort: null,
    ok: false,
    note: '',
    ownStorage: false,
    detail: '',
  };
  if (o.cli === null) return { ...base, note: 'RedisProxy CLI not available' };
  const baseArgs = [
    o.cli,
    '--addr', `127.0.0.1:${o.upstreamPort}`,
    '--port', String(port),
    '--capacity', String(o.capacity),
    '--ttl', String(o.ttlSeconds),
    '--log-level', 'warn',
    ...(o.coherence === 'ttl' ? ['--coherence', 'ttl'] : []),
  ];
  const attempts: Array<{ args: string[]; admin: number | null }> = o.withAdmin
    ? [
        { args: [...baseArgs, '--admin-port', String(adminPort)], admin: adminPort },
        { args: baseArgs, admin: null },
      ]
    : [{ args: baseArgs, admin: null }];
  let lastErr = '';
  for (const a of attempts) {
    const logFile = path.join(ctx.tmpDir, `${o.id}.log`);
    const proc = spawnManaged(o.id, process.execPath, a.args, { logFile, cwd: ctx.repoRoot });
    try {
      await waitForPort(port, 15_000, proc);
      // it must answer through to Redis
      const c = await MiniClient.connect(port);
      try {
        const pong = await c.command(['PING'], 5000);
        if (pong !== 'PONG') throw new Error(`PING answered ${String(pong)}`);
      } finally {
        c.close();
      }
      let adminOk: number | null = null;
      // retried: on a loaded machine the first answers can take longer than fetchStats waits
      for (let i = 0; a.admin !== null && adminOk === null && i < 5; i++) {
        if ((await fetchStats(a.admin)) !== null) adminOk = a.admin;
        else await sleep(500);
      }
      // a caching proxy serves from its cache only once its invalidation link is up
      if (adminOk !== null && o.capacity > 0) await waitReady(adminOk, 10_000);
      else await sleep(300);
      const detail = `node dist/cli.js ${a.args.slice(1).join(' ')}`;
      return { ...base, proc, adminPort: adminOk, ok: true, detail, note: a.admin !== null && adminOk === null ? 'admin /stats not answering' : '' };
    } catch (e) {
      lastErr = `${(e as Error).message}${logTail(proc) ? ` — log: ${logTail(proc, 6).replace(/\s+/g, ' ').slice(0, 400)}` : ''}`;
      await stopManaged(proc, 1000);
    }
  }
  ctx.log(`${o.id}: failed to start: ${lastErr}`);
  return { ...base, note: `failed to start: ${lastErr}` };
}

/** Poll the admin /readyz until it answers 200 (bounded). */
async function waitReady(adminPort: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 500 && Date.now() < deadline; i++) {
    try {
      const res = await fetch(`http://127.0.0.1:${adminPort}/readyz`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return true;
      if (res.status === 404) return false;
    } catch {
      /* retry */
    }
    await sleep(50);
  }
  return false;
}

/** GET /stats from the proxy's admin port; null when unavailable. */
export async function fetchStats(adminPort: number): Promise<unknown> {
  try {
    const res = await fetch(`http://127.0.0.1:${adminPort}/stats`, { signal: AbortSignal.timeout(2000) });
    if (!res.ok) return null;
    return (await res.json()) as unknown;
  } catch {
    return null;
  }
}

/** Find cache hit/miss counters in an unknown /stats JSON shape. */
export function extractHitMiss(stats: unknown): { hits: number; misses: number; entries: number | null } | null {
  let hits: number | null = null;
  let misses: number | null = null;
  let entries: number | null = null;
  const visit = (v: unknown, depth: number): void => {
    if (depth > 6 || v === null || typeof v !== 'object') return;
    for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
      if (typeof val === 'number') {
        if (hits === null && /^(cache_?)?hits?(_total)?$/i.test(k)) hits = val;
        else if (misses === null && /^(cache_?)?miss(es)?(_total)?$/i.test(k)) misses = val;
        else if (entries === null && /^(cache_?)?(entries|size|keys|items|count)$/i.test(k)) entries = val;
      } else visit(val, depth + 1);
    }
  };
  visit(stats, 0);
  if (hits === null || misses === null) return null;
  return { hits, misses, entries };
}

export async function ensureNutcracker(ctx: Ctx): Promise<string | null> {
  const found = which('nutcracker');
  if (found) return found;
  ctx.log('nutcracker missing: apt-get install -y nutcracker');
  const r = await runCapture('apt-get', 'apt-get', ['install', '-y', 'nutcracker'], 300_000).catch(() => null);
  if (r === null || r.code !== 0) return null;
  return which('nutcracker');
}

export async function startTwemproxy(ctx: Ctx, bin: string | null, id: string, label: string, upstreamPort: number): Promise<Target> {
  const [port, statsPort] = await freePorts(2);
  const base: Target = { id, label, kind: 'twemproxy', port, proc: null, adminPort: null, ok: false, note: '', ownStorage: false, detail: '' };
  if (bin === null) return { ...base, note: 'nutcracker not installed' };
  const dir = path.join(ctx.tmpDir, id);
  fs.mkdirSync(dir, { recursive: true });
  const conf = path.join(dir, 'nutcracker.yml');
  fs.writeFileSync(
    conf,
    [
      'bench:',
      `  listen: 127.0.0.1:${port}`,
      '  redis: true',
      '  preconnect: true',
      '  hash: fnv1a_64',
      '  distribution: ketama',
      '  auto_eject_hosts: false',
      '  server_connections: 1',
      '  servers:',
      `   - 127.0.0.1:${upstreamPort}:1`,
      '',
    ].join('\n'),
  );
  const args = ['-c', conf, '-o', path.join(dir, 'nutcracker.log'), '-s', String(statsPort), '-a', '127.0.0.1', '-p', path.join(dir, 'nutcracker.pid'), '-v', '4'];
  const proc = spawnManaged(id, bin, args, { logFile: path.join(dir, 'stdout.log') });
  try {
    await waitForPort(port, 10_000, proc);
    const c = await MiniClient.connect(port);
    try {
      const r = await c.command(['GET', '__bench_probe__'], 5000);
      if (r instanceof Error) throw r;
    } finally {
      c.close();
    }
  } catch (e) {
    await stopManaged(proc, 1000);
    return { ...base, note: `failed to start: ${(e as Error).message}` };
  }
  return { ...base, proc, ok: true, detail: `nutcracker (one pool, 1 server connection, preconnect) -> 127.0.0.1:${upstreamPort}` };
}

/** Start one of the bench/ TypeScript servers (ceiling, relay, delay relay) as its own node process. */
export async function startNodeServer(
  ctx: Ctx,
  o: { id: string; label: string; kind: TargetKind; script: string; args: string[]; ownStorage: boolean },
): Promise<Target> {
  const [port] = await freePorts(1);
  const args = ['--import', 'tsx', path.join(ctx.repoRoot, o.script), '--port', String(port), ...o.args];
  const proc = spawnManaged(o.id, process.execPath, args, { logFile: path.join(ctx.tmpDir, `${o.id}.log`), cwd: ctx.repoRoot });
  const t: Target = { id: o.id, label: o.label, kind: o.kind, port, proc, adminPort: null, ok: false, note: '', ownStorage: o.ownStorage, detail: `node ${o.script} ${o.args.join(' ')}`.trim() };
  try {
    await waitForPort(port, 20_000, proc);
    t.ok = true;
  } catch (e) {
    t.note = `failed to start: ${(e as Error).message}`;
    await stopManaged(proc, 1000);
    t.proc = null;
  }
  return t;
}
