// The proxy under test, run as a real process: node dist/cli.js (build first: npm run build).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { exited, holdOpen, register } from './children.js';
import { pingLine } from './redis.js';
import { getFreePort, sleep, withTimeout } from './util.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI_PATH = path.join(REPO_ROOT, 'dist', 'cli.js');

export interface ProxyProcess {
  readonly port: number;
  readonly pid: number;
  /** all stdout+stderr so far */
  output(): string;
  /** resolves when `pattern` appears in the output (bounded) */
  waitForOutput(pattern: RegExp | string, timeoutMs?: number): Promise<void>;
  /** sends `signal` (default SIGTERM), resolves with the exit code (null if killed by a signal); SIGKILL after 5 s */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** SIGKILL and wait */
  kill(): Promise<void>;
  /** resolves with the exit status whenever the process ends */
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface StartProxyOptions {
  redisPort: number;
  /** --addr value to use instead of 127.0.0.1:<redisPort>, e.g. redis://:password@127.0.0.1:<port> */
  addr?: string;
  /** extra CLI arguments, appended after the defaults (so they can override --log-level) */
  args?: string[];
  /** extra environment variables */
  env?: Record<string, string>;
  /** listen port (default: a free one) */
  port?: number;
  /** how long to wait for +PONG (default 10 s) */
  timeoutMs?: number;
}

export async function startProxy(opts: StartProxyOptions): Promise<ProxyProcess> {
  if (!existsSync(CLI_PATH)) {
    throw new Error(`${CLI_PATH} does not exist: build the proxy first (npm run build)`);
  }
  const port = opts.port ?? (await getFreePort());
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const argv = [
    CLI_PATH,
    '--addr',
    opts.addr ?? `127.0.0.1:${opts.redisPort}`,
    '--port',
    String(port),
    '--log-level',
    'info',
    ...(opts.args ?? []),
  ];
  const child: ChildProcess = spawn(process.execPath, argv, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const outListeners = new Set<() => void>();
  const onOut = (d: Buffer) => {
    out += d.toString();
    for (const f of outListeners) f();
  };
  child.stdout!.on('data', onOut);
  child.stderr!.on('data', onOut);
  child.on('error', (e) => (out += `\n[spawn error] ${e.message}\n`));
  register(child);
  const exit = exited(child);

  const running = () => child.exitCode === null && child.signalCode === null;
  const describe = () => `node ${argv.map((a) => path.relative(REPO_ROOT, a) || a).join(' ')}`;

  // wait until the port accepts and answers an inline PING with +PONG (or with -NOAUTH: a
  // requirepass Redis answers unauthenticated clients so, and that reply came through the proxy)
  const deadline = Date.now() + timeoutMs;
  let last = 'nothing tried';
  await holdOpen(
    child,
    (async () => {
      for (;;) {
        if (!running()) {
          throw new Error(
            `proxy exited (code ${child.exitCode}, signal ${child.signalCode}) before answering PING.\n${describe()}\nOutput:\n${out}`,
          );
        }
        try {
          const line = await pingLine(port, 1000);
          if (line === '+PONG' || line.startsWith('-NOAUTH ')) return;
          last = `replied ${JSON.stringify(line)}`;
        } catch (e) {
          last = (e as Error).message;
        }
        if (Date.now() >= deadline) {
          child.kill('SIGKILL');
          throw new Error(
            `proxy did not answer PING with +PONG within ${timeoutMs} ms (last: ${last}).\n${describe()}\nOutput:\n${out}`,
          );
        }
        await sleep(25);
      }
    })(),
  );

  const proxy: ProxyProcess = {
    port,
    pid: child.pid!,
    exit,
    output: () => out,
    async waitForOutput(pattern, ms = 5000) {
      const test = () => (typeof pattern === 'string' ? out.includes(pattern) : pattern.test(out));
      if (test()) return;
      let listener: () => void = () => {};
      const found = new Promise<void>((resolve) => {
        listener = () => {
          if (test()) resolve();
        };
        outListeners.add(listener);
      });
      try {
        await holdOpen(child, withTimeout(found, ms, `proxy output ${String(pattern)}`));
      } catch (e) {
        throw new Error(`${(e as Error).message}. Output so far:\n${out}`);
      } finally {
        outListeners.delete(listener);
      }
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (running()) {
        child.kill(signal);
        try {
          await holdOpen(child, withTimeout(exit, 5000, 'proxy stop'));
        } catch {
          child.kill('SIGKILL');
        }
      }
      const { code } = await holdOpen(child, exit);
      return code;
    },
    async kill() {
      if (running()) child.kill('SIGKILL');
      await holdOpen(child, exit);
    },
  };
  return proxy;
}
