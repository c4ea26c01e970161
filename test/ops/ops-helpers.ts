// Shared bits of the operations tests: a Prometheus text parser, an ioredis client that
// proves its user at connect, and the CLI run with exactly its own arguments. The proxy
// fixture, /stats and polling are in ../helpers/.
import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { CLI_PATH, eventually, type AdminProxy } from '../helpers/index.js';

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
    waitFor: (pattern, ms = 5000) => eventually(`output ${String(pattern)}; output so far:\n${out}`, () => pattern.test(out), ms, 10).then(() => undefined),
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
