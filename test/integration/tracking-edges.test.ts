// Found by review: ways the proxy's tracking on a client's own connection could end
// without the proxy noticing, each needing a Redis or proxy set up of its own (more in
// tracking.test.ts).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { startRedis, startProxy, cmd, RawClient, eventually, type RedisServer, type ProxyProcess } from '../helpers/index.js';
import { client, whileFrozen } from './cache-helpers.js';

/**
 * A proxy whose client `a` filled `key` (value `old`) through a connection of its own, and
 * another client that is served that entry from the cache; then `a` stops reading while
 * asking for large replies, so the proxy pauses `a`'s Redis socket.
 */
async function pausedFiller(redis: RedisServer, proxy: ProxyProcess, direct: Redis, key: string, name: string, bigBytes: number) {
  await direct.set('big', 'x'.repeat(bigBytes));
  await direct.set(key, 'old');
  const a = await RawClient.connect(proxy.port);
  a.write(cmd('CLIENT', 'SETNAME', name));
  assert.equal(String(await a.readFrame()), '+OK\r\n');
  a.write(cmd('GET', key) + cmd('GET', key));
  assert.deepEqual((await a.readFrames(2)).map(String), ['$3\r\nold\r\n', '$3\r\nold\r\n']);
  const other = client(proxy.port);
  await other.ping(); // (ioredis's ready check must not wait on a frozen Redis)
  assert.equal(await whileFrozen(redis, () => other.get(key)), 'old', "served to the other client from a's entry");
  a.socket.pause();
  a.write(cmd('GETRANGE', 'big', '0', '-1').repeat(8));
  return { a, other };
}

async function gone(direct: Redis, name: string): Promise<void> {
  await eventually(`the connection named ${name} is gone from CLIENT LIST`, async () => !((await direct.call('CLIENT', 'LIST')) as string).includes(`name=${name} `), 10_000, 2, { rethrow: true });
}

/**
 * A paused filler whose connection goes away (how, set by the Redis and proxy flags):
 * once Redis no longer lists it, a direct write must be seen by the next read at once.
 */
function pausedFillerGone(title: string, redisArgs: string[], proxyArgs: string[], key: string, bigBytes: number): void {
  describe(title, () => {
    let redis: RedisServer;
    let proxy: ProxyProcess;
    let direct: Redis;
    before(async () => {
      redis = await startRedis({ args: redisArgs });
      proxy = await startProxy({ redisPort: redis.port, args: ['--ttl', '3600', ...proxyArgs] });
      direct = client(redis.port);
      await direct.ping();
    });
    after(async () => {
      direct.disconnect();
      await proxy.stop();
      await redis.stop();
    });
    test(`${title}: its entries die at once, and a direct write right after is seen`, async () => {
      const name = `${key}filler`;
      const { a, other } = await pausedFiller(redis, proxy, direct, key, name, bigBytes);
      await gone(direct, name);
      await direct.set(key, 'new');
      const seen = await other.get(key);
      other.disconnect();
      a.destroy();
      assert.equal(seen, 'new');
    });
  });
}

pausedFillerGone('a slow client on its own connection, dropped by Redis at its output limit', ['--client-output-buffer-limit', 'normal 32mb 0 0'], [], 'obl', 16 * 1024 * 1024);
// (the proxy destroys the connection at the timeout)
pausedFillerGone('a slow connection of its own that the proxy gives up on (--backend-timeout)', [], ['--backend-timeout', '1'], 'bt', 32 * 1024 * 1024);
