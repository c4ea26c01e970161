import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { startRedis, sleep, RawClient, cmd, proxyStats, startAdminProxy, type RedisServer, type ProxyProcess } from '../helpers/index.js';
import { client } from './cache-helpers.js';

// Client sockets read into one buffer that the next read of any client overwrites
// (listener.ts): cache hits at the head of a read are answered from it in place, and
// the rest is copied. These tests look for bytes of one read leaking into another:
// a request of one client forwarded, or kept half-read, with another client's bytes in it.

describe('reads into the shared buffer', { timeout: 120_000 }, () => {
  let redis: RedisServer;
  let proxy: ProxyProcess;
  let admin: number;
  let c: Redis;
  before(async () => {
    redis = await startRedis();
    ({ proxy, admin } = await startAdminProxy(redis.port, { args: ['--capacity', '100000', '--ttl', '3600'] }));
    c = client(proxy.port);
  });
  after(async () => {
    c.disconnect();
    await proxy.stop();
    await redis.stop();
  });

  test('one read of hits, a miss, a write, a lower-case GET, an inline GET and a request cut in two answers as Redis would', async () => {
    await c.set('rb:h1', 'one');
    await c.set('rb:h2', 'two');
    assert.equal(await c.get('rb:h1'), 'one'); // fills
    assert.equal(await c.get('rb:h2'), 'two');
    const hits0 = (await proxyStats(admin)).cache.hits;
    const raw = await RawClient.connect(proxy.port);
    const cut = cmd('GET', 'rb:h2');
    raw.write(
      cmd('GET', 'rb:h1') + cmd('GET', 'rb:h2') + cmd('GET', 'rb:absent') + cmd('SET', 'rb:h1', 'uno') + cmd('GET', 'rb:h1') +
        '*2\r\n$3\r\nget\r\n$5\r\nrb:h2\r\n' + 'GET rb:h2\r\n' + cut.slice(0, 9),
    );
    await sleep(30);
    raw.write(cut.slice(9) + cmd('GET', 'rb:h2'));
    const got = (await raw.readFrames(9)).map((f) => f.toString('latin1'));
    assert.deepEqual(got, ['$3\r\none\r\n', '$3\r\ntwo\r\n', '$-1\r\n', '+OK\r\n', '$3\r\nuno\r\n', '$3\r\ntwo\r\n', '$3\r\ntwo\r\n', '$3\r\ntwo\r\n', '$3\r\ntwo\r\n']);
    // the two GETs at the head of the first read were hits served from the buffer itself
    assert.ok((await proxyStats(admin)).cache.hits >= hits0 + 2);
    raw.destroy();
  });

  test('many clients at once, each pipelining hits, misses and writes of its own keys, get only their own bytes', async () => {
    const clients = 24;
    const keys = 40;
    const val = (i: number, k: number, gen: number) => `c${i}-k${k}-g${gen}-${'x'.repeat((i * 7 + k) % 50)}`;
    for (let i = 0; i < clients; i++) {
      for (let k = 0; k < keys; k++) await c.set(`rb:c${i}:k${k}`, val(i, k, 0));
    }
    // fill half of each client's keys, so that a pipeline mixes hits and misses
    for (let i = 0; i < clients; i++) for (let k = 0; k < keys; k += 2) await c.get(`rb:c${i}:k${k}`);
    const raws = await Promise.all(Array.from({ length: clients }, () => RawClient.connect(proxy.port)));
    const expected: string[][] = [];
    for (let round = 1; round <= 3; round++) {
      raws.forEach((raw, i) => {
        let out = '';
        const want: string[] = [];
        for (let k = 0; k < keys; k++) {
          const key = `rb:c${i}:k${k}`;
          if (k % 5 === 4) {
            out += cmd('SET', key, val(i, k, round));
            want.push('+OK\r\n');
          }
          out += cmd('GET', key);
          const v = val(i, k, k % 5 === 4 ? round : 0);
          want.push(`$${v.length}\r\n${v}\r\n`);
        }
        expected[i] = want;
        raw.write(out);
      });
      const replies = await Promise.all(raws.map((raw, i) => raw.readFrames(expected[i].length, 10_000)));
      replies.forEach((frames, i) => {
        assert.deepEqual(frames.map((f) => f.toString('latin1')), expected[i], `client ${i}, round ${round}`);
      });
    }
    for (const raw of raws) raw.destroy();
  });

  test('pipelines of writes only, from many clients at once, reach Redis intact', async () => {
    // (nothing is served from the buffer: each read goes to Redis as one forwarded run)
    const direct = client(redis.port);
    const clients = 24;
    const val = (i: number, k: number) => `w${i}-${k}-${String.fromCharCode(97 + ((i + k) % 26)).repeat(20 + ((i * 13 + k) % 200))}`;
    const raws = await Promise.all(Array.from({ length: clients }, () => RawClient.connect(proxy.port)));
    raws.forEach((raw, i) => {
      let out = '';
      for (let k = 0; k < 30; k++) out += cmd('SET', `rb:w${i}:${k}`, val(i, k));
      raw.write(out);
    });
    const replies = await Promise.all(raws.map((raw) => raw.readFrames(30, 10_000)));
    for (const frames of replies) assert.deepEqual(frames.map((f) => f.toString('latin1')), Array(30).fill('+OK\r\n'));
    for (let i = 0; i < clients; i++) {
      const got = await direct.mget(...Array.from({ length: 30 }, (_, k) => `rb:w${i}:${k}`));
      assert.deepEqual(got, Array.from({ length: 30 }, (_, k) => val(i, k)), `client ${i}`);
    }
    for (const raw of raws) raw.destroy();
    direct.disconnect();
  });

  test('a request cut across reads survives other clients\' reads in between', async () => {
    const direct = client(redis.port);
    const value = 'v'.repeat(3000);
    const req = cmd('SET', 'rb:cut', value) + cmd('GET', 'rb:cut');
    const a = await RawClient.connect(proxy.port);
    const others = await Promise.all(Array.from({ length: 8 }, () => RawClient.connect(proxy.port)));
    a.write(req.slice(0, 1500));
    await sleep(30);
    // other clients' reads land in the buffer while A's first half waits for the rest
    others.forEach((o, i) => o.write(cmd('SET', `rb:other${i}`, 'o'.repeat(4000)) + cmd('GET', `rb:other${i}`)));
    for (const o of await Promise.all(others.map((o) => o.readFrames(2)))) assert.equal(o[0].toString(), '+OK\r\n');
    a.write(req.slice(1500));
    const got = (await a.readFrames(2)).map((f) => f.toString('latin1'));
    assert.deepEqual(got, ['+OK\r\n', `$3000\r\n${value}\r\n`]);
    assert.equal(await direct.get('rb:cut'), value);
    a.destroy();
    for (const o of others) o.destroy();
    direct.disconnect();
  });

  test('a value holding the bytes of a GET, cut just before them, is stored and not answered as a GET', async () => {
    await c.set('rb:inner', 'cached');
    assert.equal(await c.get('rb:inner'), 'cached'); // fills: a GET of it would be a hit
    const inner = cmd('GET', 'rb:inner');
    const value = `head:${inner}`;
    const req = cmd('SET', 'rb:outer', value);
    const a = await RawClient.connect(proxy.port);
    const at = req.indexOf(inner);
    a.write(req.slice(0, at));
    await sleep(30);
    a.write(req.slice(at) + cmd('GET', 'rb:outer'));
    const got = (await a.readFrames(2)).map((f) => f.toString('latin1'));
    assert.deepEqual(got, ['+OK\r\n', `$${value.length}\r\n${value}\r\n`]);
    a.destroy();
  });
});
