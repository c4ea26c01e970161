// Load: 1,000 concurrent raw-socket clients pipelining mixed GET/SET/INCR through the proxy
// (cache on) for ~10 s. Every request is answered, every answer is checked against its
// command, no client is dropped, and the proxy's RSS levels off after warm-up.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cmd, sleep, startRedis, proxyStats, eventually, startAdminProxy, type ProxyProcess, type RedisServer } from '../helpers/index.js';
import { escapeBytes } from '../helpers/util.js';
import { FrameStream, rssMb } from './fault-helpers.js';

const CLIENTS = Number(process.env.LOAD_CLIENTS ?? 1000);
const SECONDS = Number(process.env.LOAD_SECONDS ?? 10);
const HOT = 50;

let redis: RedisServer;
let proxy: ProxyProcess;
let admin: number;

function nofile(pid: number | 'self'): { soft: number; hard: number } {
  const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
  const n = (s: string | undefined) => (s === undefined || s === 'unlimited' ? Infinity : Number(s));
  return { soft: n(m?.[1]), hard: n(m?.[2]) };
}

/** The proxy needs a descriptor per client and per client's Redis connection. */
function ensureFds(pid: number, need: number, who: string): string {
  const { soft, hard } = nofile(pid);
  if (soft >= need) return `${who}: nofile ${soft}`;
  if (hard < need) assert.fail(`${who} may open only ${hard} files (hard limit) but ${CLIENTS} clients need ~${need}: raise ulimit -n`);
  execFileSync('prlimit', ['--pid', String(pid), `--nofile=${need}:${hard}`]);
  return `${who}: nofile raised ${soft} → ${nofile(pid).soft}`;
}

before(async () => {
  const self = nofile('self');
  assert.ok(self.soft >= CLIENTS + 200, `the test process may open only ${self.soft} files; ${CLIENTS} clients need more: raise ulimit -n`);
  redis = await startRedis({ args: ['--maxclients', String(CLIENTS + 500)] });
  ({ proxy, admin } = await startAdminProxy(redis.port, { args: ['--max-clients', String(CLIENTS + 100)] }));
  console.log(`# ${ensureFds(proxy.pid, 2 * CLIENTS + 200, 'proxy')}; ${ensureFds(redis.pid, CLIENTS + 300, 'redis')}`);
});
after(async () => {
  await proxy?.stop();
  await redis?.stop();
});

interface Expected {
  bytes: string;
  check(reply: string): boolean;
}

class LoadClient {
  sent = 0;
  answered = 0;
  wrong: string[] = [];
  batches = 0;
  private expect: Expected[] = [];
  private seq = 0;
  private incr = 0;
  stream!: FrameStream;

  constructor(readonly id: number) {}

  async connect(port: number): Promise<void> {
    this.stream = await FrameStream.connect(port, (f) => this.onReply(f.toString('latin1')));
  }

  private onReply(reply: string): void {
    const e = this.expect[this.answered++];
    if (e === undefined) {
      this.wrong.push(`client ${this.id}: reply with no request: "${escapeBytes(Buffer.from(reply, 'latin1'))}"`);
    } else if (!e.check(reply) && this.wrong.length < 3) {
      this.wrong.push(`client ${this.id}: ${escapeBytes(Buffer.from(e.bytes, 'latin1'), 60)} → "${escapeBytes(Buffer.from(reply, 'latin1'), 80)}"`);
    }
  }

  /** One pipelined batch of 10: own SET/GET/INCR, five hot GETs, a hot SET (same value), a GET of a missing key. */
  sendBatch(): number {
    const base = this.sent;
    const own = `ld:${this.id}`;
    const v = `v${this.id}:${++this.seq}`;
    const push = (bytes: string, check: (r: string) => boolean) => {
      this.expect[this.sent++] = { bytes, check };
      return bytes;
    };
    const n = ++this.incr;
    let out = push(cmd('SET', `${own}:k`, v), (r) => r === '+OK\r\n');
    out += push(cmd('GET', `${own}:k`), (r) => r === `$${v.length}\r\n${v}\r\n`);
    out += push(cmd('INCR', `${own}:n`), (r) => r === `:${n}\r\n`);
    for (let i = 0; i < 5; i++) {
      const h = (this.id * 7 + this.seq * 5 + i) % HOT;
      const hv = `hot-${h}`;
      out += push(cmd('GET', `ld:hot:${h}`), (r) => r === `$${hv.length}\r\n${hv}\r\n`);
    }
    const h = (this.id + this.seq) % HOT;
    out += push(cmd('SET', `ld:hot:${h}`, `hot-${h}`), (r) => r === '+OK\r\n');
    out += push(cmd('GET', `ld:missing:${this.id % 10}`), (r) => r === '$-1\r\n');
    this.stream.write(out);
    this.batches++;
    return this.sent - base;
  }

  /** Keeps one batch in flight until `deadline`. */
  async run(deadline: number): Promise<void> {
    while (Date.now() < deadline && !this.stream.closed) {
      this.sendBatch();
      await this.stream.waitFrames(this.sent, 30_000);
    }
  }
}

test(`${CLIENTS} concurrent clients pipelining for ${SECONDS} s: every request answered right, none dropped, RSS levels off`, async () => {
  // the hot keys exist before the clients start
  let setup = '';
  for (let h = 0; h < HOT; h++) setup += cmd('SET', `ld:hot:${h}`, `hot-${h}`);
  const s = await FrameStream.connect(redis.port);
  s.write(setup);
  await s.waitFrames(HOT, 5000);
  s.destroy();

  const clients = Array.from({ length: CLIENTS }, (_, i) => new LoadClient(i));
  const tc = Date.now();
  for (let i = 0; i < CLIENTS; i += 100) await Promise.all(clients.slice(i, i + 100).map((c) => c.connect(proxy.port)));
  const connectMs = Date.now() - tc;
  // the kernel completes a connect before the proxy accepts it
  await eventually(`all ${CLIENTS} clients are accepted by the proxy`, async () => (await proxyStats(admin)).clients.connected >= CLIENTS, 10_000, 50);

  const rss: number[] = [rssMb(proxy.pid)];
  const sampler = setInterval(() => rss.push(rssMb(proxy.pid)), 1000);
  const t0 = Date.now();
  try {
    await Promise.all(clients.map((c) => c.run(t0 + SECONDS * 1000)));
  } finally {
    clearInterval(sampler);
  }
  const elapsed = (Date.now() - t0) / 1000;
  await sleep(200); // nothing extra may arrive

  const sent = clients.reduce((a, c) => a + c.sent, 0);
  const answered = clients.reduce((a, c) => a + c.answered, 0);
  const wrong = clients.flatMap((c) => c.wrong);
  const dropped = clients.filter((c) => c.stream.closed).length;
  const idle = clients.filter((c) => c.batches < 2).length;
  const st = await proxyStats(admin);
  for (const c of clients) c.stream.destroy();

  const warm = rss[Math.min(3, rss.length - 1)];
  const last = rss[rss.length - 1];
  console.log(
    `# ${CLIENTS} clients (connected in ${connectMs} ms), ${sent} requests in ${elapsed.toFixed(1)} s (${Math.round(sent / elapsed)}/s), ` +
      `${answered} answered, ${wrong.length} wrong, ${dropped} dropped; cache hits ${st.cache.hits}, misses ${st.cache.misses}; ` +
      `RSS per second (MB): ${rss.map((r) => r.toFixed(0)).join(' ')}`,
  );
  assert.deepEqual(wrong, [], 'every reply is the right one (no errors, none shifted)');
  assert.equal(answered, sent, 'every request was answered exactly once');
  assert.equal(dropped, 0, 'no client was dropped');
  assert.equal(idle, 0, 'every client made progress');
  assert.ok(st.cache.hits > 0, 'the hot keys were served from the cache');
  assert.ok(last < 1.3 * warm, `RSS after warm-up does not keep growing: ${warm.toFixed(0)} MB at 3 s, ${last.toFixed(0)} MB at the end`);
});
