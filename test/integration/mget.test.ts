import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { cmd, escapeBytes, proxyStats, RawClient, startAdminProxy, startRedis, type ProxyProcess, type RedisServer } from '../helpers/index.js';
import { whileFrozen, NOT_ANSWERED } from './cache-helpers.js';

// MGET through the cache (issue 18), black box: its bytes against a direct Redis in both
// protocols, whichever of its keys are cached; its calls counted on Redis's side (INFO
// commandstats); the order rule; and MULTI/WATCH sending it to Redis.

const BIN = Buffer.concat([Buffer.from([0, 0xff, 0x0d, 0x0a, 0x24, 0x2d, 0x31, 0x80]), Buffer.from('tail')]);
const BIG = Buffer.alloc(1024 * 1024 + 10, 0x61); // over the 1 MiB value limit: never kept

let direct: RedisServer;
let behind: RedisServer;
let proxy: ProxyProcess;
let admin: number;
let dAdmin: RawClient;
let pAdmin: RawClient; // straight to the Redis behind the proxy

async function ask(c: RawClient, ...args: Array<string | Buffer>): Promise<Buffer> {
  c.write(cmd(...args));
  return c.readFrame();
}

/** the same data on both servers, written directly */
async function seed(): Promise<void> {
  for (const c of [dAdmin, pAdmin]) {
    await ask(c, 'FLUSHALL');
    await ask(c, 'MSET', 'a', 'va', 'b', 'vb', 'c', 'vc', 'empty', '', 'x:1', '1', 'x:2', '2');
    await ask(c, 'SET', 'bin', BIN);
    await ask(c, 'SET', 'big', BIG);
    await ask(c, 'SET', 'ttl', 'soon', 'PX', '60000');
    await ask(c, 'RPUSH', 'list', 'e');
    await ask(c, 'HSET', 'hash', 'f', 'v');
  }
}

async function pair(proto: 2 | 3): Promise<[RawClient, RawClient]> {
  const d = await RawClient.connect(direct.port);
  const p = await RawClient.connect(proxy.port);
  if (proto === 3) {
    // (the HELLO replies differ in server id and such: not compared)
    await ask(d, 'HELLO', '3');
    await ask(p, 'HELLO', '3');
  }
  return [d, p];
}

async function same(d: RawClient, p: RawClient, what: string, ...args: Array<string | Buffer>): Promise<Buffer> {
  const [rd, rp] = await Promise.all([ask(d, ...args), ask(p, ...args)]);
  assert.equal(escapeBytes(rp), escapeBytes(rd), `${what}: ${args.map(String).join(' ').slice(0, 80)}`);
  return rd;
}

before(async () => {
  [direct, behind] = await Promise.all([startRedis(), startRedis({ args: ['--enable-debug-command', 'yes'] })]);
  ({ proxy, admin } = await startAdminProxy(behind.port, { args: ['--ttl', '3600'] }));
  dAdmin = await RawClient.connect(direct.port);
  pAdmin = await RawClient.connect(behind.port);
});

after(async () => {
  dAdmin.destroy();
  pAdmin.destroy();
  await proxy.stop();
  await Promise.all([direct.stop(), behind.stop()]);
});

const MGETS: string[][] = [
  ['a'],
  ['missing'],
  ['a', 'b', 'c'],
  ['a', 'missing', 'empty', 'bin'],
  ['list', 'a', 'hash', 'nope'],
  ['a', 'a', 'missing', 'a', 'missing'],
  ['big', 'a', 'big'],
  ['ttl', 'x:1', 'x:2', 'empty', 'bin', 'list', 'missing', 'c'],
];

for (const proto of [2, 3] as const) {
  describe(`MGET bytes, RESP${proto}`, () => {
    for (const priming of ['none', 'half', 'all'] as const) {
      test(`equal to a direct Redis's with ${priming} of its keys cached, then again (all cached)`, async () => {
        await seed();
        const [d, p] = await pair(proto);
        const s0 = (await proxyStats(admin)).cache;
        try {
          for (const keys of MGETS) {
            // prime through GETs (the direct side is read alike, so both see the same commands)
            const prime = priming === 'none' ? [] : priming === 'all' ? keys : keys.filter((_, i) => i % 2 === 0);
            for (const k of prime) await same(d, p, 'priming GET', 'GET', k);
            await same(d, p, `MGET (${priming} cached)`, 'MGET', ...keys);
            await same(d, p, 'MGET again', 'MGET', ...keys);
            await same(d, p, 'MGET in upper/lower case', 'mGeT', ...keys.slice().reverse());
            // GET and MGET share entries, and a wrong-type key is never filled as nil
            for (const k of keys) await same(d, p, 'GET after MGET', 'GET', k);
          }
          // the cache did answer: MGETs wholly from it (the repeats), and keys from it
          const s1 = (await proxyStats(admin)).cache;
          assert.ok(s1.mgetsFromCache - s0.mgetsFromCache >= MGETS.length, `from cache: ${s1.mgetsFromCache - s0.mgetsFromCache}`);
          assert.equal(s1.mgets - s0.mgets, 3 * MGETS.length);
          assert.ok(s1.hits - s0.hits >= 30, `hits: ${s1.hits - s0.hits}`);
        } finally {
          d.destroy();
          p.destroy();
        }
      });
    }
  });
}

describe('MGET through the cache', () => {
  test('every key cached: answered while Redis is frozen; a missing one waits for Redis', async () => {
    await seed();
    const p = await RawClient.connect(proxy.port);
    try {
      assert.equal(escapeBytes(await ask(p, 'MGET', 'a', 'missing', 'empty')), escapeBytes(Buffer.from('*3\r\n$2\r\nva\r\n$-1\r\n$0\r\n\r\n')));
      const r = await whileFrozen(behind, () => ask(p, 'MGET', 'empty', 'a', 'missing', 'a'));
      assert.notEqual(r, NOT_ANSWERED);
      assert.equal(escapeBytes(r as Buffer), escapeBytes(Buffer.from('*4\r\n$0\r\n\r\n$2\r\nva\r\n$-1\r\n$2\r\nva\r\n')));
      const q = await RawClient.connect(proxy.port);
      try {
        assert.equal(await whileFrozen(behind, () => ask(q, 'MGET', 'a', 'b')), NOT_ANSWERED);
      } finally {
        q.destroy();
      }
      const s = (await proxyStats(admin)).cache;
      assert.ok(s.mgets >= 2, `mgets ${s.mgets}`);
      assert.ok(s.mgetsFromCache >= 1, `mgetsFromCache ${s.mgetsFromCache}`);
      const metrics = await (await fetch(`http://127.0.0.1:${admin}/metrics`)).text();
      assert.match(metrics, /redisproxy_cache_mgets_total \d+/);
      assert.match(metrics, /redisproxy_cache_mgets_from_cache_total \d+/);
    } finally {
      p.destroy();
    }
  });

  test('an MGET fills no value over 1 MiB, no wrong-type nil, and no entry past its key\'s expiry', async () => {
    await seed();
    // (so that only the entry's own bound, the key's PTTL, can end it)
    assert.equal((await ask(pAdmin, 'DEBUG', 'SET-ACTIVE-EXPIRE', '0')).toString(), '+OK\r\n');
    await ask(pAdmin, 'SET', 'short', 'lived', 'PX', '300');
    const p = await RawClient.connect(proxy.port);
    try {
      await ask(p, 'MGET', 'big', 'list', 'short', 'a');
      assert.equal((await whileFrozen(behind, () => ask(p, 'MGET', 'a', 'short'))) === NOT_ANSWERED, false);
      const q = await RawClient.connect(proxy.port);
      const r = await RawClient.connect(proxy.port);
      try {
        assert.equal(await whileFrozen(behind, () => ask(q, 'MGET', 'big')), NOT_ANSWERED);
        assert.equal(await whileFrozen(behind, () => ask(r, 'MGET', 'list')), NOT_ANSWERED);
      } finally {
        q.destroy();
        r.destroy();
      }
      await new Promise((res) => setTimeout(res, 400));
      assert.equal((await ask(p, 'MGET', 'short', 'a')).toString(), '*2\r\n$-1\r\n$2\r\nva\r\n');
      assert.match((await ask(p, 'GET', 'list')).toString(), /^-WRONGTYPE/);
    } finally {
      p.destroy();
      await ask(pAdmin, 'DEBUG', 'SET-ACTIVE-EXPIRE', '1');
    }
  });

  test('a long MGET that arrives in pieces (its head streamed to Redis) is answered whole', async () => {
    await seed();
    const p = await RawClient.connect(proxy.port);
    try {
      // (its own connection, where the proxy streams unfinished requests)
      assert.equal((await ask(p, 'CLIENT', 'SETNAME', 'long-mget')).toString(), '+OK\r\n');
      await ask(p, 'MGET', 'a', 'b');
      const keys = Array.from({ length: 3000 }, (_, i) => (i % 3 === 0 ? 'a' : i % 3 === 1 ? `nothing-here-${i}` : 'b'));
      await p.writeChunked(cmd('MGET', ...keys), 4096, 2);
      const want = `*${keys.length}\r\n` + keys.map((k) => (k === 'a' ? '$2\r\nva\r\n' : k === 'b' ? '$2\r\nvb\r\n' : '$-1\r\n')).join('');
      assert.equal((await p.readFrame(10_000)).toString(), want);
      assert.equal((await ask(p, 'MGET', 'b', 'a')).toString(), '*2\r\n$2\r\nvb\r\n$2\r\nva\r\n');
    } finally {
      p.destroy();
    }
  });

  test('100 MGETs of 10 cached keys reach Redis at most 10 times (INFO commandstats)', async () => {
    await seed();
    const keys = Array.from({ length: 10 }, (_, i) => `k${i}`);
    const p = await RawClient.connect(proxy.port);
    try {
      for (const k of keys) await ask(pAdmin, 'SET', k, `value-${k}`);
      for (const k of keys) await ask(p, 'GET', k);
      await ask(pAdmin, 'CONFIG', 'RESETSTAT');
      const want = '*10\r\n' + keys.map((k) => `$${6 + k.length}\r\nvalue-${k}\r\n`).join('');
      for (let i = 0; i < 100; i++) assert.equal((await ask(p, 'MGET', ...keys)).toString('latin1'), want);
      const info = (await ask(pAdmin, 'INFO', 'commandstats')).toString('latin1');
      const calls = Number(/cmdstat_mget:calls=(\d+)/.exec(info)?.[1] ?? 0);
      assert.ok(calls <= 10, `MGET reached Redis ${calls} times`);
      const gets = Number(/cmdstat_get:calls=(\d+)/.exec(info)?.[1] ?? 0);
      assert.equal(gets, 0);
    } finally {
      p.destroy();
    }
  });

  test('an MGET after its client SETs one of its keys sees the new value (one write, and one at a time)', async () => {
    await seed();
    const p = await RawClient.connect(proxy.port);
    try {
      await ask(p, 'MGET', 'a', 'b');
      await ask(p, 'MGET', 'a', 'b'); // cached now
      p.write(cmd('SET', 'a', 'new-a') + cmd('MGET', 'a', 'b') + cmd('MGET', 'b', 'a'));
      const [ok, r1, r2] = await p.readFrames(3);
      assert.equal(ok.toString(), '+OK\r\n');
      assert.equal(r1.toString(), '*2\r\n$5\r\nnew-a\r\n$2\r\nvb\r\n');
      assert.equal(r2.toString(), '*2\r\n$2\r\nvb\r\n$5\r\nnew-a\r\n');
      // a write of another key in the same write: the cached MGET still waits behind it
      p.write(cmd('DEL', 'b') + cmd('MGET', 'a', 'b') + cmd('SET', 'b', 'again') + cmd('MGET', 'b'));
      const rs = await p.readFrames(4);
      assert.deepEqual(
        rs.map((r) => r.toString()),
        [':1\r\n', '*2\r\n$5\r\nnew-a\r\n$-1\r\n', '+OK\r\n', '*1\r\n$5\r\nagain\r\n'],
      );
    } finally {
      p.destroy();
    }
  });

  test('MGET inside MULTI and under WATCH goes to Redis', async () => {
    await seed();
    const p = await RawClient.connect(proxy.port);
    try {
      await ask(p, 'MGET', 'a', 'b');
      await ask(p, 'MGET', 'a', 'b'); // cached now
      await ask(pAdmin, 'CONFIG', 'RESETSTAT');
      assert.equal((await ask(p, 'MULTI')).toString(), '+OK\r\n');
      assert.equal((await ask(p, 'MGET', 'a', 'b')).toString(), '+QUEUED\r\n');
      assert.equal((await ask(p, 'EXEC')).toString(), '*1\r\n*2\r\n$2\r\nva\r\n$2\r\nvb\r\n');
      assert.equal((await ask(p, 'WATCH', 'c')).toString(), '+OK\r\n');
      assert.equal((await ask(p, 'MGET', 'a', 'b')).toString(), '*2\r\n$2\r\nva\r\n$2\r\nvb\r\n');
      assert.equal((await ask(p, 'UNWATCH')).toString(), '+OK\r\n');
      const info = (await ask(pAdmin, 'INFO', 'commandstats')).toString('latin1');
      assert.equal(Number(/cmdstat_mget:calls=(\d+)/.exec(info)?.[1] ?? 0), 2);
    } finally {
      p.destroy();
    }
  });

  test('an MGET refused by Redis (NOPERM) is passed on as is, cached keys or not', async () => {
    await seed();
    await ask(pAdmin, 'ACL', 'SETUSER', 'limited', 'on', '>pw', '~a', '~b', '-@all', '+@read', '+@connection');
    await ask(dAdmin, 'ACL', 'SETUSER', 'limited', 'on', '>pw', '~a', '~b', '-@all', '+@read', '+@connection');
    const [d, p] = await pair(2);
    try {
      await same(d, p, 'AUTH', 'AUTH', 'limited', 'pw');
      await same(d, p, 'fill', 'MGET', 'a', 'b');
      await same(d, p, 'refused', 'MGET', 'a', 'c', 'b');
      await same(d, p, 'refused, none cached', 'MGET', 'c');
      await same(d, p, 'still served', 'MGET', 'b', 'a');
    } finally {
      d.destroy();
      p.destroy();
      await ask(pAdmin, 'ACL', 'DELUSER', 'limited');
      await ask(dAdmin, 'ACL', 'DELUSER', 'limited');
    }
  });
});
