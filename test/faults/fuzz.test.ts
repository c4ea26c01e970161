// A seeded raw-socket fuzzer (contract §1.5: the proxy never crashes, hangs or grows
// without bound on any byte sequence). ~500 connections, each sending one input: random
// bytes, valid RESP with bit flips or cut short, huge and malformed lengths, nested '*',
// inline commands with quotes and escapes, over-long lines, sent whole or in random
// pieces. Meanwhile a well-behaved ioredis client does SET/GET and must always get the
// right answers. Whatever the proxy sends back must be well-formed RESP; for the inputs
// whose answer does not depend on state, it must be byte for byte what Redis sends.
//
// Replay a run with FUZZ_SEED=<seed> (printed at the start); FUZZ_CONNECTIONS=<n> for more.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { RawClient, cmd, sleep, startRedis, proxyStats, startAdminProxy, type ProxyProcess, type RedisServer } from '../helpers/index.js';
import { escapeBytes } from '../helpers/util.js';
import { frameEnd } from '../helpers/resp.js';
import { alive, crashLines, prng, rssMb, rssSampler } from './fault-helpers.js';

const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed2025);
const CONNECTIONS = Number(process.env.FUZZ_CONNECTIONS ?? 500);
const CONCURRENCY = 16;
const TIME_BUDGET_MS = 60_000;

let redis: RedisServer;
let proxy: ProxyProcess;
let admin: number;

before(async () => {
  redis = await startRedis();
  ({ proxy, admin } = await startAdminProxy(redis.port, { args: ['--max-memory', '1mb'] }));
});
after(async () => {
  await proxy?.stop();
  await redis?.stop();
});

// Commands the fuzzer builds on. None of them can stop Redis, wipe a database or touch
// another client (no SHUTDOWN, FLUSH*, SWAPDB, CONFIG, DEBUG, CLIENT KILL/PAUSE, ACL).
const CORPUS: string[][] = [
  ['PING'], ['PING', 'hello'], ['ECHO', 'fz'], ['SET', 'fz:a', '1'], ['GET', 'fz:a'], ['GET', 'fz:nil'],
  ['INCR', 'fz:n'], ['DEL', 'fz:a'], ['MGET', 'fz:a', 'fz:b'], ['HSET', 'fz:h', 'f', 'v'], ['HGETALL', 'fz:h'],
  ['LPUSH', 'fz:l', 'x'], ['LRANGE', 'fz:l', '0', '-1'], ['XADD', 'fz:s', '*', 'f', 'v'], ['EXPIRE', 'fz:a', '100'],
  ['SET', 'fz:b', 'x'.repeat(300), 'PX', '5000'], ['GET', 'fz:b'], ['SELECT', '1'], ['SELECT', '0'], ['HELLO', '3'], ['HELLO', '2'],
  ['MULTI'], ['EXEC'], ['DISCARD'], ['WATCH', 'fz:a'], ['UNWATCH'], ['SUBSCRIBE', 'fz:ch'], ['PSUBSCRIBE', 'fz:*'],
  ['UNSUBSCRIBE'], ['PUBLISH', 'fz:ch', 'm'], ['RESET'], ['QUIT'], ['MONITOR'], ['BLPOP', 'fz:l2', '0.1'],
  ['EVAL', 'return 1', '0'], ['EVAL', "return redis.call('GET', KEYS[1])", '1', 'fz:a'], ['CLIENT', 'REPLY', 'OFF'],
  ['CLIENT', 'REPLY', 'SKIP'], ['CLIENT', 'TRACKING', 'ON'], ['CLIENT', 'SETNAME', 'fz'], ['AUTH', 'nobody', 'wrong'],
  ['NOSUCHCOMMAND', 'x'], ['GET'], ['SET', 'fz:a'], ['OBJECT', 'ENCODING', 'fz:a'], ['TYPE', 'fz:h'],
];

type Category = 'random' | 'bitflip' | 'truncated' | 'lengths' | 'nested' | 'inline' | 'longline' | 'mixed';
const CATEGORIES: Category[] = ['random', 'bitflip', 'truncated', 'lengths', 'nested', 'inline', 'longline', 'mixed'];
/** answers to these depend on no state: compared with Redis byte for byte */
const DETERMINISTIC = new Set<Category>(['lengths', 'nested', 'inline', 'longline']);

type R = ReturnType<typeof prng>;

function encodeSome(r: R, n: number): Buffer {
  let s = '';
  for (let i = 0; i < n; i++) s += cmd(...r.pick(CORPUS));
  return Buffer.from(s, 'latin1');
}

const BIG = ['2147483648', '2147483647', '9223372036854775807', '9223372036854775808', '99999999999999999999', '-2', '-2147483649',
  '1e3', '0x10', ' 5', '+5', '', '-0', '00000000000000000003', '536870913', '1048577'];

function generate(r: R, cat: Category): Buffer {
  switch (cat) {
    case 'random':
      return r.bytes(1 + r.int(512));
    case 'bitflip': {
      const b = encodeSome(r, 1 + r.int(4));
      for (let i = 1 + r.int(8); i > 0; i--) b[r.int(b.length)] ^= 1 << r.int(8);
      return b;
    }
    case 'truncated': {
      const b = encodeSome(r, 1 + r.int(3));
      return b.subarray(0, 1 + r.int(b.length - 1));
    }
    case 'lengths': {
      const n = r.pick(BIG);
      const t = r.pick([
        `*${n}\r\n`,
        `*${n}\r\n$4\r\nPING\r\n`,
        `*2\r\n$4\r\nECHO\r\n$${n}\r\nabc\r\n`,
        `*1\r\n$${n}\r\n`,
        `$${n}\r\n`,
        `*${n}x\r\n`,
        `*2\r\n$4\r\nECHO\r\n$3x\r\nabc\r\n`,
        `*1\r\n$4\r\nPING`,
      ]);
      return Buffer.from(t, 'latin1');
    }
    case 'nested': {
      let s = '';
      for (let i = 1 + r.int(20); i > 0; i--) s += r.pick(['*1\r\n', '*2\r\n', '*-1\r\n', '*0\r\n']);
      s += r.pick(['$4\r\nPING\r\n', '*1\r\n$4\r\nPING\r\n', ':1\r\n', '+OK\r\n', '']);
      return Buffer.from(s, 'latin1');
    }
    case 'inline': {
      const toks = ['ECHO', 'PING', ' ', '  ', '"', "'", '\\x41', '\\xZZ', '\\"', "\\'", '\\n', 'a', 'fz b', '"a b"', "'c d'", '"x"y', '\t', '\x00', '\r'];
      let s = r.pick(['ECHO ', 'PING ', 'ECHO "', "ECHO '"]);
      for (let i = r.int(12); i > 0; i--) s += r.pick(toks);
      return Buffer.from(s + r.pick(['\r\n', '\n', '\r\n', '\n\n']), 'latin1');
    }
    case 'longline': {
      const len = r.pick([65535, 65536, 65537, 70_000, 200_000]);
      const head = r.pick(['ECHO ', '*', '*1\r\n$', '*1\r\n$4\r\nPING\r\n']);
      return Buffer.concat([Buffer.from(head), Buffer.alloc(len, r.pick(['a', '1', ' ']))]);
    }
    case 'mixed':
      return Buffer.concat([encodeSome(r, 1 + r.int(3)), r.bytes(1 + r.int(64)), encodeSome(r, r.int(3))]);
  }
}

/** Sends `input` (whole or in random pieces), reads until the connection is quiet or closed. */
async function exchange(port: number, r: R, input: Buffer, pieces: boolean, quietMs: number): Promise<{ got: Buffer; closed: boolean }> {
  const c = await RawClient.connect(port);
  try {
    if (pieces && input.length > 1) {
      let off = 0;
      while (off < input.length && !c.closedYet) {
        const n = 1 + r.int(Math.min(64, input.length - off));
        c.write(input.subarray(off, off + n));
        off += n;
        if (r.int(4) === 0) await sleep(1);
      }
    } else {
      c.write(input);
    }
    // readBytes's quiet timer can fire before data already waiting in the socket is read
    // (timers run before I/O in a busy event loop): yield once more before calling it quiet
    const parts: Buffer[] = [];
    const deadline = Date.now() + 1000; // MONITOR and subscriptions are never quiet
    for (let round = 0; round < 20 && Date.now() < deadline; round++) {
      const part = await c.readBytes(Math.max(1, deadline - Date.now()), quietMs);
      parts.push(part);
      await new Promise((resolve) => setImmediate(resolve));
      if (c.pending().length === 0 && (part.length === 0 || c.closedYet)) break;
    }
    return { got: Buffer.concat(parts), closed: c.closedYet };
  } finally {
    c.destroy();
  }
}

/** Throws if `buf` is not a sequence of RESP frames (a cut-off last frame is allowed). */
function checkResp(buf: Buffer): number {
  let pos = 0;
  let frames = 0;
  for (;;) {
    const end = frameEnd(buf, pos); // throws on bytes that cannot be RESP
    if (end < 0) return frames;
    pos = end;
    frames++;
  }
}

test(`fuzz: ${CONNECTIONS} connections of hostile input (seed ${SEED}); the proxy stays up and a well-behaved client is always right`, async () => {
  console.log(`# FUZZ_SEED=${SEED}`);
  const r = prng(SEED);
  const rss = rssSampler(proxy.pid, 500);
  const good = new Redis({ host: '127.0.0.1', port: proxy.port, maxRetriesPerRequest: 0, retryStrategy: () => null });
  good.on('error', () => {});
  const goodFailures: string[] = [];
  let goodOps = 0;
  let stop = false;
  const goodLoop = (async () => {
    for (let i = 0; !stop; i++) {
      const key = `wb:${i % 50}`;
      const value = `v${i}-${SEED}`;
      try {
        assert.equal(await good.set(key, value), 'OK');
        assert.equal(await good.get(key), value);
        assert.equal(await good.get(key), value); // maybe from the cache
        goodOps += 3;
      } catch (e) {
        goodFailures.push(`op ${i}: ${(e as Error).message}`);
        if (goodFailures.length > 5) return;
      }
      await sleep(2);
    }
  })();

  const counts: Record<string, number> = {};
  const differences: string[] = [];
  const malformed: string[] = [];
  let inputs = 0;
  let retried = 0;
  let bytesIn = 0;
  const t0 = Date.now();
  try {
    // all inputs are drawn up front, so a seed replays the same inputs whatever the timing
    const jobs = Array.from({ length: CONNECTIONS }, () => {
      const cat = r.pick(CATEGORIES);
      return { cat, input: generate(r, cat), pieces: r.int(3) === 0, seed: r.int(2 ** 31) };
    });
    let nextJob = 0;
    const worker = async () => {
      while (nextJob < jobs.length && Date.now() - t0 < TIME_BUDGET_MS && goodFailures.length === 0) {
        const { cat, input, pieces, seed } = jobs[nextJob++];
        counts[cat] = (counts[cat] ?? 0) + 1;
        inputs++;
        bytesIn += input.length;
        const quiet = DETERMINISTIC.has(cat) ? 120 : 50;
        const viaProxy = await exchange(proxy.port, prng(seed), input, pieces, quiet);
        try {
          checkResp(viaProxy.got);
        } catch (e) {
          malformed.push(`[${cat}] input "${escapeBytes(input, 200)}" → "${escapeBytes(viaProxy.got, 200)}": ${(e as Error).message}`);
        }
        if (DETERMINISTIC.has(cat)) {
          let direct = await exchange(redis.port, prng(0), input, false, quiet);
          let proxied = viaProxy;
          const same = () => direct.got.equals(proxied.got) && direct.closed === proxied.closed;
          if (!same()) {
            // a busy machine can stretch an answer past the quiet window: ask both again, patiently
            direct = await exchange(redis.port, prng(0), input, false, 600);
            proxied = await exchange(proxy.port, prng(seed), input, pieces, 600);
            retried++;
          }
          if (!same()) {
            differences.push(
              `[${cat}] input "${escapeBytes(input, 160)}"\n    redis (${direct.closed ? 'closed' : 'open'}): "${escapeBytes(direct.got, 160)}"\n    proxy (${viaProxy.closed ? 'closed' : 'open'}): "${escapeBytes(viaProxy.got, 160)}"`,
            );
          }
        }
        if (inputs % 50 === 0) assert.ok(alive(proxy.pid), `the proxy is alive after ${inputs} inputs`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  } finally {
    stop = true;
    await goodLoop;
    rss.stop();
  }

  // after everything: still up, still right, nothing crashed
  const key = `wb:final:${SEED}`;
  assert.equal(await good.set(key, 'last'), 'OK');
  assert.equal(await good.get(key), 'last');
  good.disconnect();
  const fresh = await RawClient.connect(proxy.port);
  fresh.write(cmd('GET', key));
  assert.equal((await fresh.readFrame()).toString(), '$4\r\nlast\r\n');
  fresh.destroy();
  const st = await proxyStats(admin);

  console.log(
    `# fuzzed ${inputs} inputs (${(bytesIn / 1024).toFixed(0)} KB) in ${Date.now() - t0} ms: ${JSON.stringify(counts)}; ` +
      `${retried} differential checks retried (slow answer); well-behaved client: ${goodOps} ops; proxy RSS ${rss.samples[0].toFixed(0)}..${rss.max().toFixed(0)} MB; clients total ${st.clients.total}`,
  );
  assert.deepEqual(goodFailures, [], 'the well-behaved client always got the right answers');
  assert.ok(goodOps > 0);
  assert.ok(inputs >= Math.min(CONNECTIONS, 100), `enough inputs fuzzed within the time budget (${inputs})`);
  assert.deepEqual(malformed, [], 'the proxy only ever sends well-formed RESP');
  assert.deepEqual(differences, [], 'stateless inputs get exactly what Redis gives');
  assert.ok(alive(proxy.pid), 'the proxy process is still running');
  await sleep(100);
  assert.deepEqual(crashLines(proxy.output()), [], 'no uncaught errors or stack traces in the proxy output');
  assert.ok(rssMb(proxy.pid) < 300, 'proxy RSS is bounded');
});
