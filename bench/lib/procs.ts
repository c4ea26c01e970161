// Child-process bookkeeping for the harness: every process we start is registered
// here so that normal exit, an exception, Ctrl-C or SIGTERM all tear it down.
// Also: free loopback ports, readiness waits, and /proc readings (CPU, RSS).

import { spawn, execFileSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export interface Managed {
  name: string;
  proc: ChildProcess;
  pid: number;
  logFile: string | null;
  exited: boolean;
  exitCode: number | null;
}

const registry = new Set<Managed>();
const tempDirs = new Set<string>();

export function registerTempDir(dir: string): void {
  tempDirs.add(dir);
}

/** Spawn a long-lived child with stdout+stderr appended to `logFile` (or ignored). */
export function spawnManaged(
  name: string,
  cmd: string,
  args: string[],
  opts: { logFile?: string | null; cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Managed {
  const logFd = opts.logFile ? fs.openSync(opts.logFile, 'a') : null;
  const spawnOpts: SpawnOptions = {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ['ignore', logFd ?? 'ignore', logFd ?? 'ignore'],
    detached: false,
  };
  const proc = spawn(cmd, args, spawnOpts);
  if (logFd !== null) fs.closeSync(logFd);
  if (proc.pid === undefined) throw new Error(`failed to spawn ${name} (${cmd})`);
  const m: Managed = { name, proc, pid: proc.pid, logFile: opts.logFile ?? null, exited: false, exitCode: null };
  registry.add(m);
  proc.on('exit', (code) => {
    m.exited = true;
    m.exitCode = code;
    registry.delete(m);
  });
  proc.on('error', () => {
    m.exited = true;
    registry.delete(m);
  });
  return m;
}

/** Register a child spawned elsewhere (e.g. a fork()ed load generator) for cleanup. */
export function adopt(name: string, proc: ChildProcess): Managed {
  if (proc.pid === undefined) throw new Error(`${name} has no pid`);
  const m: Managed = { name, proc, pid: proc.pid, logFile: null, exited: false, exitCode: null };
  registry.add(m);
  proc.on('exit', (code) => {
    m.exited = true;
    m.exitCode = code;
    registry.delete(m);
  });
  return m;
}

export function logTail(m: Managed, lines = 15): string {
  if (!m.logFile) return '';
  try {
    const text = fs.readFileSync(m.logFile, 'utf8');
    return text.split('\n').slice(-lines).join('\n').trim();
  } catch {
    return '';
  }
}

export async function stopManaged(m: Managed, graceMs = 2000): Promise<void> {
  if (m.exited) return;
  const done = new Promise<void>((resolve) => m.proc.once('exit', () => resolve()));
  try {
    m.proc.kill('SIGTERM');
  } catch {
    /* already gone */
  }
  const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), graceMs).unref());
  if ((await Promise.race([done, timer])) === 'timeout' && !m.exited) {
    try {
      m.proc.kill('SIGKILL');
    } catch {
      /* already gone */
    }
    await Promise.race([done, new Promise((r) => setTimeout(r, 1000).unref())]);
  }
  registry.delete(m);
}

export async function stopAll(): Promise<void> {
  await Promise.all([...registry].map((m) => stopManaged(m)));
  removeTempDirs();
}

function killAllSync(): void {
  for (const m of registry) {
    try {
      m.proc.kill('SIGKILL');
    } catch {
      /* ignore */
    }
  }
  registry.clear();
  removeTempDirs();
}

function removeTempDirs(): void {
  for (const d of tempDirs) {
    try {
      fs.rmSync(d, { recursive: true, force: true });
    } catch {
      /* ignore */
    }
  }
  tempDirs.clear();
}

let handlersInstalled = false;

/**
 * On SIGINT/SIGTERM: run `onSignal` (e.g. write partial results), stop children, exit.
 * On any exit path: SIGKILL whatever is still registered (synchronous last resort).
 */
export function installCleanupHandlers(onSignal: (sig: string) => Promise<void> | void): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  let stopping = false;
  const handler = (sig: NodeJS.Signals): void => {
    if (stopping) {
      killAllSync();
      process.exit(130);
    }
    stopping = true;
    process.stderr.write(`\n[bench] ${sig}: stopping child processes...\n`);
    const hardExit = setTimeout(() => {
      killAllSync();
      process.exit(130);
    }, 8000);
    hardExit.unref();
    Promise.resolve()
      .then(() => onSignal(sig))
      .catch(() => undefined)
      .then(() => stopAll())
      .finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  process.on('SIGHUP', handler);
  process.on('exit', killAllSync);
}

/** Ask the kernel for `n` distinct free loopback ports (held open together, then released). */
export async function freePorts(n: number): Promise<number[]> {
  const servers: net.Server[] = [];
  const ports: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const s = net.createServer();
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(0, '127.0.0.1', () => resolve());
      });
      servers.push(s);
      const addr = s.address();
      if (addr === null || typeof addr === 'string') throw new Error('no port');
      ports.push(addr.port);
    }
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
  return ports;
}

export async function canConnect(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host });
    const t = setTimeout(() => {
      s.destroy();
      resolve(false);
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(t);
      s.destroy();
      resolve(true);
    });
    s.once('error', () => {
      clearTimeout(t);
      resolve(false);
    });
  });
}

/** Poll until `port` accepts connections; fails early when `m` exits. Bounded by `timeoutMs`. */
export async function waitForPort(port: number, timeoutMs: number, m?: Managed): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; attempt < 10_000 && Date.now() < deadline; attempt++) {
    if (m?.exited) throw new Error(`${m.name} exited (code ${m.exitCode}) before listening on ${port}`);
    if (await canConnect(port)) return;
    await sleep(50);
  }
  throw new Error(`nothing listening on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

let clkTck = 0;
export function ticksPerSecond(): number {
  if (clkTck === 0) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

/** utime and stime of a process in seconds (NaN when unreadable). */
export function cpuTimes(pid: number): { user: number; system: number } {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may contain spaces: fields start after the last ')'
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state); utime is field 14, stime field 15
    return { user: Number(rest[11]) / ticksPerSecond(), system: Number(rest[12]) / ticksPerSecond() };
  } catch {
    return { user: Number.NaN, system: Number.NaN };
  }
}

/** utime+stime of a process in seconds (NaN when unreadable). */
export function cpuSeconds(pid: number): number {
  const t = cpuTimes(pid);
  return t.user + t.system;
}

/** VmRSS of a process in bytes (NaN when unreadable). */
export function rssBytes(pid: number): number {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return m ? Number(m[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Run a command to completion, capturing output; killed after `timeoutMs`. */
export function runCapture(
  name: string,
  cmd: string,
  args: string[],
  timeoutMs: number,
  opts: { cwd?: string } = {},
): Promise<{ code: number | null; stdout: string; stderr: string; timedOut: boolean; pid: number }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(cmd, args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    if (proc.pid === undefined) {
      proc.once('error', reject);
      return;
    }
    const m = adopt(name, proc);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    proc.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    proc.stderr?.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < 64_000) stderr += d;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      void stopManaged(m, 500);
    }, timeoutMs);
    proc.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    proc.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut, pid: m.pid });
    });
  });
}

export function which(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/local/sbin', '/sbin'])) {
    if (!dir) continue;
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return null;
}

/** Machine-wide CPU seconds from /proc/stat: busy (user+nice+system+irq+softirq) and steal. */
export function machineCpuSeconds(): { busy: number; steal: number } {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal guest guest_nice (guest is included in user)
    const busy = f[0] + f[1] + f[2] + f[5] + f[6];
    return { busy: busy / ticksPerSecond(), steal: (f[7] ?? 0) / ticksPerSecond() };
  } catch {
    return { busy: Number.NaN, steal: Number.NaN };
  }
}

/**
 * CPU seconds used by this harness and everything it started: every registered
 * child plus this process, including children it has already reaped (cutime/cstime).
 */
export function harnessCpuSeconds(): number {
  let sum = 0;
  for (const m of registry) {
    const c = cpuSeconds(m.pid);
    if (Number.isFinite(c)) sum += c;
  }
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    sum += (Number(rest[11]) + Number(rest[12]) + Number(rest[13]) + Number(rest[14])) / ticksPerSecond();
  } catch {
    /* ignore */
  }
  return sum;
}
