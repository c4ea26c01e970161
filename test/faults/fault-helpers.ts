// Shared pieces of the fault, limit, fuzz, load and TLS suites: process memory, a seeded
// PRNG, a streaming reply counter, a client that expects to be closed, certificates made
// with openssl, and spawners for a TLS-only redis-server and a proxy whose readiness is
// checked by the caller (a TLS listener cannot be probed with a plain PING). Admin stats
// and polling: ../helpers/.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { exited, holdOpen, register } from '../helpers/children.js';
import { tlsPingLine, type TlsOpts } from '../helpers/tls-ping.js';
export { tlsPingLine, type TlsOpts };
import { frameEnd } from '../helpers/resp.js';
import { CLI_PATH, REPO_ROOT, REDIS_SERVER, getFreePort, sleep, withTimeout } from '../helpers/index.js';

// ------------------------------------------------------------------ processes

/** Resident set size of a process in MB, from /proc/<pid>/status (VmRSS). NaN if it is gone. */
export function rssMb(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** true while `pid` exists (signal 0 probes without sending anything). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Samples a process's RSS every `everyMs` until stop() is called. */
export function rssSampler(pid: number, everyMs: number): { samples: number[]; max(): number; stop(): void } {
  const samples: number[] = [rssMb(pid)];
  const t = setInterval(() => samples.push(rssMb(pid)), everyMs);
  return {
    samples,
    max: () => Math.max(...samples.filter((s) => !Number.isNaN(s))),
    stop: () => clearInterval(t),
  };
}

/** Lines of the proxy's output that look like a crash: an uncaught error or a JS stack frame. */
export function crashLines(output: string): string[] {
  return output.split('\n').filter((l) => /uncaught|unhandled|^\s+at .+:\d+:\d+\)?$|FATAL ERROR|Segmentation/i.test(l));
}

// ------------------------------------------------------------------ randomness

/** mulberry32: a small seeded PRNG, so a failing fuzz run can be replayed from its seed. */
export function prng(seed: number): { next(): number; int(n: number): number; pick<T>(xs: readonly T[]): T; bytes(n: number): Buffer } {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return {
    next,
    int,
    pick: <T>(xs: readonly T[]) => xs[int(xs.length)],
    bytes: (n: number) => {
      const b = Buffer.alloc(n);
      for (let i = 0; i < n; i++) b[i] = int(256);
      return b;
    },
  };
}

// ------------------------------------------------------------------ streaming replies

/**
 * Reads reply frames off a socket as they arrive, without holding more than one partial
 * frame: for traffic too large for RawClient's accumulate-then-split reads. Each complete
 * frame is handed to `onFrame` (a view into the chunk: copy it to keep it).
 */
export class FrameStream {
  frames = 0;
  bytes = 0;
  closed = false;
  /** Date.now() when the connection closed (0 while open) */
  closedAt = 0;
  error: Error | null = null;
  private rest: Buffer = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  private readonly closedP: Promise<void>;

  constructor(
    readonly socket: net.Socket,
    private readonly onFrame: (frame: Buffer, index: number) => void = () => {},
  ) {
    socket.on('data', (chunk: Buffer) => this.push(chunk));
    socket.on('error', (e) => (this.error = e));
    this.closedP = new Promise((resolve) =>
      socket.once('close', () => {
        this.closed = true;
        this.closedAt = Date.now();
        this.wake();
        resolve();
      }),
    );
  }

  static connect(port: number, onFrame?: (frame: Buffer, index: number) => void, host = '127.0.0.1'): Promise<FrameStream> {
    return withTimeout(
      new Promise<FrameStream>((resolve, reject) => {
        const s = net.connect({ port, host });
        s.once('error', reject);
        s.once('connect', () => {
          s.off('error', reject);
          s.setNoDelay(true);
          resolve(new FrameStream(s, onFrame));
        });
      }),
      5000,
      `connect to ${host}:${port}`,
    );
  }

  private push(chunk: Buffer): void {
    this.bytes += chunk.length;
    const buf = this.rest.length === 0 ? chunk : Buffer.concat([this.rest, chunk]);
    let pos = 0;
    for (;;) {
      const end = frameEnd(buf, pos);
      if (end < 0) break;
      this.onFrame(buf.subarray(pos, end), this.frames++);
      pos = end;
    }
    this.rest = pos === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(pos));
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves once `n` frames in total have arrived; rejects on close or timeout. */
  async waitFrames(n: number, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.frames < n) {
      if (this.closed) throw new Error(`connection closed after ${this.frames} of ${n} frames`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${ms} ms with ${this.frames} of ${n} frames`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Resolves true when the peer has closed within `ms`, false otherwise. */
  async waitClosed(ms: number): Promise<boolean> {
    if (this.closed) return true;
    let t: NodeJS.Timeout | undefined;
    const r = await Promise.race([this.closedP.then(() => true), new Promise<boolean>((res) => (t = setTimeout(() => res(false), ms)))]);
    clearTimeout(t);
    return r;
  }

  write(data: string | Buffer): boolean {
    return this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/**
 * What a new client sees while the proxy cannot serve it (Redis down, frozen, or refusing
 * the proxy's TLS): it connects, writes `request`, and reads until the proxy closes the
 * connection. Rejects if the connection is refused, or not closed within `ms`.
 */
export async function closedAfterConnect(port: number, request: string, ms: number): Promise<{ received: Buffer; closedAfterMs: number }> {
  const s = await withTimeout(
    new Promise<net.Socket>((resolve, reject) => {
      const c = net.connect({ port, host: '127.0.0.1' });
      c.once('error', reject);
      c.once('connect', () => {
        c.off('error', reject);
        resolve(c);
      });
    }),
    5000,
    `connect to 127.0.0.1:${port}`,
  );
  const t0 = Date.now();
  const chunks: Buffer[] = [];
  s.on('data', (d: Buffer) => chunks.push(d));
  s.on('error', () => {}); // a reset counts as a close: what matters is what was received
  s.write(Buffer.from(request, 'latin1'));
  let timer: NodeJS.Timeout | undefined;
  const closed = await Promise.race([
    new Promise<boolean>((resolve) => s.once('close', () => resolve(true))),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
  ]);
  clearTimeout(timer);
  s.destroy();
  const received = Buffer.concat(chunks);
  if (!closed) throw new Error(`the proxy kept the connection open for ${ms} ms (received "${received.toString('latin1').slice(0, 200)}")`);
  return { received, closedAfterMs: Date.now() - t0 };
}

// ------------------------------------------------------------------ generic child processes

export interface Child {
  readonly child: ChildProcess;
  readonly pid: number;
  output(): string;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  running(): boolean;
  /** SIGTERM (SIGCONT first), SIGKILL after 5 s */
  stop(): Promise<void>;
}

export function spawnChild(cmd: string, argv: string[], env: Record<string, string> = {}): Child {
  const child = spawn(cmd, argv, { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  child.on('error', (e) => (out += `\n[spawn error] ${e.message}\n`));
  register(child);
  const exit = exited(child);
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    child,
    pid: child.pid!,
    output: () => out,
    exit,
    running,
    async stop() {
      if (!running()) return;
      child.kill('SIGCONT');
      child.kill('SIGTERM');
      try {
        await holdOpen(child, withTimeout(exit, 5000, `${cmd} stop`));
      } catch {
        child.kill('SIGKILL');
        await holdOpen(child, exit);
      }
    },
  };
}

/** Waits (bounded) until `probe` resolves true, failing early if the child exits. */
export async function waitChildReady(c: Child, what: string, probe: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  let last = '';
  await holdOpen(
    c.child,
    (async () => {
      for (;;) {
        if (!c.running()) throw new Error(`${what} exited before it was ready. Output:\n${c.output()}`);
        try {
          if (await probe()) return;
        } catch (e) {
          last = (e as Error).message;
        }
        if (Date.now() > deadline) {
          c.child.kill('SIGKILL');
          throw new Error(`${what} not ready within ${ms} ms (last: ${last}). Output:\n${c.output()}`);
        }
        await sleep(30);
      }
    })(),
  );
}

/** The proxy (node dist/cli.js) with the caller's full argument list and readiness probe. */
export async function spawnProxy(args: string[], probe: () => Promise<boolean>, env: Record<string, string> = {}): Promise<Child> {
  const c = spawnChild(process.execPath, [CLI_PATH, ...args], env);
  await waitChildReady(c, `proxy (${args.join(' ')})`, probe);
  return c;
}

// ------------------------------------------------------------------ TLS

export interface Certs {
  dir: string;
  ca: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** a second, unrelated CA and a client certificate it signed (must be refused) */
  otherCa: string;
  otherClientCert: string;
  otherClientKey: string;
}

function openssl(args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { cwd, timeout: 30_000 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`openssl ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve();
    });
  });
}

/** A CA, a server certificate for 127.0.0.1 and localhost, and client certificates, in a temp dir. */
export async function makeCerts(): Promise<Certs> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'redisproxy-tls-'));
  const p = (f: string) => path.join(dir, f);
  const days = ['-days', '2'];
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/CN=RedisProxy Test CA', ...days], dir);
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'other-ca.key', '-out', 'other-ca.pem', '-subj', '/CN=Other CA', ...days], dir);
  writeFileSync(p('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  writeFileSync(p('client.ext'), 'extendedKeyUsage=clientAuth\n');
  const leaf = async (name: string, cn: string, ca: string, ext: string) => {
    await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`], dir);
    await openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-extfile', ext, ...days], dir);
  };
  await leaf('server', '127.0.0.1', 'ca', 'server.ext');
  await leaf('client', 'redisproxy-test-client', 'ca', 'client.ext');
  await leaf('other-client', 'intruder', 'other-ca', 'client.ext');
  return {
    dir,
    ca: p('ca.pem'),
    caKey: p('ca.key'),
    serverCert: p('server.pem'),
    serverKey: p('server.key'),
    clientCert: p('client.pem'),
    clientKey: p('client.key'),
    otherCa: p('other-ca.pem'),
    otherClientCert: p('other-client.pem'),
    otherClientKey: p('other-client.key'),
  };
}

export interface TlsRedis extends Child {
  readonly port: number;
  cli(...args: string[]): Promise<string>;
}

/** redis-server listening only on a TLS port (--port 0). */
export async function startTlsRedis(certs: Certs, authClients: 'yes' | 'no' | 'optional', extra: string[] = []): Promise<TlsRedis> {
  for (let attempt = 1; ; attempt++) {
    const port = await getFreePort();
    const c = spawnChild(REDIS_SERVER, [
      '--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--tls-cert-file', certs.serverCert, '--tls-key-file', certs.serverKey, '--tls-ca-cert-file', certs.ca,
      '--tls-auth-clients', authClients, ...extra,
    ]);
    const withCert: TlsOpts = { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey };
    try {
      await waitChildReady(c, `TLS redis-server on ${port}`, async () => (await tlsPingLine(port, withCert, 1000)) === '+PONG');
    } catch (e) {
      if (attempt < 3 && /Address already in use/i.test(c.output())) continue;
      throw e;
    }
    return {
      ...c,
      port,
      cli: (...args: string[]) => tlsRedisCli(port, withCert, args),
    };
  }
}

/** redis-cli --tls against `port`, resolving with stdout. */
export function tlsRedisCli(port: number, o: TlsOpts, args: string[], timeoutMs = 15_000): Promise<string> {
  const tlsArgs = ['--tls', '--cacert', o.ca, ...(o.cert ? ['--cert', o.cert, '--key', o.key!] : [])];
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.env.REDIS_CLI_BIN ?? 'redis-cli',
      ['-h', '127.0.0.1', '-p', String(port), ...tlsArgs, ...args],
      { encoding: 'utf8', timeout: timeoutMs },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`redis-cli --tls ${args.join(' ')} failed: ${err.message}\n${stderr}\n${stdout}`));
        else resolve(stdout);
      },
    );
    child.stdin!.end();
  });
}
