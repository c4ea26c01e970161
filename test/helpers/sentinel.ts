// A real Sentinel set-up: one primary, one replica and (by default) three
// `redis-server --sentinel` processes on free ports, each with its own config file in a
// temp dir. Start it once per suite; everything is killed when the test process exits
// (children.ts) and the temp dir is removed by stop().
//
//   const set = await startSentinelSet({ dataPassword: 'pw', sentinelPassword: 'spw' });
//   const { from, to } = await set.failover();        // SENTINEL FAILOVER, waits for the switch
//   await set.waitHealthy();                          // old primary re-joined as a replica
//   const { from: dead, to: promoted } = await set.killPrimary();  // kill -9, waits for promotion
//   await set.stopSentinel(0); await set.startSentinel(0);
//   after(() => set.stop());
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exited, holdOpen, register } from './children.js';
import { REDIS_SERVER, pingLine, redisCli, startRedis, type RedisServer } from './redis.js';
import { getFreePort, sleep, withTimeout } from './util.js';
import { tlsPingLine } from './tls-ping.js';

export interface SentinelSetOptions {
  /** the name the sentinels monitor (default "mymaster") */
  masterName?: string;
  /** requirepass and masterauth on the data nodes; the sentinels get it as `sentinel auth-pass` */
  dataPassword?: string;
  /** requirepass on the sentinels themselves (and `sentinel sentinel-pass` to reach each other) */
  sentinelPassword?: string;
  /** number of sentinels (default 3, quorum 2) */
  sentinels?: number;
  downAfterMs?: number;
  failoverTimeoutMs?: number;
}

export interface SentinelProcess {
  readonly port: number;
  readonly running: boolean;
  output(): string;
  /** SIGKILL and wait for exit */
  stop(): Promise<void>;
  /** SIGSTOP: the port still accepts connections (kernel backlog) but nothing is answered */
  freeze(): void;
  /** SIGCONT */
  thaw(): void;
  /** start again on the same port with the same (sentinel-rewritten) config file */
  start(): Promise<void>;
  /** redis-cli against this sentinel, authenticated when it has a password */
  cli(...args: string[]): Promise<string>;
}

export interface SentinelSet {
  readonly masterName: string;
  /** the data nodes, in start order: [0] was the first primary, [1] its replica */
  readonly nodes: RedisServer[];
  readonly sentinels: SentinelProcess[];
  /** redis-cli against a data node (by port), authenticated when there is a data password */
  nodeCli(port: number, ...args: string[]): Promise<string>;
  /** the data node on that port */
  node(port: number): RedisServer;
  /** port of the primary the first running sentinel names */
  primaryPort(): Promise<number>;
  /** waits until every running sentinel sees a sane primary, a replica with its link up, and the other sentinels */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** SENTINEL FAILOVER, then waits until every running sentinel names the new primary and it says so itself */
  failover(timeoutMs?: number): Promise<{ from: number; to: number }>;
  /**
   * kill -9 of the primary, then waits for the promotion as failover() does. The dead node is
   * restarted as a replica of the new primary unless `restart: false`.
   */
  killPrimary(opts?: { restart?: boolean; timeoutMs?: number }): Promise<{ from: number; to: number }>;
  stopSentinel(i: number): Promise<void>;
  startSentinel(i: number): Promise<void>;
  stopAllSentinels(): Promise<void>;
  startAllSentinels(): Promise<void>;
  /** kills every process and removes the temp dir */
  stop(): Promise<void>;
}

/** Polls `check` until it returns a value other than undefined/false; the last error or value is in the timeout message. */
async function poll<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
      last = 'condition not met';
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms (last: ${last})`);
    await sleep(100);
  }
}

/** redis-cli's flat rendering of a [k1, v1, k2, v2, ...] reply as a record. */
function fieldsOf(lines: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < lines.length; i += 2) out[lines[i]] = lines[i + 1];
  return out;
}

/** redis-cli's flat rendering of an array of such records (each starts with "name"). */
function recordsOf(text: string): Record<string, string>[] {
  const lines = text.split('\n').filter((l) => l !== '');
  const records: string[][] = [];
  for (let i = 0; i + 1 < lines.length; i += 2) {
    if (lines[i] === 'name') records.push([]);
    records.at(-1)?.push(lines[i], lines[i + 1]);
  }
  return records.map(fieldsOf);
}

function spawnSentinel(confPath: string, out: { text: string }): ChildProcess {
  const child = spawn(REDIS_SERVER, [confPath, '--sentinel'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d: Buffer) => (out.text += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out.text += d.toString()));
  child.on('error', (e) => (out.text += `\n[spawn error] ${e.message}\n`));
  register(child);
  return child;
}

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

async function startSentinelProcess(
  dir: string,
  index: number,
  conf: (port: number) => string,
  password?: string,
  tlsFiles?: SentinelTlsFiles,
): Promise<SentinelProcess> {
  const confPath = path.join(dir, `sentinel-${index}.conf`);
  let port = 0;
  let child: ChildProcess | undefined;
  const out = { text: '' };

  // a restart waits for its own port to be free again; a first start moves to another port
  async function launch(tries: number): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      out.text = '';
      const c = spawnSentinel(confPath, out);
      child = c;
      try {
        await holdOpen(
          c,
          poll(`sentinel on port ${port} answering PING`, 10_000, async () => {
            if (!isRunning(c)) throw new Error(`sentinel exited: ${out.text}`);
            await (tlsFiles === undefined ? pingLine(port, 500) : tlsPingLine(port, { ca: tlsFiles.ca }, 500));
            return true;
          }),
        );
        return;
      } catch (e) {
        if (attempt < tries && /Address already in use/i.test(out.text)) {
          await sleep(100);
          continue;
        }
        throw e;
      }
    }
  }

  for (let attempt = 1; ; attempt++) {
    port = await getFreePort();
    writeFileSync(confPath, conf(port));
    try {
      await launch(1);
      break;
    } catch (e) {
      if (attempt < 3 && /Address already in use/i.test(out.text)) continue;
      throw e;
    }
  }
  const auth = [
    ...(password === undefined ? [] : ['--no-auth-warning', '-a', password]),
    ...(tlsFiles === undefined ? [] : ['--tls', '--cacert', tlsFiles.ca]),
  ];
  const proc: SentinelProcess = {
    port,
    get running() {
      return child !== undefined && isRunning(child);
    },
    output: () => out.text,
    async stop() {
      const c = child;
      if (c === undefined || !isRunning(c)) return;
      c.kill('SIGKILL'); // also ends a frozen one
      await holdOpen(c, exited(c));
    },
    freeze: () => child?.kill('SIGSTOP'),
    thaw: () => child?.kill('SIGCONT'),
    async start() {
      if (proc.running) return;
      await launch(20);
    },
    cli: (...args) => redisCli(port, [...auth, ...args], { timeoutMs: 5000 }),
  };
  return proc;
}

/** PEM files for a sentinel that only speaks TLS (its clients need not present a certificate). */
export interface SentinelTlsFiles {
  cert: string;
  key: string;
  ca: string;
}

interface MonitorOptions {
  masterName: string;
  masterPort: number;
  quorum: number;
  downAfterMs: number;
  failoverTimeoutMs: number;
  dataPassword?: string;
  sentinelPassword?: string;
  tls?: SentinelTlsFiles;
}

function sentinelConf(port: number, dir: string, o: MonitorOptions): string {
  const name = o.masterName;
  return [
    ...(o.tls === undefined
      ? [`port ${port}`]
      : ['port 0', `tls-port ${port}`, `tls-cert-file ${o.tls.cert}`, `tls-key-file ${o.tls.key}`, `tls-ca-cert-file ${o.tls.ca}`, 'tls-auth-clients no']),
    'bind 127.0.0.1',
    'daemonize no',
    `dir ${dir}`,
    `sentinel monitor ${name} 127.0.0.1 ${o.masterPort} ${o.quorum}`,
    `sentinel down-after-milliseconds ${name} ${o.downAfterMs}`,
    `sentinel failover-timeout ${name} ${o.failoverTimeoutMs}`,
    `sentinel parallel-syncs ${name} 1`,
    ...(o.dataPassword === undefined ? [] : [`sentinel auth-pass ${name} ${o.dataPassword}`]),
    // sentinels reach each other with sentinel-pass; requirepass guards this one
    ...(o.sentinelPassword === undefined ? [] : [`requirepass ${o.sentinelPassword}`, `sentinel sentinel-pass ${o.sentinelPassword}`]),
    '',
  ].join('\n');
}

/**
 * One sentinel on its own, monitoring whatever node a test names (e.g. a replica, to get a
 * sentinel that names a node answering ROLE as a replica). stop() also removes its temp dir.
 */
export async function startLoneSentinel(
  o: {
    masterName?: string;
    masterPort: number;
    quorum?: number;
    downAfterMs?: number;
    failoverTimeoutMs?: number;
    dataPassword?: string;
    sentinelPassword?: string;
    /** serve only TLS on its port (the monitored node is still reached in plain TCP) */
    tls?: SentinelTlsFiles;
    /** more sentinel.conf lines, e.g. `user watcher on >pw +@all` */
    extraConf?: string[];
  },
): Promise<SentinelProcess> {
  const dir = mkdtempSync(path.join(tmpdir(), 'redisproxy-sentinel-'));
  const full: MonitorOptions = { masterName: 'mymaster', quorum: 1, downAfterMs: 60_000, failoverTimeoutMs: 60_000, ...o };
  const conf = (port: number) => sentinelConf(port, dir, full) + (o.extraConf ?? []).map((l) => `${l}\n`).join('');
  const proc = await startSentinelProcess(dir, 0, conf, o.sentinelPassword, o.tls);
  const stop = proc.stop;
  return Object.assign(proc, {
    async stop() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  });
}

export async function startSentinelSet(opts: SentinelSetOptions = {}): Promise<SentinelSet> {
  const name = opts.masterName ?? 'mymaster';
  const count = opts.sentinels ?? 3;
  const quorum = Math.floor(count / 2) + 1;
  const downAfter = opts.downAfterMs ?? 1000;
  const failoverTimeout = opts.failoverTimeoutMs ?? 3000;
  const dir = mkdtempSync(path.join(tmpdir(), 'redisproxy-sentinel-'));
  // --dir: a replica writes the RDB it syncs from (dump.rdb) there, not in the cwd
  const dataAuth = [
    '--dir',
    dir,
    ...(opts.dataPassword === undefined ? [] : ['--requirepass', opts.dataPassword, '--masterauth', opts.dataPassword]),
  ];

  const primary = await startRedis({ args: dataAuth });
  const replica = await startRedis({ args: [...dataAuth, '--replicaof', '127.0.0.1', String(primary.port)] });
  const nodes = [primary, replica];
  const cliAuth = opts.dataPassword === undefined ? [] : ['--no-auth-warning', '-a', opts.dataPassword];
  const nodeCli = (port: number, ...args: string[]) => redisCli(port, [...cliAuth, ...args], { timeoutMs: 5000 });

  const conf = (port: number) =>
    sentinelConf(port, dir, { ...opts, masterName: name, masterPort: primary.port, quorum, downAfterMs: downAfter, failoverTimeoutMs: failoverTimeout });

  const sentinels = await Promise.all(
    Array.from({ length: count }, (_, i) => startSentinelProcess(dir, i, conf, opts.sentinelPassword)),
  );

  const node = (port: number) => {
    const n = nodes.find((x) => x.port === port);
    if (n === undefined) throw new Error(`no data node on port ${port}`);
    return n;
  };

  const named = async (s: SentinelProcess): Promise<number> => {
    const lines = (await s.cli('SENTINEL', 'get-master-addr-by-name', name)).split('\n');
    return Number(lines[1]);
  };

  const roleOf = async (port: number): Promise<string> => (await nodeCli(port, 'ROLE')).split('\n')[0];

  const set: SentinelSet = {
    masterName: name,
    nodes,
    sentinels,
    nodeCli,
    node,
    async primaryPort() {
      const s = sentinels.find((x) => x.running);
      if (s === undefined) throw new Error('no sentinel is running');
      return named(s);
    },
    async waitHealthy(timeoutMs = 30_000) {
      const running = sentinels.filter((s) => s.running);
      await poll('sentinels see a healthy primary, replica and each other', timeoutMs, async () => {
        for (const s of running) {
          const m = fieldsOf((await s.cli('SENTINEL', 'master', name)).split('\n').filter((l) => l !== ''));
          if (m.flags !== 'master') return false;
          if (Number(m['num-other-sentinels']) < count - 1) return false;
          if ((await roleOf(Number(m.port))) !== 'master') return false;
          // the replicas' own view of their link is current; the sentinels' view lags by up to
          // their 10 s INFO period, and only needs to know the replica is there and up
          const replicas = recordsOf(await s.cli('SENTINEL', 'replicas', name));
          for (const r of replicas.filter((x) => x.flags === 'slave')) {
            const role = (await nodeCli(Number(r.port), 'ROLE')).split('\n');
            if (role[0] !== 'slave' || role[2] !== m.port || role[3] !== 'connected') return false;
          }
          if (replicas.filter((r) => r.flags === 'slave').length < nodes.length - 1) return false;
        }
        return true;
      });
    },
    async failover(timeoutMs = 20_000) {
      const from = await set.primaryPort();
      const s = sentinels.find((x) => x.running)!;
      // NOGOODSLAVE while the sentinel has not yet seen the replica's link as up: retry
      await poll('SENTINEL FAILOVER accepted', timeoutMs, async () => {
        const reply = await s.cli('SENTINEL', 'FAILOVER', name);
        if (reply.trim() !== 'OK') throw new Error(reply.trim());
        return true;
      });
      const to = await waitSwitched(from, timeoutMs);
      // the sentinels demote the old primary only seconds later; do it now, as they will
      await nodeCli(from, 'REPLICAOF', '127.0.0.1', String(to));
      return { from, to };
    },
    async killPrimary(o = {}) {
      const from = await set.primaryPort();
      const dead = node(from);
      await dead.kill();
      const to = await waitSwitched(from, o.timeoutMs ?? 30_000);
      if (o.restart !== false) {
        await dead.restart();
        await nodeCli(from, 'REPLICAOF', '127.0.0.1', String(to));
      }
      return { from, to };
    },
    stopSentinel: (i) => sentinels[i].stop(),
    startSentinel: (i) => sentinels[i].start(),
    async stopAllSentinels() {
      await Promise.all(sentinels.map((s) => s.stop()));
    },
    async startAllSentinels() {
      await Promise.all(sentinels.map((s) => s.start()));
    },
    async stop() {
      await Promise.all(sentinels.map((s) => s.stop()));
      await Promise.all(nodes.map((n) => n.kill()));
      rmSync(dir, { recursive: true, force: true });
    },
  };

  async function waitSwitched(from: number, timeoutMs: number): Promise<number> {
    return withTimeout(
      poll(`sentinels name a new primary instead of ${from}`, timeoutMs, async () => {
        const ports = await Promise.all(sentinels.filter((s) => s.running).map(named));
        const to = ports[0];
        if (to === from || ports.some((p) => p !== to)) return false;
        return (await roleOf(to)) === 'master' ? to : false;
      }),
      timeoutMs + 5000,
      'waiting for the switch',
    );
  }

  try {
    await set.waitHealthy();
  } catch (e) {
    const logs = sentinels.map((s, i) => `--- sentinel ${i} (port ${s.port})\n${s.output()}`).join('\n');
    await set.stop();
    throw new Error(`${(e as Error).message}\n${logs}`);
  }
  return set;
}
