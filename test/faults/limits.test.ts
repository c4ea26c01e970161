// Bounds (contract §1.5, §4.4): --max-clients, --proto-max-bulk-len, --query-buffer-limit,
// --idle-timeout, output limits for a slow subscriber, backpressure on a client that
// pipelines cache hits without reading, and --max-memory. Every wait is bounded; the
// proxy's memory is read from /proc/<pid>/status.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { RawClient, cmd, sleep, startProxy, startRedis, withTimeout, proxyStats, eventually, startAdminProxy, type ProxyProcess, type RedisServer } from '../helpers/index.js';
import { FrameStream, rssMb, rssSampler } from './fault-helpers.js';

let redis: RedisServer;

/**
 * n clients, connected and answered (each holds a slot of --max-clients). Clients an
 * earlier test closed may still hold slots for a moment: then all are let go and tried again.
 */
async function connectServed(port: number, n: number): Promise<RawClient[]> {
  const deadline = Date.now() + 3000;
  for (;;) {
    const held: RawClient[] = [];
    let refused = false;
    for (let i = 0; i < n && !refused; i++) {
      const c = await RawClient.connect(port);
      held.push(c);
      c.write(cmd('PING'));
      const r = (await c.readFrame()).toString();
      refused = r !== '+PONG\r\n';
      if (refused) assert.equal(r, '-ERR max number of clients reached\r\n');
    }
    if (!refused) return held;
    for (const c of held) c.destroy();
    assert.ok(Date.now() < deadline, `${n} clients could not all be served within 3 s`);
    await sleep(50);
  }
}

/** A client that connects now is served (its PING gets +PONG), not refused. */
async function newClientServed(port: number): Promise<boolean> {
  const c = await RawClient.connect(port);
  c.write(cmd('PING'));
  const r = (await c.readBytes(1000, 100)).toString();
  c.destroy();
  return r === '+PONG\r\n';
}

before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis?.stop();
});

describe('--max-clients 3', () => {
  let proxy: ProxyProcess;
  before(async () => {
    proxy = await startProxy({ redisPort: redis.port, args: ['--max-clients', '3'] });
    // startProxy's own PING connection must be gone before we count
    await sleep(100);
  });
  after(async () => {
    await proxy?.stop();
  });

  test('the 4th client gets -ERR max number of clients reached and is closed; a freed slot is usable again', async () => {
    const three = await connectServed(proxy.port, 3);
    const fourth = await RawClient.connect(proxy.port);
    fourth.write(cmd('PING'));
    const got = await fourth.readUntilClosed(3000);
    assert.equal(got.toString(), '-ERR max number of clients reached\r\n');
    // the three are untouched
    for (const c of three) {
      c.write(cmd('PING'));
      assert.equal((await c.readFrame()).toString(), '+PONG\r\n');
    }
    three.pop()!.destroy();
    await eventually('a slot freed by a client that left is given to the next one', () => newClientServed(proxy.port), 3000, 50);
    for (const c of three) c.destroy();
  });

  // refused and finished clients give their slot and descriptor back
  const fds = () => readdirSync(`/proc/${proxy.pid}/fd`).length;
  const slotFree = () => eventually('a fourth client is served', () => newClientServed(proxy.port), 5000, 100);

  test('refused clients that reset at once, or never read, neither crash the proxy nor keep a descriptor', async () => {
    const three = await connectServed(proxy.port, 3);
    const before = fds();
    const silent: RawClient[] = [];
    for (let i = 0; i < 20; i++) {
      const c = await RawClient.connect(proxy.port);
      c.write(cmd('PING'));
      if (i % 2 === 0) c.socket.resetAndDestroy(); // (an unread reply: the proxy's write meets a reset)
      else {
        c.socket.pause(); // never reads, never closes
        silent.push(c);
      }
    }
    await eventually('the refused sockets are closed by the proxy', async () => fds() <= before, 5000, 100);
    for (const c of three) {
      c.write(cmd('PING'));
      assert.equal((await c.readFrame()).toString(), '+PONG\r\n', 'the proxy is still up');
    }
    for (const c of [...three, ...silent]) c.destroy();
    await slotFree();
  });

  test('after QUIT or a protocol error the proxy closes the connection, even if the client keeps its side open and unread', async () => {
    const held: RawClient[] = [];
    for (const wire of [cmd('QUIT'), '*1\r\n$abc\r\n', cmd('QUIT') + cmd('PING')]) {
      const c = await RawClient.connect(proxy.port);
      c.write(wire);
      c.write('x'.repeat(512 * 1024)); // more than the proxy reads once it stopped
      held.push(c); // neither ended nor destroyed
    }
    await slotFree();
    for (const c of held) c.destroy();
  });
});

describe('--proto-max-bulk-len 1mb (the least Redis allows)', () => {
  let proxy: ProxyProcess;
  before(async () => {
    proxy = await startProxy({ redisPort: redis.port, args: ['--proto-max-bulk-len', '1mb'] });
  });
  after(async () => {
    await proxy?.stop();
  });

  test('a 2 MB bulk header is refused as soon as it arrives, before its payload is buffered', async () => {
    const c = await RawClient.connect(proxy.port);
    c.write(cmd('SET', 'lim:ok', 'x'.repeat(1024 * 1024)));
    assert.equal((await c.readFrame()).toString(), '+OK\r\n', 'exactly 1 MB is accepted');
    // only the header of the oversized argument: no payload follows, yet the answer comes
    c.write(`*3\r\n$3\r\nSET\r\n$7\r\nlim:big\r\n$${2 * 1024 * 1024}\r\n`);
    const got = await c.readUntilClosed(3000);
    assert.equal(got.toString(), '-ERR Protocol error: invalid bulk length\r\n');
    assert.equal(await redis.cli('EXISTS', 'lim:big'), '0\n', 'nothing of it reached Redis as a command');
  });

  test('a whole GET argument one byte over gets the same error and close', async () => {
    const c = await RawClient.connect(proxy.port);
    c.write(cmd('GET', 'k'.repeat(1024 * 1024 + 1)));
    assert.equal((await c.readUntilClosed(3000)).toString(), '-ERR Protocol error: invalid bulk length\r\n');
  });
});

describe('--query-buffer-limit 1mb', () => {
  let proxy: ProxyProcess;
  before(async () => {
    proxy = await startProxy({ redisPort: redis.port, args: ['--query-buffer-limit', '1mb'] });
  });
  after(async () => {
    await proxy?.stop();
  });

  /** Streams `head` then filler until the proxy drops the client; returns bytes sent. */
  async function sendUntilDropped(head: string, filler: Buffer, maxBytes: number): Promise<number> {
    const c = await RawClient.connect(proxy.port);
    c.write(head);
    let sent = head.length;
    const t0 = Date.now();
    while (!c.closedYet && sent < maxBytes && Date.now() - t0 < 10_000) {
      if (c.socket.writableNeedDrain) {
        await sleep(5);
        continue;
      }
      c.write(filler);
      sent += filler.length;
      await sleep(1);
    }
    await withTimeout(c.closed(), 5000, 'the client is dropped').catch(() => assert.fail(`not dropped after ${sent} bytes`));
    c.destroy();
    return sent;
  }

  test('an endless unfinished GET argument (never streamed to Redis) is dropped', async () => {
    const rss0 = rssMb(proxy.pid);
    const sent = await sendUntilDropped('*2\r\n$3\r\nGET\r\n$100000000\r\n', Buffer.alloc(64 * 1024, 'a'), 64 * 1024 * 1024);
    console.log(`# dropped after ${(sent / 1024 / 1024).toFixed(1)} MB sent; proxy RSS ${rss0.toFixed(0)} → ${rssMb(proxy.pid).toFixed(0)} MB`);
    assert.ok(sent < 16 * 1024 * 1024, `dropped soon after the 1 MB limit, long before the 64 MB the client would send (sent ${sent})`);
  });

  test('an endless multibulk of small arguments is dropped', async () => {
    const arg = Buffer.from('$1\r\nx\r\n'.repeat(8192));
    const sent = await sendUntilDropped('*1000000\r\n$5\r\nRPUSH\r\n$8\r\nlim:list\r\n', arg, 64 * 1024 * 1024);
    console.log(`# dropped after ${(sent / 1024 / 1024).toFixed(1)} MB sent`);
    assert.ok(sent < 16 * 1024 * 1024, `dropped soon after the 1 MB limit, long before the 64 MB the client would send (sent ${sent})`);
  });

  test('the proxy still serves other clients afterwards', async () => {
    const c = await RawClient.connect(proxy.port);
    c.write(cmd('PING'));
    assert.equal((await c.readFrame()).toString(), '+PONG\r\n');
    c.destroy();
  });
});

describe('--idle-timeout 1', () => {
  let proxy: ProxyProcess;
  before(async () => {
    proxy = await startProxy({ redisPort: redis.port, args: ['--idle-timeout', '1'] });
  });
  after(async () => {
    await proxy?.stop();
  });

  test('an idle client is closed after ~1-2 s; a subscribed one and a blocked one are not', async () => {
    const idle = await RawClient.connect(proxy.port);
    const sub = await RawClient.connect(proxy.port);
    const blocked = await RawClient.connect(proxy.port);
    idle.write(cmd('PING'));
    sub.write(cmd('SUBSCRIBE', 'lim:idle'));
    await idle.readFrame();
    await sub.readFrame();
    const t0 = Date.now();
    blocked.write(cmd('BLPOP', 'lim:nolist', '2.5'));

    await withTimeout(idle.closed(), 3000, 'the idle client is closed');
    const ms = Date.now() - t0;
    assert.ok(ms >= 900 && ms <= 2300, `closed after ${ms} ms of silence (timeout 1 s)`);

    // the blocked client gets its nil after 2.5 s, not a close at 1 s
    assert.equal((await blocked.readFrame(4000)).toString(), '*-1\r\n');
    assert.ok(Date.now() - t0 >= 2400);
    // the subscriber, silent for 2.5 s, still gets messages
    assert.equal(sub.closedYet, false, 'a subscribed client is not an idle one');
    assert.equal(await redis.cli('PUBLISH', 'lim:idle', 'hello'), '1\n');
    assert.equal((await sub.readFrame()).toString(), '*3\r\n$7\r\nmessage\r\n$8\r\nlim:idle\r\n$5\r\nhello\r\n');
    idle.destroy();
    sub.destroy();
    blocked.destroy();
  });
});

for (const [label, redisLimit] of [
  ["Redis's default pubsub limit (32mb 8mb 60)", null],
  ['no pubsub limit in Redis: only the proxy can cut', 'pubsub 0 0 0'],
] as const) {
describe(`a slow subscriber with --output-limit-pubsub "1mb 512kb 1", ${label}`, () => {
  let proxy: ProxyProcess;
  before(async () => {
    if (redisLimit) assert.equal(await redis.cli('CONFIG', 'SET', 'client-output-buffer-limit', redisLimit), 'OK\n');
    proxy = await startProxy({ redisPort: redis.port, args: ['--output-limit-pubsub', '1mb 512kb 1'] });
  });
  after(async () => {
    await proxy?.stop();
    await redis.cli('CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub 32mb 8mb 60');
  });
  test('~50 MB published: the never-reading subscriber is cut off, a reading one gets every message, RSS stays bounded', async () => {
    const slow = await FrameStream.connect(proxy.port);
    slow.write(cmd('SUBSCRIBE', 'lim:ch'));
    await slow.waitFrames(1, 3000);
    slow.socket.pause(); // never reads again (until the end)
    const good = await FrameStream.connect(proxy.port);
    good.write(cmd('SUBSCRIBE', 'lim:ch'));
    await good.waitFrames(1, 3000);

    const receivers: number[] = [];
    const pub = await FrameStream.connect(proxy.port, (f) => receivers.push(Number(/^:(\d+)/.exec(f.toString('latin1'))?.[1])));
    const payload = 'p'.repeat(10_000);
    const BATCH = 50;
    const BATCHES = 100; // 5,000 messages of 10 KB: 50 MB
    const rss = rssSampler(proxy.pid, 100);
    const t0 = Date.now();
    let cutAfterMs = -1;
    try {
      for (let b = 0; b < BATCHES; b++) {
        let s = '';
        for (let i = 0; i < BATCH; i++) s += cmd('PUBLISH', 'lim:ch', payload);
        pub.write(s);
        await pub.waitFrames((b + 1) * BATCH, 10_000);
        if (cutAfterMs < 0 && receivers[receivers.length - 1] === 1) cutAfterMs = Date.now() - t0;
      }
      await good.waitFrames(1 + BATCH * BATCHES, 20_000);
    } finally {
      rss.stop();
    }
    const published = BATCH * BATCHES;
    assert.ok(receivers.every((n) => n === 1 || n === 2), 'PUBLISH reached one or both subscribers');
    if (cutAfterMs < 0) {
      const omem = Math.max(...(await redis.cli('CLIENT', 'LIST')).split('\n').map((l) => Number(/omem=(\d+)/.exec(l)?.[1] ?? 0)));
      assert.fail(
        `the slow subscriber was not cut off while ~50 MB were published: it is still subscribed, and Redis holds ` +
          `${(omem / 1e6).toFixed(1)} MB of output for the proxy's connection on its behalf (proxy RSS max ${rss.max().toFixed(0)} MB)`,
      );
    }
    assert.equal(good.frames, 1 + published, 'the reading subscriber got every message');
    assert.ok(rss.max() < 200, `proxy RSS stayed < 200 MB (max ${rss.max().toFixed(0)} MB)`);

    // once it reads again, the slow one finds the end of its connection after what was already on its way
    slow.socket.resume();
    assert.ok(await slow.waitClosed(10_000), 'the slow subscriber is disconnected');
    assert.ok(slow.frames - 1 < published / 2, `the slow subscriber was cut off (it got ${slow.frames - 1} of ${published} messages)`);
    // and the proxy still delivers to the good one
    assert.equal(await redis.cli('PUBLISH', 'lim:ch', 'after'), '1\n');
    await good.waitFrames(2 + published, 3000);
    const warn = proxy.output().split('\n').filter((l) => /output buffer limit/.test(l)).length;
    console.log(
      `# slow subscriber: cut ${cutAfterMs} ms into publishing (${receivers.indexOf(1)} of ${published} messages published), ` +
        `got ${slow.frames - 1} messages (${(slow.bytes / 1e6).toFixed(1)} MB); cut by ${warn > 0 ? 'the proxy' : "Redis's own pubsub limit"}; ` +
        `proxy RSS max ${rss.max().toFixed(0)} MB`,
    );
    good.destroy();
    pub.destroy();
  });
});
}

describe('backpressure: a client pipelining cache hits without reading', () => {
  let proxy: ProxyProcess;
  let admin: number;
  before(async () => {
    ({ proxy, admin } = await startAdminProxy(redis.port));
  });
  after(async () => {
    await proxy?.stop();
  });

  test('200k GETs of a cached 1 KB value: RSS stays bounded while unread, then every reply arrives', async () => {
    const value = 'v'.repeat(1024);
    const expected = Buffer.from(`$1024\r\n${value}\r\n`);
    const setup = await RawClient.connect(proxy.port);
    setup.write(cmd('SET', 'lim:hot', value));
    await setup.readFrame();
    const hits0 = (await proxyStats(admin)).cache.hits;
    await eventually(
      'lim:hot is served from the cache',
      async () => {
        setup.write(cmd('GET', 'lim:hot'));
        await setup.readFrame();
        return (await proxyStats(admin)).cache.hits > hits0;
      },
      3000,
      10,
    );
    setup.destroy();

    const N = 200_000;
    let bad = 0;
    const s = await FrameStream.connect(proxy.port, (f) => {
      if (!f.equals(expected)) bad++;
    });
    s.socket.pause(); // not reading
    const rss0 = rssMb(proxy.pid);
    const req = Buffer.from(cmd('GET', 'lim:hot').repeat(N));
    s.write(req); // 4.4 MB of requests, 200 MB of replies
    const rss = rssSampler(proxy.pid, 100);
    await sleep(3000);
    rss.stop();
    const stalled = (await proxyStats(admin)).cache.hits - hits0;
    assert.ok(rss.max() - rss0 < 64, `proxy RSS grew ${(rss.max() - rss0).toFixed(0)} MB while the client did not read (from ${rss0.toFixed(0)} MB)`);
    assert.ok(stalled < N, `the proxy stopped answering an unread client (${stalled} of ${N} hits produced)`);

    s.socket.resume();
    const t0 = Date.now();
    await s.waitFrames(N, 60_000);
    await sleep(100);
    assert.equal(s.frames, N, 'exactly one reply per GET');
    assert.equal(bad, 0, 'every reply is the cached value');
    console.log(
      `# 200k unread GETs: RSS ${rss0.toFixed(0)} → max ${rss.max().toFixed(0)} MB, ${stalled} hits before the client read; ` +
        `all ${N} replies (${(s.bytes / 1e6).toFixed(0)} MB) read in ${Date.now() - t0} ms`,
    );
    s.destroy();
  });
});

describe('--max-memory 64kb', () => {
  let proxy: ProxyProcess;
  let admin: number;
  before(async () => {
    ({ proxy, admin } = await startAdminProxy(redis.port, { args: ['--max-memory', '64kb', '--capacity', '1000'] }));
  });
  after(async () => {
    await proxy?.stop();
  });

  test('with 1 KB values the cache holds <= 64 KB and <= capacity entries, and still serves hits', async () => {
    const c = await RawClient.connect(proxy.port);
    const value = 'm'.repeat(1024);
    let maxBytes = 0;
    let maxEntries = 0;
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 200; i += 20) {
        let s = '';
        for (let j = i; j < i + 20; j++) s += cmd('SET', `lim:mm:${j}`, value);
        c.write(s);
        await c.readFrames(20);
        // each GET on its own so that each one can fill
        for (let j = i; j < i + 20; j++) {
          c.write(cmd('GET', `lim:mm:${j}`));
          assert.equal((await c.readFrame()).toString(), `$1024\r\n${value}\r\n`);
        }
        const st = await proxyStats(admin);
        maxBytes = Math.max(maxBytes, st.cache.bytes);
        maxEntries = Math.max(maxEntries, st.cache.entries);
        assert.ok(st.cache.bytes <= 64 * 1024, `cache bytes ${st.cache.bytes} <= 65536`);
        assert.ok(st.cache.entries <= 1000);
      }
    }
    // the most recent keys are cached and served
    const hits0 = (await proxyStats(admin)).cache.hits;
    for (let j = 195; j < 200; j++) {
      c.write(cmd('GET', `lim:mm:${j}`));
      assert.equal((await c.readFrame()).toString(), `$1024\r\n${value}\r\n`);
    }
    const st = await proxyStats(admin);
    assert.ok(st.cache.hits > hits0, 'recent keys are served from the cache');
    assert.ok(st.cache.evictions > 0, 'older entries were evicted to stay under the byte bound');
    assert.ok(maxEntries < 200 && maxEntries > 10, `entries bounded by bytes, not by capacity (max ${maxEntries})`);
    console.log(`# --max-memory 64kb: max ${maxBytes} bytes in ${maxEntries} entries, ${st.cache.evictions} evictions`);
    c.destroy();
  });
});
