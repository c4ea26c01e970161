import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { startRedis, startAdminProxy, eventually, proxyStats, type RedisServer, type AdminProxy } from '../helpers/index.js';
import { client, scrape } from './ops-helpers.js';

// GET /v1/keys/:key (--http-get): the value through the same cache, never staler than
// what a client of the proxy could read.

async function httpGet(p: AdminProxy, key: string): Promise<{ status: number; body: Buffer; type: string | null }> {
  const res = await fetch(p.url(`/v1/keys/${key}`));
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()), type: res.headers.get('content-type') };
}

async function value(p: AdminProxy, key: string): Promise<string | null> {
  const r = await httpGet(p, key);
  if (r.status === 404) return null;
  assert.equal(r.status, 200, `GET ${key}: ${r.status} ${r.body.toString()}`);
  return r.body.toString();
}

describe('--http-get', () => {
  let redis: RedisServer;
  let p: AdminProxy;
  let c: Redis;
  let direct: Redis;
  before(async () => {
    redis = await startRedis();
    p = await startAdminProxy(redis.port, { until: 'readyz', args: ['--http-get', '--ttl', '3600'] });
    c = client(p.proxy.port);
    direct = client(redis.port);
    await Promise.all([c.ping(), direct.ping()]);
  });
  after(async () => {
    c.disconnect();
    direct.disconnect();
    await p.proxy.stop();
    await redis.stop();
  });

  test('200 with the raw bytes for a key, 404 for a missing one; the second read is a cache hit', async () => {
    await c.set('h:k', 'hello world');
    const r = await httpGet(p, 'h:k');
    assert.equal(r.status, 200);
    assert.equal(r.type, 'application/octet-stream');
    assert.equal(r.body.toString(), 'hello world');
    const hits = (await proxyStats(p.admin)).cache.hits;
    assert.equal(await value(p, 'h:k'), 'hello world');
    assert.equal((await proxyStats(p.admin)).cache.hits, hits + 1, 'served from the same cache');
    assert.equal((await httpGet(p, 'h:missing')).status, 404);
    const m = await scrape(p);
    assert.ok(m.get('redisproxy_http_get_requests_total{code="200"}')! >= 2);
    assert.ok(m.get('redisproxy_http_get_requests_total{code="404"}')! >= 1);
  });

  test('the key is percent-decoded to bytes: binary keys and values round-trip', async () => {
    const key = Buffer.from([0x62, 0x69, 0x6e, 0xff, 0x00, 0x2f, 0x20]); // "bin\xff\0/ "
    const val = Buffer.from([0x00, 0x01, 0xfe, 0xff, 0x0d, 0x0a]);
    await direct.set(key, val);
    const r = await httpGet(p, 'bin%FF%00%2F%20');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, val);
    assert.equal((await httpGet(p, 'bad%zz')).status, 400);
    assert.equal((await httpGet(p, '')).status, 400);
  });

  test('never stale after a write through the proxy', async () => {
    for (let i = 0; i < 50; i++) {
      await c.set('h:own', `v${i}`);
      assert.equal(await value(p, 'h:own'), `v${i}`);
      assert.equal(await value(p, 'h:own'), `v${i}`); // cached now, and must still be right after the next write
    }
    await c.del('h:own');
    assert.equal(await value(p, 'h:own'), null);
  });

  test('a direct write on Redis is seen within the invalidation window, and never reverts', async () => {
    await direct.set('h:direct', 'old');
    assert.equal(await value(p, 'h:direct'), 'old');
    assert.equal(await value(p, 'h:direct'), 'old');
    await direct.set('h:direct', 'new');
    await eventually('direct write seen', async () => (await value(p, 'h:direct')) === 'new', 1000, 10);
    for (let i = 0; i < 10; i++) assert.equal(await value(p, 'h:direct'), 'new');
    await direct.del('h:direct');
    await eventually('direct delete seen', async () => (await value(p, 'h:direct')) === null, 1000, 10);
  });

  test('a key of another type is 409 with Redis\'s error', async () => {
    await c.rpush('h:list', 'a');
    const r = await httpGet(p, 'h:list');
    assert.equal(r.status, 409);
    assert.match(r.body.toString(), /^WRONGTYPE/);
  });

  test('only GET and HEAD', async () => {
    assert.equal((await fetch(p.url('/v1/keys/h:k'), { method: 'POST' })).status, 405);
    const head = await fetch(p.url('/v1/keys/h:k'), { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String('hello world'.length));
  });
});

describe('--http-get with credentials and a database in --addr', () => {
  let redis: RedisServer;
  let p: AdminProxy;
  before(async () => {
    redis = await startRedis({ args: ['--requirepass', 'pw-for-http'] });
    p = await startAdminProxy(redis.port, { until: 'readyz', addr: `redis://:pw-for-http@127.0.0.1:${redis.port}/2`, args: ['--http-get'] });
  });
  after(async () => {
    await p.proxy.stop();
    await redis.stop();
  });

  test('reads as the --addr user in the --addr database; 502 while Redis is unreachable, 200 once back', async () => {
    await redis.cli('-a', 'pw-for-http', '--no-auth-warning', '-n', '2', 'SET', 'h:db', 'in db 2');
    await redis.cli('-a', 'pw-for-http', '--no-auth-warning', '-n', '0', 'SET', 'h:db', 'in db 0');
    assert.equal(await value(p, 'h:db'), 'in db 2');
    await redis.stop();
    const down = await httpGet(p, 'h:db');
    assert.equal(down.status, 502);
    assert.ok(!down.body.toString().includes('pw-for-http'), 'no password in the error');
    await redis.restart(); // no persistence: the key is gone
    await eventually('reads work again', async () => (await httpGet(p, 'h:db')).status === 404, 10_000, 10);
    assert.ok(!p.proxy.output().includes('pw-for-http'), 'the password never appears in logs');
  });
});

describe('without --http-get', () => {
  test('/v1/keys/ is not served', async () => {
    const redis = await startRedis();
    const p = await startAdminProxy(redis.port, { until: 'readyz' });
    try {
      assert.equal((await httpGet(p, 'anything')).status, 404);
    } finally {
      await p.proxy.stop();
      await redis.stop();
    }
  });
});
