// Real redis-server processes on free ports (no mocks), with stop/kill/freeze/restart.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { exited, holdOpen, register } from './children.js';
import { getFreePort, sleep, withTimeout } from './util.js';

export interface RedisServer {
  readonly port: number;
  /** pid of the current process (changes after restart()) */
  readonly pid: number;
  /** everything the current process wrote to stdout/stderr */
  output(): string;
  /** graceful: thaws if frozen, SIGTERM (no save: --save ''), waits for exit; SIGKILL after 5 s */
  stop(): Promise<void>;
  /** SIGKILL and wait for exit */
  kill(): Promise<void>;
  /** SIGSTOP: the port keeps accepting (kernel backlog) but nothing is answered */
  freeze(): void;
  /** SIGCONT */
  thaw(): void;
  /** starts a new redis-server on the SAME port and arguments (stopping the old one first if running) */
  restart(): Promise<void>;
  /** runs redis-cli -p <port> <args...> and resolves with its stdout (redis-cli's default, non-tty output) */
  cli(...args: string[]): Promise<string>;
}

export const REDIS_SERVER = process.env.REDIS_SERVER_BIN ?? 'redis-server';
export const REDIS_CLI = process.env.REDIS_CLI_BIN ?? 'redis-cli';
const START_TIMEOUT_MS = 10_000;

/**
 * Runs redis-cli -h 127.0.0.1 -p <port> <args...> (optionally feeding `input` on stdin, e.g.
 * for --pipe) and resolves with its stdout: redis-cli's default output when stdout is not a
 * tty (raw replies, one per line). Rejects on a non-zero exit status, with stderr.
 */
export function redisCli(port: number, args: string[], opts: { input?: string | Buffer; timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      REDIS_CLI,
      ['-h', '127.0.0.1', '-p', String(port), ...args],
      { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, timeout: opts.timeoutMs ?? 30_000 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`redis-cli ${args.join(' ')} failed: ${err.message}\n${stderr}\n${stdout}`));
        else resolve(stdout);
      },
    );
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    else child.stdin!.end();
  });
}

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** Sends an inline PING; resolves with the first reply line (e.g. "+PONG", "-NOAUTH ..."). */
export function pingLine(port: number, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    let data = '';
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error('no PING reply'));
    }, timeoutMs);
    s.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => {
      data += d.toString('latin1');
      const i = data.indexOf('\r\n');
      if (i >= 0) {
        clearTimeout(t);
        s.destroy();
        resolve(data.slice(0, i));
      }
    });
    s.on('close', () => {
      clearTimeout(t);
      reject(new Error(`closed before replying (got "${data}")`));
    });
  });
}

function spawnRedis(port: number, args: string[]): { child: ChildProcess; out: { text: string } } {
  const argv = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', ...args];
  const child = spawn(REDIS_SERVER, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { text: '' };
  child.stdout!.on('data', (d: Buffer) => (out.text += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out.text += d.toString()));
  child.on('error', (e) => (out.text += `\n[spawn error] ${e.message}\n`));
  register(child);
  return { child, out };
}

/** Waits until the server answers PING (any reply but -LOADING means it is serving). */
async function waitReady(child: ChildProcess, port: number, out: { text: string }): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let last = '';
  await holdOpen(
    child,
    (async () => {
      while (Date.now() < deadline) {
        if (!isRunning(child)) {
          throw new Error(
            `redis-server on port ${port} exited (code ${child.exitCode}, signal ${child.signalCode}) before answering PING. Output:\n${out.text}`,
          );
        }
        try {
          const line = await pingLine(port, 500);
          if (!line.startsWith('-LOADING')) return;
          last = line;
        } catch (e) {
          last = (e as Error).message;
        }
        await sleep(20);
      }
      try {
        child.kill('SIGKILL');
      } catch {
        /* gone */
      }
      throw new Error(
        `redis-server on port ${port} did not answer PING within ${START_TIMEOUT_MS} ms (last: ${last}). Output:\n${out.text}`,
      );
    })(),
  );
}

export async function startRedis(opts: { args?: string[] } = {}): Promise<RedisServer> {
  const args = opts.args ?? [];
  let child: ChildProcess | undefined;
  let out = { text: '' };
  let port = 0;
  // a free port can be taken by someone else between getFreePort() and bind: retry then
  for (let attempt = 1; ; attempt++) {
    port = await getFreePort();
    ({ child, out } = spawnRedis(port, args));
    try {
      await waitReady(child, port, out);
      break;
    } catch (e) {
      if (attempt < 3 && /Address already in use/i.test(out.text)) continue;
      throw e;
    }
  }

  let current: ChildProcess = child;
  let currentOut = out;
  const fixedPort = port;

  const server: RedisServer = {
    port: fixedPort,
    get pid() {
      return current.pid!;
    },
    output: () => currentOut.text,
    async stop() {
      const c = current;
      if (!isRunning(c)) return;
      c.kill('SIGCONT'); // a frozen server cannot act on SIGTERM
      c.kill('SIGTERM');
      await holdOpen(c, withTimeout(exited(c), 5000, 'redis-server graceful stop')).catch(async () => {
        c.kill('SIGKILL');
        await holdOpen(c, exited(c));
      });
    },
    async kill() {
      const c = current;
      if (!isRunning(c)) return;
      c.kill('SIGKILL');
      await holdOpen(c, exited(c));
    },
    freeze() {
      current.kill('SIGSTOP');
    },
    thaw() {
      current.kill('SIGCONT');
    },
    async restart() {
      await server.stop();
      // the port is ours: redis sets SO_REUSEADDR, so TIME_WAIT leftovers do not block it
      for (let attempt = 1; ; attempt++) {
        const s = spawnRedis(fixedPort, args);
        current = s.child;
        currentOut = s.out;
        try {
          await waitReady(s.child, fixedPort, s.out);
          return;
        } catch (e) {
          if (attempt < 20 && /Address already in use/i.test(s.out.text)) {
            await sleep(100);
            continue;
          }
          throw e;
        }
      }
    },
    cli(...cliArgs: string[]) {
      return redisCli(fixedPort, cliArgs);
    },
  };
  return server;
}
