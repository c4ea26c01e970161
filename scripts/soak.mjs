#!/usr/bin/env node
// Soak: a longer run than the test suite can afford, combining load, periodic Redis faults
// and a fuzzer against one proxy, then printing the figures.
//
//   node scripts/soak.mjs [--minutes 5] [--clients 200] [--fault-every 20] [--seed N]
//
// Needs a built proxy (npm run build) and redis-server on PATH. Everything runs on
// 127.0.0.1 with free ports; every child is killed on exit.
//
// Load: --clients raw connections, each keeping one pipelined batch of 10 commands in
// flight (own SET/GET/INCR, GETs of shared hot keys, a hot SET), every reply checked
// against its command. The proxy never answers a forwarded command itself (contract
// §4.2): every reply must be the right one, in order; anything else, an "-ERR RedisProxy"
// included, is a wrong reply (a bug). When a fault takes a client's Redis connection, the
// proxy closes the client's connection behind the replies that arrived; the commands left
// without a reply get none, and the client reconnects and starts over (as a client library
// would, resending). A close outside a fault, or a batch left hanging 20 s, is a bug.
// Faults, in turn every --fault-every seconds: SIGKILL (down 1 s, then restarted), a
// graceful restart (SIGTERM), a freeze (SIGSTOP 2 s, --backend-timeout 1). While a killed
// Redis is down, a new client must be accepted and closed without a reply byte. A fault
// counts as survived once a fresh client's SET/GET works again within 15 s.
// Fuzzer: a connection every ~20 ms sending random bytes or mutated RESP (seeded).
// Exit status 0 when there was no wrong reply, every fault was survived, the proxy never
// exited and its output has no stack trace; 1 otherwise.

import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'dist', 'cli.js');

function flag(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && process.argv[i + 1] !== undefined) return Number(process.argv[i + 1]);
  const eq = process.argv.find((a) => a.startsWith(`--${name}=`));
  return eq ? Number(eq.slice(name.length + 3)) : def;
}
const MINUTES = flag('minutes', 5);
const CLIENTS = flag('clients', 200);
const FAULT_EVERY_S = flag('fault-every', 20);
const SEED = flag('seed', Date.now() % 2 ** 31);
if (![MINUTES, CLIENTS, FAULT_EVERY_S, SEED].every(Number.isFinite) || MINUTES <= 0 || CLIENTS < 1) {
  console.error('usage: node scripts/soak.mjs [--minutes N] [--clients N] [--fault-every SECONDS] [--seed N]');
  process.exit(2);
}
if (!existsSync(cli)) {
  console.error(`soak: ${cli} is missing: run npm run build first`);
  process.exit(2);
}

// ───────────────────────────── small tools

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const children = new Set();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function prng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n) => Math.floor(next() * n);
  return { int, pick: (xs) => xs[int(xs.length)] };
}

function cmd(...args) {
  let s = `*${args.length}\r\n`;
  for (const a of args) s += `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`;
  return s;
}

/** End offset of the RESP2 frame at `pos`, -1 if incomplete; throws on garbage. */
function frameEnd(buf, pos) {
  if (pos >= buf.length) return -1;
  const cr = buf.indexOf('\r\n', pos);
  if (cr < 0) return -1;
  const t = buf[pos];
  if (t === 0x2b || t === 0x2d || t === 0x3a) return cr + 2;
  const n = Number(buf.toString('latin1', pos + 1, cr));
  if (!Number.isInteger(n)) throw new Error(`bad length line "${buf.toString('latin1', pos, cr)}"`);
  if (t === 0x24) return n < 0 ? cr + 2 : buf.length >= cr + 2 + n + 2 ? cr + 2 + n + 2 : -1;
  if (t === 0x2a) {
    let p = cr + 2;
    for (let i = 0; i < n; i++) {
      p = frameEnd(buf, p);
      if (p < 0) return -1;
    }
    return p;
  }
  throw new Error(`bad type byte 0x${t.toString(16)}`);
}

function rssMb(pid) {
  try {
    return Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
  } catch {
    return NaN;
  }
}

function spawnChild(bin, args) {
  const child = spawn(bin, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  const keep = (d) => {
    out += d.toString();
    if (out.length > 4_000_000) out = out.slice(-2_000_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exit = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  return { child, exit, output: () => out };
}

/** One request/reply over a fresh connection; resolves with the reply text or null. */
function ask(port, bytes, ms = 2000) {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    let buf = Buffer.alloc(0);
    const done = (v) => {
      clearTimeout(t);
      s.destroy();
      resolve(v);
    };
    const t = setTimeout(() => done(null), ms);
    s.on('error', () => done(null));
    s.on('close', () => done(buf.length ? buf.toString('latin1') : null));
    s.on('connect', () => s.write(bytes));
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      try {
        let p = 0;
        let frames = 0;
        for (;;) {
          const e = frameEnd(buf, p);
          if (e < 0) break;
          p = e;
          frames++;
        }
        if (frames >= (bytes.match(/^\*/gm) ?? [1]).length) done(buf.toString('latin1'));
      } catch {
        done(buf.toString('latin1'));
      }
    });
  });
}

/**
 * A new connection that sends `bytes` and expects to be closed without a reply (Redis is
 * down): resolves with what went wrong, or null.
 */
function closedWithoutReply(port, bytes, ms = 3000) {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    let buf = '';
    let connected = false;
    const done = (v) => {
      clearTimeout(t);
      s.destroy();
      resolve(v);
    };
    const t = setTimeout(() => done(`not closed within ${ms} ms (received ${JSON.stringify(buf.slice(0, 80))})`), ms);
    s.on('connect', () => {
      connected = true;
      s.write(bytes);
    });
    s.on('data', (d) => (buf += d.toString('latin1')));
    s.on('error', () => {});
    s.on('close', () => done(!connected ? 'connection refused, not accepted' : buf ? `received ${JSON.stringify(buf.slice(0, 80))} before the close` : null));
  });
}

// ───────────────────────────── Redis and the proxy

const redisPort = await freePort();
let redis;
async function startRedis() {
  for (let attempt = 0; attempt < 50; attempt++) {
    redis = spawnChild('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxclients', String(CLIENTS * 2 + 1000)]);
    for (let i = 0; i < 100; i++) {
      if ((await ask(redisPort, 'PING\r\n', 500)) === '+PONG\r\n') return;
      if (redis.child.exitCode !== null) break;
      await sleep(20);
    }
    redis.child.kill('SIGKILL');
    await redis.exit;
    await sleep(100);
  }
  throw new Error(`redis-server did not start on ${redisPort}:\n${redis.output()}`);
}
await startRedis();

const proxyPort = await freePort();
const adminPort = await freePort();
const proxy = spawnChild(process.execPath, [
  cli, '--addr', `127.0.0.1:${redisPort}`, '--port', String(proxyPort), '--admin-port', String(adminPort),
  '--backend-timeout', '1', '--log-level', 'warn', '--max-clients', String(CLIENTS + 1000),
]);
let proxyExited = null;
proxy.exit.then((e) => (proxyExited = e));
for (let i = 0; (await ask(proxyPort, 'PING\r\n', 500)) !== '+PONG\r\n'; i++) {
  if (i > 200 || proxyExited) {
    console.error(`soak: the proxy did not start:\n${proxy.output()}`);
    process.exit(1);
  }
  await sleep(25);
}
try {
  execFileSync('prlimit', ['--pid', String(proxy.child.pid), '--nofile=65536:65536'], { stdio: 'ignore' });
} catch {
  /* keep the inherited limit */
}

// ───────────────────────────── figures

const fig = {
  requests: 0,
  answered: 0,
  right: 0,
  wrong: [],
  connects: 0,
  disconnects: 0,
  /** commands left without a reply when a fault closed their connection (resent on a new one) */
  unanswered: 0,
  /** connections the proxy closed outside any fault: a bug */
  unexpected: [],
  /** new clients while Redis was down that were not accepted and closed without a reply */
  downProbes: 0,
  maxHeld: 0,
  faults: [],
  fuzzed: 0,
  fuzzBytes: 0,
  rss: [],
};
let faultOn = false;
let stopping = false;

// ───────────────────────────── load clients

const HOT = 100;
let setup = '';
for (let h = 0; h < HOT; h++) setup += cmd('SET', `soak:hot:${h}`, `hot-${h}`);
await ask(redisPort, setup, 5000);

class LoadClient {
  constructor(id) {
    this.id = id;
    this.socket = null;
    this.seq = 0;
    this.held = false;
    this.conns = 0;
  }

  async run(deadline) {
    while (!stopping && Date.now() < deadline) {
      const ok = await this.session(deadline);
      if (!ok) await sleep(100 + (this.id % 10) * 20); // back off while Redis is away
    }
  }

  /** One connection's life: returns true if it did some work. */
  session(deadline) {
    return new Promise((resolve) => {
      const s = net.connect({ port: proxyPort, host: '127.0.0.1' });
      s.setNoDelay(true);
      let buf = Buffer.alloc(0);
      let expect = [];
      let worked = false;
      // INCR: the last value Redis returned on this connection (its counter is its own)
      let confirmed = 0;
      let startedAt = 0;
      // Keys of this connection only: a command that timed out on an earlier connection may
      // still run in Redis later (it was sent), and must not be mistaken for a wrong reply here.
      const own = `soak:${this.id}:${++this.conns}`;
      const sendBatch = () => {
        if (stopping || Date.now() >= deadline) {
          s.end();
          return;
        }
        const v = `v${this.id}:${++this.seq}`;
        expect = [
          ['SET', (r) => r === '+OK\r\n'],
          ['GET', (r) => r === `$${v.length}\r\n${v}\r\n`],
          [
            'INCR',
            (r) => {
              const m = /^:(\d+)\r\n$/.exec(r);
              if (!m) return false;
              // one connection, one Redis connection: each INCR counts exactly one up
              const ok = Number(m[1]) === confirmed + 1;
              confirmed++;
              return ok;
            },
          ],
        ];
        let out = cmd('SET', `${own}:k`, v) + cmd('GET', `${own}:k`) + cmd('INCR', `${own}:n`);
        for (let i = 0; i < 6; i++) {
          const h = (this.id * 7 + this.seq * 3 + i) % HOT;
          out += cmd('GET', `soak:hot:${h}`);
          expect.push(['GET hot', (r) => r === `$${`hot-${h}`.length}\r\nhot-${h}\r\n` || r === '$-1\r\n']);
        }
        const h = (this.id + this.seq) % HOT;
        out += cmd('SET', `soak:hot:${h}`, `hot-${h}`);
        expect.push(['SET hot', (r) => r === '+OK\r\n']);
        fig.requests += expect.length;
        startedAt = Date.now();
        s.write(out);
      };
      s.on('connect', () => {
        fig.connects++;
        sendBatch();
      });
      s.on('data', (d) => {
        buf = buf.length ? Buffer.concat([buf, d]) : d;
        let p = 0;
        for (;;) {
          let e;
          try {
            e = frameEnd(buf, p);
          } catch (err) {
            fig.wrong.push(`client ${this.id}: unparsable reply: ${err.message}`);
            s.destroy();
            return;
          }
          if (e < 0) break;
          const r = buf.toString('latin1', p, e);
          p = e;
          fig.answered++;
          const exp = expect.shift();
          if (exp === undefined) fig.wrong.push(`client ${this.id}: reply with no request: ${JSON.stringify(r)}`);
          else if (r.startsWith('-ERR RedisProxy')) fig.wrong.push(`client ${this.id}: ${exp[0]} → ${JSON.stringify(r.trim())}, an error made up by the proxy`);
          else if (exp[1](r)) {
            fig.right++;
            worked = true;
          } else if (fig.wrong.length < 50) fig.wrong.push(`client ${this.id}: ${exp[0]} → ${JSON.stringify(r.slice(0, 80))}`);
          if (expect.length === 0) {
            if (!this.held) {
              this.held = true;
              held++;
              fig.maxHeld = Math.max(fig.maxHeld, held);
            }
            sendBatch();
          }
        }
        buf = p === buf.length ? Buffer.alloc(0) : buf.subarray(p);
      });
      // a stuck batch is a bug (a hang): the proxy must answer, or close the connection
      const watchdog = setInterval(() => {
        if (expect.length > 0 && startedAt && Date.now() - startedAt > 20_000) {
          fig.wrong.push(`client ${this.id}: no reply for 20 s to a batch (silence)`);
          s.destroy();
        }
      }, 1000);
      let endAt = 0;
      s.on('end', () => (endAt = Date.now()));
      s.on('error', () => {});
      s.on('close', () => {
        endAt ||= Date.now();
        clearInterval(watchdog);
        if (this.held) {
          this.held = false;
          held--;
        }
        if (!stopping && Date.now() < deadline) {
          fig.disconnects++;
          // closed by the proxy: only a fault (or its aftermath) may take a connection
          if (faultOn || Date.now() - lastFaultEnd <= 3000) fig.unanswered += expect.length;
          else if (fig.unexpected.length < 50) {
            const f = fig.faults.at(-1);
            fig.unexpected.push(
              `client ${this.id}: closed ${Date.now() - lastFaultEnd} ms after the last fault (${f?.kind ?? 'none'}) ` +
                `with ${expect.length} of its batch unanswered (${expect.map((e) => e[0]).join(', ')}), batch written ${endAt - startedAt} ms before the proxy's FIN`,
            );
          }
        }
        resolve(worked);
      });
    });
  }
}
let held = 0;

// ───────────────────────────── faults

let lastFaultEnd = 0;
let currentFault = '';
async function fault(kind) {
  faultOn = true;
  currentFault = kind;
  const t0 = Date.now();
  const c = redis.child;
  if (kind === 'kill') {
    c.kill('SIGKILL');
    await redis.exit;
    // while Redis is down, a new client is accepted and then closed without a reply
    const t1 = Date.now();
    fig.downProbes++;
    const bad = await closedWithoutReply(proxyPort, cmd('SET', `soak:down:${t0}`, 'x') + cmd('GET', `soak:down:${t0}`));
    if (bad) fig.wrong.push(`a new client while Redis was down: ${bad}`);
    await sleep(Math.max(0, 1000 - (Date.now() - t1)));
    await startRedis();
  } else if (kind === 'restart') {
    c.kill('SIGTERM');
    await Promise.race([redis.exit, sleep(5000)]);
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await redis.exit;
    await startRedis();
  } else {
    c.kill('SIGSTOP');
    await sleep(2000);
    c.kill('SIGCONT');
  }
  // survived once a fresh client works again
  let ok = false;
  const key = `soak:probe:${t0}`;
  while (Date.now() - t0 < 15_000) {
    const r = await ask(proxyPort, cmd('SET', key, 'p') + cmd('GET', key), 2000);
    if (r === '+OK\r\n$1\r\np\r\n') {
      ok = true;
      break;
    }
    await sleep(100);
  }
  faultOn = false;
  lastFaultEnd = Date.now();
  fig.faults.push({ kind, survived: ok, recoveredMs: Date.now() - t0 });
  if (redis.child !== c) {
    // a restarted Redis lost the hot keys
    await ask(redisPort, setup, 5000);
  }
}

// ───────────────────────────── fuzzer

const CORPUS = [
  ['PING'], ['SET', 'fz:a', '1'], ['GET', 'fz:a'], ['INCR', 'fz:n'], ['HSET', 'fz:h', 'f', 'v'], ['LPUSH', 'fz:l', 'x'],
  ['MULTI'], ['EXEC'], ['SUBSCRIBE', 'fz:c'], ['HELLO', '3'], ['SELECT', '1'], ['CLIENT', 'REPLY', 'OFF'], ['MONITOR'],
  ['EVAL', 'return 1', '0'], ['BLPOP', 'fz:l2', '0.1'], ['QUIT'], ['RESET'], ['WATCH', 'fz:a'], ['NOSUCH'],
];
async function fuzzer(deadline) {
  const r = prng(SEED);
  while (!stopping && Date.now() < deadline) {
    let input;
    const k = r.int(5);
    if (k === 0) {
      input = Buffer.alloc(1 + r.int(300));
      for (let i = 0; i < input.length; i++) input[i] = r.int(256);
    } else {
      let s = '';
      for (let i = 1 + r.int(3); i > 0; i--) s += cmd(...r.pick(CORPUS));
      input = Buffer.from(s, 'latin1');
      if (k === 1) for (let i = 1 + r.int(6); i > 0; i--) input[r.int(input.length)] ^= 1 << r.int(8);
      if (k === 2) input = input.subarray(0, 1 + r.int(input.length - 1));
      if (k === 3) input = Buffer.from(r.pick(['*2147483648\r\n', '*1\r\n$99999999999\r\n', '*1\r\n*1\r\n$4\r\nPING\r\n', 'ECHO "a\r\n', '$-2\r\n']), 'latin1');
    }
    fig.fuzzed++;
    fig.fuzzBytes += input.length;
    await new Promise((resolve) => {
      const s = net.connect({ port: proxyPort, host: '127.0.0.1' });
      const t = setTimeout(() => s.destroy(), 100 + r.int(200));
      s.on('connect', () => s.write(input));
      s.on('data', () => {});
      let endAt = 0;
      s.on('end', () => (endAt = Date.now()));
      s.on('error', () => {});
      s.on('close', () => {
        endAt ||= Date.now();
        clearTimeout(t);
        resolve();
      });
    });
    await sleep(20);
  }
}

// ───────────────────────────── run

const t0 = Date.now();
const deadline = t0 + MINUTES * 60_000;
console.log(
  `soak: ${MINUTES} min, ${CLIENTS} clients, a fault every ${FAULT_EVERY_S} s, seed ${SEED}; ` +
    `redis :${redisPort}, proxy :${proxyPort} (admin :${adminPort}, pid ${proxy.child.pid})`,
);
const sampler = setInterval(() => fig.rss.push(rssMb(proxy.child.pid)), 1000);
const progress = setInterval(() => {
  const min = ((Date.now() - t0) / 60_000).toFixed(1);
  console.log(
    `  ${min} min: ${held} clients held, ${fig.answered} replies (${fig.wrong.length} wrong), ` +
      `${fig.faults.filter((f) => f.survived).length}/${fig.faults.length} faults survived, ${fig.fuzzed} fuzzed, RSS ${fig.rss.at(-1)?.toFixed(0)} MB`,
  );
}, 30_000);

const clients = Array.from({ length: CLIENTS }, (_, i) => new LoadClient(i));
const running = [...clients.map((c) => c.run(deadline)), fuzzer(deadline)];
const faultLoop = (async () => {
  const kinds = ['kill', 'restart', 'freeze'];
  for (let i = 0; !stopping; i++) {
    await sleep(FAULT_EVERY_S * 1000);
    if (Date.now() > deadline - 10_000 || proxyExited) break;
    await fault(kinds[i % kinds.length]);
  }
})();
const watchProxy = setInterval(() => {
  if (proxyExited) stopping = true;
}, 200);

await Promise.all(running);
stopping = true;
await faultLoop;
clearInterval(sampler);
clearInterval(progress);
clearInterval(watchProxy);

let stats = null;
try {
  stats = await (await fetch(`http://127.0.0.1:${adminPort}/stats`)).json();
} catch {
  /* reported below */
}
const alive = !proxyExited && proxy.child.exitCode === null;
const crash = proxy.output().split('\n').filter((l) => /uncaught|unhandled|^\s+at .+:\d+:\d+\)?$|FATAL ERROR/i.test(l));
const rss = fig.rss.filter((x) => !Number.isNaN(x));
const survived = fig.faults.filter((f) => f.survived).length;
proxy.child.kill('SIGTERM');
await Promise.race([proxy.exit, sleep(12_000)]);
redis.child.kill('SIGKILL');

const minutes = (Date.now() - t0) / 60_000;
console.log(`
soak finished after ${minutes.toFixed(1)} min (seed ${SEED})
  clients held:     ${fig.maxHeld} at most of ${CLIENTS} (${fig.connects} connections, ${fig.disconnects} closed by the proxy, ${fig.unexpected.length} of them outside a fault)
  requests:         ${fig.requests} sent, ${fig.answered} answered: ${fig.right} right, ${fig.wrong.length} wrong; ${fig.unanswered} left without a reply by a fault's close
  Redis down:       ${fig.downProbes} new clients tried while it was down (each must be accepted, then closed without a reply)
  faults survived:  ${survived} of ${fig.faults.length} (${fig.faults.map((f) => `${f.kind}${f.survived ? '' : ' FAILED'} ${f.recoveredMs} ms`).join(', ') || 'none'})
  inputs fuzzed:    ${fig.fuzzed} (${(fig.fuzzBytes / 1024).toFixed(0)} KB)
  proxy RSS:        min ${Math.min(...rss).toFixed(0)} MB, max ${Math.max(...rss).toFixed(0)} MB, last ${rss.at(-1)?.toFixed(0)} MB
  cache:            ${stats ? `${stats.cache.hits} hits, ${stats.cache.misses} misses, ${stats.cache.entries} entries` : 'admin port did not answer'}
  proxy:            ${alive ? 'alive until the end' : `EXITED (${JSON.stringify(proxyExited)})`}; ${crash.length} crash lines in its output`);
for (const w of fig.wrong.slice(0, 20)) console.log(`  wrong: ${w}`);
for (const w of fig.unexpected.slice(0, 20)) console.log(`  closed outside a fault: ${w}`);
for (const l of crash.slice(0, 20)) console.log(`  crash: ${l}`);

const pass = fig.wrong.length === 0 && fig.unexpected.length === 0 && survived === fig.faults.length && alive && crash.length === 0 && fig.maxHeld > 0;
console.log(pass ? 'soak: PASS' : 'soak: FAIL');
process.exit(pass ? 0 : 1);
