// Real client libraries and tools through the proxy: redis-cli (plain and --pipe), ioredis
// (pipelines, transactions, pub/sub, binary), node-redis v6 over RESP3 (maps, doubles,
// transactions, pub/sub on the same connection, client-side caching).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { redisCli, sleep, startProxy, startRedis, withTimeout, type ProxyProcess, type RedisServer } from '../helpers/index.js';

/** every test is bounded: a client waiting forever on a reply must fail, not hang the run */
const T = { timeout: 20_000 };

let redis: RedisServer;
let proxy: ProxyProcess;
const ioClients: Redis[] = [];

before(async () => {
  redis = await startRedis();
  proxy = await startProxy({ redisPort: redis.port });
});

after(async () => {
  for (const c of ioClients) c.disconnect();
  await proxy?.stop();
  await redis?.stop();
});

function io(): Redis {
  // no retries: a proxy that drops the connection must fail the test, not be papered over
  const c = new Redis({ host: '127.0.0.1', port: proxy.port, maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
  c.on('error', () => {}); // surfaced through the failing command instead
  ioClients.push(c);
  return c;
}

async function flush(): Promise<void> {
  assert.equal(await redis.cli('FLUSHALL'), 'OK\n');
  await sleep(10);
}

// ------------------------------------------------------------------ redis-cli

test('redis-cli: plain commands print the same output through the proxy as against Redis', T, async () => {
  const script: string[][] = [
    ['SET', 'foo', 'bar'],
    ['GET', 'foo'],
    ['GET', 'foo'],
    ['GET', 'nosuch'],
    ['INCR', 'n'],
    ['HSET', 'h', 'a', '1', 'b', '2'],
    ['HGETALL', 'h'],
    ['RPUSH', 'l', 'x', 'y z'],
    ['LRANGE', 'l', '0', '-1'],
    ['GET', 'l'],
    ['NOSUCHCMD', 'arg'],
    ['-3', 'HGETALL', 'h'],
    ['-3', 'GET', 'nosuch'],
    ['--no-raw', 'MGET', 'foo', 'nosuch'],
    ['DEL', 'foo'],
    ['GET', 'foo'],
  ];
  const run = async (port: number) => {
    const outs: string[] = [];
    for (const args of script) outs.push(await redisCli(port, args));
    return outs;
  };
  await flush();
  const viaProxy = await run(proxy.port);
  await flush();
  const direct = await run(redis.port);
  assert.deepEqual(viaProxy, direct);
  // and the outputs are what a redis-cli user expects
  assert.equal(viaProxy[0], 'OK\n');
  assert.equal(viaProxy[1], 'bar\n');
  assert.equal(viaProxy[2], 'bar\n');
  assert.equal(viaProxy[6], 'a\n1\nb\n2\n');
  assert.match(viaProxy[9], /WRONGTYPE/);
  assert.match(viaProxy[10], /ERR unknown command 'NOSUCHCMD'/);
  assert.equal(viaProxy[15], '\n');
});

test('redis-cli --pipe: mass insertion of 10,000 SETs through the proxy, then DBSIZE is 10000', T, async () => {
  await flush();
  let input = '';
  for (let i = 0; i < 10_000; i++) {
    const k = `key:${i}`;
    const v = `value:${i}`;
    input += `*3\r\n$3\r\nSET\r\n$${k.length}\r\n${k}\r\n$${v.length}\r\n${v}\r\n`;
  }
  const out = await redisCli(proxy.port, ['--pipe'], { input, timeoutMs: 20_000 });
  assert.match(out, /errors: 0, replies: 10000/);
  assert.equal(await redisCli(proxy.port, ['DBSIZE']), '10000\n');
  assert.equal(await redis.cli('DBSIZE'), '10000\n');
  assert.equal(await redisCli(proxy.port, ['GET', 'key:9999']), 'value:9999\n');
  assert.equal(await redisCli(proxy.port, ['GET', 'key:0']), 'value:0\n');
});

// ------------------------------------------------------------------ ioredis

test('ioredis: pipeline results, including an error in the middle and binary values', T, async () => {
  await flush();
  const c = io();
  await c.connect();
  const res = await c
    .pipeline()
    .set('p:a', '1')
    .get('p:a')
    .incr('p:a')
    .lpush('p:list', 'x')
    .get('p:list')
    .hset('p:h', { f1: 'v1', f2: 'v2' })
    .hgetall('p:h')
    .get('p:nosuch')
    .get('p:a')
    .exec();
  assert.ok(res);
  assert.deepEqual(
    res.map(([e, v]) => (e ? `ERR:${e.message.split(' ')[0]}` : v)),
    ['OK', '1', 2, 1, 'ERR:WRONGTYPE', 2, { f1: 'v1', f2: 'v2' }, null, '2'],
  );
  const bin = Buffer.from([0x00, 0x0d, 0x0a, 0xff, 0xfe, 0x24, 0x2d, 0x31, 0x0d, 0x0a]);
  assert.equal(await c.set(Buffer.from('bin\r\nkey'), bin), 'OK');
  assert.deepEqual(await c.getBuffer(Buffer.from('bin\r\nkey')), bin);
  assert.deepEqual(await c.getBuffer(Buffer.from('bin\r\nkey')), bin);
});

test('ioredis: MULTI/EXEC transaction, and WATCH aborting when another client writes', T, async () => {
  await flush();
  const a = io();
  const b = io();
  await Promise.all([a.connect(), b.connect()]);
  assert.deepEqual(await a.multi().set('t:k', 'v').get('t:k').incr('t:n').exec(), [
    [null, 'OK'],
    [null, 'v'],
    [null, 1],
  ]);
  assert.equal(await a.get('t:k'), 'v');
  await a.watch('t:k');
  assert.equal(await b.set('t:k', 'changed'), 'OK');
  assert.equal(await a.multi().set('t:k', 'from-a').exec(), null, 'EXEC of a transaction whose watched key changed is nil');
  assert.equal(await a.get('t:k'), 'changed');
  await a.watch('t:k');
  assert.deepEqual(await a.multi().set('t:k', 'from-a').exec(), [[null, 'OK']]);
  assert.equal(await b.get('t:k'), 'from-a');
});

test('ioredis: pub/sub SUBSCRIBE and PSUBSCRIBE across two connections, then back to commands', T, async () => {
  await flush();
  const sub = io();
  const pub = io();
  await Promise.all([sub.connect(), pub.connect()]);
  const got: string[] = [];
  sub.on('message', (ch: string, msg: string) => got.push(`message ${ch} ${msg}`));
  sub.on('pmessage', (pat: string, ch: string, msg: string) => got.push(`pmessage ${pat} ${ch} ${msg}`));
  assert.equal(await sub.subscribe('chat'), 1);
  assert.equal(await sub.psubscribe('news.*'), 2);
  assert.equal(await pub.publish('chat', 'hello'), 1);
  assert.equal(await pub.publish('news.tech', 'ts'), 1);
  assert.equal(await pub.publish('nobody', 'x'), 0);
  await withTimeout(
    (async () => {
      while (got.length < 2) await sleep(5);
    })(),
    3000,
    'pub/sub messages',
  );
  assert.deepEqual(got.sort(), ['message chat hello', 'pmessage news.* news.tech ts']);
  // (ioredis never settles a bare unsubscribe() while patterns remain, even against Redis: name them)
  assert.equal(await sub.unsubscribe('chat'), 1);
  assert.equal(await sub.punsubscribe('news.*'), 0);
  assert.equal(await pub.publish('chat', 'late'), 0);
  assert.equal(await sub.set('after', 'sub'), 'OK');
  assert.equal(await sub.get('after'), 'sub');
});

// ------------------------------------------------------------------ node-redis v6, RESP3

test('node-redis v6 with RESP3: strings, maps, sets, doubles, nulls, MULTI and same-connection pub/sub', T, async () => {
  await flush();
  const c = createClient({ RESP: 3, socket: { host: '127.0.0.1', port: proxy.port, reconnectStrategy: false } });
  const other = createClient({ RESP: 3, socket: { host: '127.0.0.1', port: proxy.port, reconnectStrategy: false } });
  c.on('error', () => {});
  other.on('error', () => {});
  await c.connect();
  await other.connect();
  try {
    assert.equal(await c.set('nr:k', 'v'), 'OK');
    assert.equal(await c.get('nr:k'), 'v');
    assert.equal(await c.get('nr:k'), 'v');
    assert.equal(await c.get('nr:nosuch'), null);
    assert.equal(await c.hSet('nr:h', { a: '1', b: '2' }), 2);
    assert.deepEqual({ ...(await c.hGetAll('nr:h')) }, { a: '1', b: '2' });
    assert.equal(await c.sAdd('nr:s', ['3', '1', '2']), 3);
    assert.deepEqual([...(await c.sMembers('nr:s'))].sort(), ['1', '2', '3']);
    assert.equal(await c.zAdd('nr:z', [{ score: 1.5, value: 'm' }]), 1);
    assert.equal(await c.zScore('nr:z', 'm'), 1.5);
    assert.deepEqual(await c.multi().set('nr:t', '1').incr('nr:t').get('nr:t').exec(), ['OK', 2, '2']);

    // another client's write is seen by the next GET
    assert.equal(await other.set('nr:k', 'v2'), 'OK');
    assert.equal(await c.get('nr:k'), 'v2');

    // RESP3 pub/sub on the same connection that keeps running commands
    const messages: string[] = [];
    await c.subscribe('nr:ch', (msg, ch) => messages.push(`${ch}:${msg}`));
    assert.equal(await other.publish('nr:ch', 'hi'), 1);
    await withTimeout(
      (async () => {
        while (messages.length < 1) await sleep(5);
      })(),
      3000,
      'RESP3 push message',
    );
    assert.deepEqual(messages, ['nr:ch:hi']);
    assert.equal(await c.get('nr:k'), 'v2');
    await c.unsubscribe('nr:ch');
    assert.equal(await other.publish('nr:ch', 'gone'), 0);
  } finally {
    c.destroy();
    other.destroy();
  }
});

test("node-redis v6 client-side caching (RESP3 CLIENT TRACKING) through the proxy sees another client's write", T, async () => {
  await flush();
  const writer = createClient({ RESP: 3, socket: { host: '127.0.0.1', port: proxy.port, reconnectStrategy: false } });
  const cached = createClient({
    RESP: 3,
    clientSideCache: { ttl: 0, maxEntries: 0 },
    socket: { host: '127.0.0.1', port: proxy.port, reconnectStrategy: false },
  });
  writer.on('error', () => {});
  cached.on('error', () => {});
  await writer.connect();
  await cached.connect();
  try {
    assert.equal(await writer.set('csc:k', 'one'), 'OK');
    assert.equal(await writer.get('csc:k'), 'one'); // likely now in the proxy's cache
    assert.equal(await cached.get('csc:k'), 'one'); // in node-redis's own cache too
    assert.equal(await cached.get('csc:k'), 'one');
    assert.equal(await writer.set('csc:k', 'two'), 'OK');
    // Redis pushes an invalidation to the tracking client; give it a moment to arrive
    const deadline = Date.now() + 2000;
    let seen: string | null = null;
    while (Date.now() < deadline) {
      seen = await cached.get('csc:k');
      if (seen === 'two') break;
      await sleep(20);
    }
    assert.equal(seen, 'two', 'a client-side cached value was never invalidated through the proxy');
  } finally {
    writer.destroy();
    cached.destroy();
  }
});
