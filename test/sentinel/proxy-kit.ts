// A proxy (a real process) following a test's Sentinel set, with its admin listener.
import { spawn } from 'node:child_process';
import { register } from '../helpers/children.js';
import { CLI_PATH, REPO_ROOT, RawClient, cmd, getFreePort, sleep, startProxy, type ProxyProcess, type SentinelSet } from '../helpers/index.js';

export interface SentinelProxy {
  proxy: ProxyProcess;
  admin: number;
  url(path: string): string;
  stats(): Promise<SentinelStats>;
  readyz(): Promise<{ status: number; text: string }>;
  metrics(): Promise<string>;
  /** port of the primary the proxy follows, per /stats (null while none) */
  primaryPort(): Promise<number | null>;
}

export interface SentinelStats {
  cache: Record<string, number | boolean>;
  redis: { reachable: boolean; primary: string | null };
  sentinel: {
    phase: string;
    primary: string | null;
    reachable: number;
    switches: number;
    rounds: number;
    subscribedTo: string | null;
    lastError: string | null;
    sentinels: Array<{ address: string; status: string }>;
  };
}

export interface ProxyOnSetOptions {
  dataPassword?: string;
  sentinelPassword?: string;
  /** --sentinel-master (default the set's) */
  masterName?: string;
  args?: string[];
}

function argvFor(set: SentinelSet, o: ProxyOnSetOptions, admin: number): string[] {
  return [
    '--sentinel', set.sentinels.map((s) => `127.0.0.1:${s.port}`).join(','),
    '--sentinel-master', o.masterName ?? set.masterName,
    ...(o.sentinelPassword ? ['--sentinel-password', o.sentinelPassword] : []),
    '--admin-port', String(admin),
    ...(o.args ?? []),
  ];
}

function adminOf(admin: number): Omit<SentinelProxy, 'proxy'> {
  const url = (p: string) => `http://127.0.0.1:${admin}${p}`;
  const stats = async () => (await (await fetch(url('/stats'))).json()) as SentinelStats;
  return {
    admin,
    url,
    stats,
    async readyz() {
      const r = await fetch(url('/readyz'));
      return { status: r.status, text: await r.text() };
    },
    async metrics() {
      return (await fetch(url('/metrics'))).text();
    },
    async primaryPort() {
      const p = (await stats()).sentinel.primary;
      return p === null ? null : Number(p.slice(p.lastIndexOf(':') + 1));
    },
  };
}

/**
 * A proxy following `set`, once it answers PING. --addr names a host that does not exist:
 * with --sentinel only its credentials are used.
 */
export async function proxyOnSet(set: SentinelSet, o: ProxyOnSetOptions = {}): Promise<SentinelProxy> {
  const admin = await getFreePort();
  const auth = o.dataPassword ? `:${o.dataPassword}@` : '';
  const proxy = await startProxy({ redisPort: 1, addr: `redis://${auth}no-such-host.invalid:1`, args: argvFor(set, o, admin) });
  return { proxy, ...adminOf(admin) };
}

/** The proxy process alone, not waiting for anything but its admin listener (e.g. before any primary is known). */
export async function bareProxyOnSet(set: SentinelSet, o: ProxyOnSetOptions = {}): Promise<{ stop(): void; admin: Omit<SentinelProxy, 'proxy'>; output(): string }> {
  const admin = await getFreePort();
  const port = await getFreePort();
  const child = spawn(process.execPath, [CLI_PATH, '--port', String(port), ...argvFor(set, o, admin)], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  register(child);
  const a = adminOf(admin);
  for (let i = 0; ; i++) {
    try {
      await a.readyz();
      break;
    } catch (e) {
      if (i > 200 || child.exitCode !== null) throw new Error(`admin listener never answered: ${(e as Error).message}\n${out}`);
      await sleep(25);
    }
  }
  return { stop: () => child.kill('SIGKILL'), admin: a, output: () => out };
}

/** Polls until `check` holds; throws naming `what` after `ms`. */
export async function eventually(what: string, ms: number, check: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + ms;
  let last = '';
  for (;;) {
    try {
      if (await check()) return;
    } catch (e) {
      last = ` (last: ${(e as Error).message})`;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms${last}`);
    await sleep(50);
  }
}

/** One command on a fresh connection to the proxy; its first reply frame as text. */
export async function once(port: number, ...args: string[]): Promise<string> {
  const c = await RawClient.connect(port);
  try {
    c.write(cmd(...args));
    return (await c.readFrame(3000)).toString('latin1');
  } finally {
    c.destroy();
  }
}
