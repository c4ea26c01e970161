// Shared bits of the operations tests: an admin-enabled proxy, a Prometheus text
// parser, bounded polling, and an ioredis client that proves its user at connect.
import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { CLI_PATH, getFreePort, startProxy, type ProxyProcess, type RedisServer, type StartProxyOptions } from '../helpers/index.js';

export interface AdminProxy {
  proxy: ProxyProcess;
  admin: number;
  url(path: string): string;
}

/** A proxy with the admin listener on a free port, started once its link is up. */
export async function adminProxy(redis: RedisServer, opts: Partial<StartProxyOptions> & { adminPort?: number } = {}): Promise<AdminProxy> {
  const admin = opts.adminPort ?? (await getFreePort());
  const args = opts.adminPort === undefined ? ['--admin-port', String(admin), ...(opts.args ?? [])] : opts.args ?? [];
  const proxy = await startProxy({ redisPort: redis.port, ...opts, args });
  const url = (path: string) => `http://127.0.0.1:${admin}${path}`;
  await eventually(async () => (await fetch(url('/readyz'))).status === 200, 5000, 'proxy ready');
  return { proxy, admin, url };
}

/** Prometheus text exposition → `name{labels}` (labels as written) → value. */
export function parseMetrics(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    m.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return m;
}

export async function scrape(p: AdminProxy): Promise<Map<string, number>> {
  const res = await fetch(p.url('/metrics'));
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return parseMetrics(await res.text());
}

export async function stats(p: AdminProxy): Promise<{ cache: Record<string, number>; link: { state: string } | null; clients: Record<string, number> }> {
  return (await (await fetch(p.url('/stats'))).json()) as never;
}

/** Poll `check` until it passes; throws naming `what` after `ms`. */
export async function eventually(check: () => Promise<boolean> | boolean, ms: number, what: string, stepMs = 10): Promise<void> {
  const deadline = Date.now() + ms;
  let last: unknown = null;
  for (;;) {
    try {
      if (await check()) return;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** ioredis runs INFO on connect, so the session knows its user and its GETs may use the cache. */
export function client(port: number): Redis {
  return new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null });
}

export interface CliProcess {
  child: ChildProcess;
  output(): string;
  waitFor(pattern: RegExp, ms?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * `node dist/cli.js <args>` with exactly these arguments (startProxy always adds
 * --log-level, which would beat a level set in a config file); resolves once `ready`
 * appears in its output.
 */
export async function spawnCli(args: string[], ready: RegExp, env: Record<string, string> = {}): Promise<CliProcess> {
  const child = spawn(process.execPath, [CLI_PATH, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const proc: CliProcess = {
    child,
    output: () => out,
    waitFor: (pattern, ms = 5000) => eventually(() => pattern.test(out), ms, `output ${String(pattern)}; output so far:\n${out}`),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
  try {
    await proc.waitFor(ready, 10_000);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  return proc;
}
