import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { startRedis, startProxy, cmd, RawClient, sleep, proxyStats, eventually, startAdminProxy, type RedisServer, type ProxyProcess } from '../helpers/index.js';
import { client, whileFrozen } from './cache-helpers.js';

// The proxy's tracking lives on the connections it fills from (CLIENT TRACKING ON REDIRECT
// to its invalidation link): shared connections track themselves, a connection of a
// client's own is tracked before its first filling GET. These tests look at what that
// means for the client whose connection it is, and for everybody's cache.

describe('tracking on the connections the cache is filled from', () => {
  let redis: RedisServer;
  let proxy: ProxyProcess;
  let admin: number;
  let direct: Redis;
  /** every ioredis client made here, disconnected at the end even when a test fails */
  const made: Redis[] = [];
  const open = (port: number, opts: Record<string, unknown> = {}): Redis => {
    const c = client(port, opts);
    made.push(c);
    return c;
  };
  before(async () => {
    redis = await startRedis();
    ({ proxy, admin } = await startAdminProxy(redis.port, { args: ['--ttl', '3600'] }));
    direct = client(redis.port);
    await direct.ping();
    await redis.cli('ACL', 'SETUSER', 'noclient', 'on', '>pw', '~*', '&*', '+@all', '-client');
  });
  after(async () => {
    for (const c of made) c.disconnect();
    direct.disconnect();
    await proxy.stop();
    await redis.stop();
  });

  /** GET `key` through c until it is served while Redis is frozen (cached). */
  async function cache(c: Redis, key: string): Promise<string | null> {
    const v = await c.get(key);
    await c.get(key);
    assert.equal(await whileFrozen(redis, () => c.get(key)), v, `${key} is cached`);
    return v;
  }

  /**
   * `key` set to 'old' directly in `db` and cached through `filler`, a client of the proxy
   * on a connection of its own; `other` is a second client in the same db, `d` a direct one.
   */
  async function filledByOwnConnection(db: number, key: string, fillerOpts: Record<string, unknown> = {}) {
    const d = open(redis.port, { db });
    const filler = open(proxy.port, { db, ...fillerOpts });
    const other = open(proxy.port, { db });
    await Promise.all([filler.ping(), other.ping()]);
    await d.set(key, 'old');
    assert.equal(await cache(filler, key), 'old');
    return { d, filler, other };
  }

  test('a key cached through a connection of its own (SELECT 1) is invalidated by a direct write', async () => {
    const d1 = open(redis.port, { db: 1 });
    const c1 = open(proxy.port, { db: 1 });
    await d1.set('own', 'old');
    assert.equal(await cache(c1, 'own'), 'old');
    await d1.set('own', 'new');
    await eventually('GET own through c1 is new', async () => (await c1.get('own')) === 'new', 1000, 1, { rethrow: true });
    // and again: tracking stays on for the connection
    await cache(c1, 'own');
    await d1.del('own');
    await eventually('GET own through c1 is null', async () => (await c1.get('own')) === null, 1000, 1, { rethrow: true });
    c1.disconnect();
    d1.disconnect();
  });

  /** The id of the connection CLIENT LIST shows with `field` (e.g. name=...). */
  async function clientId(match: RegExp): Promise<string> {
    const list = (await direct.call('CLIENT', 'LIST')) as string;
    const line = list.split('\n').find((l) => match.test(l));
    assert.ok(line, `a connection matching ${match}`);
    return /id=(\d+)/.exec(line)![1];
  }

  test('entries filled through a client\'s own connection end with it: a direct write after it left is never served stale', async () => {
    const { d: d1, filler, other } = await filledByOwnConnection(1, 'gone');
    filler.disconnect();
    await d1.set('gone', 'new');
    await eventually('GET gone through other is new', async () => (await other.get('gone')) === 'new', 1000, 1, { rethrow: true });
  });

  test('a client\'s own connection killed by Redis: its entries die at once, before a direct write that follows can be missed', async () => {
    const { d: d2, other } = await filledByOwnConnection(2, 'killed', { connectionName: 'filler-2', maxRetriesPerRequest: 0, retryStrategy: () => null });
    await direct.call('CLIENT', 'KILL', 'ID', await clientId(/name=filler-2/));
    await d2.set('killed', 'new');
    assert.equal(await other.get('killed'), 'new', 'the first read after the write, not eventually');
  });

  test('a shared connection killed by Redis empties the cache: a direct write that follows is never served stale', async () => {
    const c = open(proxy.port);
    await c.ping();
    await direct.set('sharedkill', 'old');
    await cache(c, 'sharedkill');
    // the shared connections are the proxy's unnamed, tracked connections to db 0
    const list = (await direct.call('CLIENT', 'LIST')) as string;
    const shared = list.split('\n').filter((l) => / name= /.test(l) && /flags=t/.test(l) && / db=0 /.test(l));
    assert.ok(shared.length >= 1, 'tracked shared connections are listed');
    for (const line of shared) await direct.call('CLIENT', 'KILL', 'ID', /id=(\d+)/.exec(line)![1]);
    await direct.set('sharedkill', 'new');
    const reader = open(proxy.port);
    assert.equal(await reader.get('sharedkill'), 'new');
  });

  for (const [how, turnOff] of [
    ['RESET', (c: Redis) => c.call('RESET')],
    ['CLIENT TRACKING OFF', (c: Redis) => c.call('CLIENT', 'TRACKING', 'OFF')],
  ] as const) {
    test(`after the filling client sends ${how}, a direct write is still never served stale to others`, async () => {
      // only the filler's read is behind the entry; the other client is served from it
      const { d: d1, filler, other } = await filledByOwnConnection(1, 'yield');
      assert.equal(await whileFrozen(redis, () => other.get('yield')), 'old', 'served to the other client from the cache');
      await turnOff(filler);
      await d1.set('yield', 'new');
      await eventually('GET yield through other is new', async () => (await other.get('yield')) === 'new', 1000, 1, { rethrow: true });
      for (const c of [filler, other, d1]) c.disconnect();
    });
  }

  /** A raw client of the proxy that has switched to RESP3 (HELLO 3). */
  async function resp3Client(): Promise<RawClient> {
    const c = await RawClient.connect(proxy.port);
    c.write(cmd('HELLO', '3'));
    await c.readFrame();
    return c;
  }

  test("a client's own CLIENT TRACKING ON BCAST works as on Redis after the proxy tracked its connection", async () => {
    await direct.set('bc', 'old');
    const c = await resp3Client();
    c.write(cmd('GET', 'bc') + cmd('GET', 'bc'));
    const got = await c.readFrames(2);
    assert.deepEqual(got.map(String), ['$3\r\nold\r\n', '$3\r\nold\r\n']);
    c.write(cmd('CLIENT', 'TRACKING', 'ON', 'BCAST'));
    assert.equal(String(await c.readFrame()), '+OK\r\n', 'not "-ERR You can\'t switch BCAST mode..."');
    await direct.set('bc', 'new');
    const push = String(await c.readFrame());
    assert.match(push, /^>2\r\n\$10\r\ninvalidate\r\n\*1\r\n\$2\r\nbc\r\n$/, 'the client gets its own invalidation');
    // the proxy, which no longer tracks this connection, is not stale either
    const other = open(proxy.port);
    assert.equal(await other.get('bc'), 'new');
    c.write(cmd('CLIENT', 'TRACKINGINFO'));
    assert.match(String(await c.readFrame()), /bcast/, 'the client\'s own options are in force');
    other.disconnect();
    c.destroy();
  });

  test('OPTIN tracking of a client that read through the proxy is accepted as on Redis', async () => {
    const c = await resp3Client();
    c.write(cmd('GET', 'optin'));
    await c.readFrame();
    c.write(cmd('CLIENT', 'TRACKING', 'ON', 'OPTIN') + cmd('CLIENT', 'CACHING', 'YES') + cmd('GET', 'optin'));
    assert.deepEqual((await c.readFrames(3)).map(String), ['+OK\r\n', '+OK\r\n', '_\r\n']);
    c.destroy();
  });

  test('a RESP3 client is not shown the proxy\'s "tracking-redir-broken" when the link is killed', async () => {
    await direct.set('rb', 'v');
    const c = await resp3Client();
    c.write(cmd('GET', 'rb') + cmd('GET', 'rb'));
    await c.readFrames(2);
    const connects = (await proxyStats(admin)).link!.connects;
    const list = (await direct.call('CLIENT', 'LIST')) as string;
    const id = /id=(\d+)[^\n]*name=redisproxy-invalidation/.exec(list)?.[1];
    assert.ok(id, 'the link is listed');
    await direct.call('CLIENT', 'KILL', 'ID', id);
    await eventually('the link has reconnected', async () => (await proxyStats(admin)).link!.connects > connects, 5000, 20, { rethrow: true });
    c.write(cmd('PING'));
    const bytes = String(await c.readBytes(2000, 300));
    assert.equal(bytes, '+PONG\r\n', 'nothing but the reply');
    c.destroy();
  });

  test('a user who may not run CLIENT is served correctly and never from a fill of its own', async () => {
    await direct.set('nc', 'old');
    const c = open(proxy.port, { username: 'noclient', password: 'pw' });
    const fills = (await proxyStats(admin)).cache.fills;
    assert.equal(await c.get('nc'), 'old');
    assert.equal(await c.get('nc'), 'old');
    assert.equal((await proxyStats(admin)).cache.fills, fills, 'its reads cannot be tracked, so they do not fill');
    await direct.set('nc', 'new');
    assert.equal(await c.get('nc'), 'new');
    // its refused CLIENT TRACKING is not retried on every GET
    const log = (await direct.call('ACL', 'LOG')) as unknown[];
    const entries = log.filter((e) => JSON.stringify(e).includes('noclient'));
    assert.ok(entries.length <= 1, `${entries.length} ACL LOG entries for the proxy's CLIENT TRACKING`);
    c.disconnect();
  });

  test('a --capacity over Redis\'s tracking-table-max-keys is warned about at start, and one within it is not', async () => {
    await direct.call('CONFIG', 'SET', 'tracking-table-max-keys', '5000');
    try {
      const big = await startProxy({ redisPort: redis.port, args: ['--capacity', '5001', '--log-level', 'info'] });
      await big.waitForOutput(/tracking-table-max-keys/, 5000);
      await big.stop();
      const fits = await startProxy({ redisPort: redis.port, args: ['--capacity', '5000', '--log-level', 'info'] });
      await fits.waitForOutput(/invalidation link up/, 5000);
      await sleep(200);
      assert.doesNotMatch(fits.output(), /tracking-table-max-keys/);
      await fits.stop();
    } finally {
      await direct.call('CONFIG', 'SET', 'tracking-table-max-keys', '1000000');
    }
  });

  test('shared connections are tracked again after the link comes back', async () => {
    const c = open(proxy.port);
    const connects = (await proxyStats(admin)).link!.connects;
    const list = (await direct.call('CLIENT', 'LIST')) as string;
    const id = /id=(\d+)[^\n]*name=redisproxy-invalidation/.exec(list)?.[1];
    await direct.call('CLIENT', 'KILL', 'ID', id!);
    await eventually('the link has reconnected and is up', async () => (await proxyStats(admin)).link!.connects > connects && (await proxyStats(admin)).link!.state === 'up', 5000, 20, { rethrow: true });
    await direct.set('again', 'old');
    await cache(c, 'again');
    await direct.set('again', 'new');
    await eventually('GET again through c is new', async () => (await c.get('again')) === 'new', 1000, 1, { rethrow: true });
    c.disconnect();
  });

  // Found by review: the proxy's CLIENT TRACKING OFF must not land inside a request already
  // partly forwarded, and a paused socket shows no end.
  async function ownTrackedRaw(key: string): Promise<RawClient> {
    const c = await RawClient.connect(proxy.port);
    c.write(cmd('SELECT', '0'));
    assert.equal(String(await c.readFrame()), '+OK\r\n');
    c.write(cmd('GET', key)); // first filling GET: the proxy's CLIENT TRACKING goes ahead of it
    await c.readFrame();
    return c;
  }

  test('CLIENT TRACKING ON split across two reads, after the proxy tracked the connection, is one command to Redis', async () => {
    await direct.set('split1', 'v');
    const c = await ownTrackedRaw('split1');
    const whole = cmd('CLIENT', 'TRACKING', 'ON');
    const cut = whole.indexOf('$8');
    c.write(whole.slice(0, cut));
    await sleep(100);
    c.write(whole.slice(cut) + cmd('PING'));
    const got = String(await c.readBytes(2000, 300));
    assert.equal(got, '+OK\r\n+PONG\r\n');
    c.destroy();
  });

  test('MONITOR split across two reads, after the proxy tracked the connection, is one command to Redis', async () => {
    await direct.set('split2', 'v');
    const c = await ownTrackedRaw('split2');
    c.write('*1\r\n$7\r\nMON');
    await sleep(100);
    c.write('ITOR\r\n');
    const got = String(await c.readBytes(2000, 300));
    // +OK, then only what MONITOR shows of the server's other traffic (the link's PINGs...)
    const [first, ...rest] = got.split('\r\n').filter((l) => l !== '');
    assert.equal(first, '+OK', got);
    for (const line of rest) assert.match(line, /^\+\d+\.\d+ \[\d+ /, `a MONITOR line, not an error: ${line}`);
    c.destroy();
  });

  test('a connection of its own killed while the proxy had paused it (slow client): its entries do not outlive it', async () => {
    await direct.set('big', 'x'.repeat(4 * 1024 * 1024));
    await direct.set('paused', 'old');
    const a = await RawClient.connect(proxy.port);
    a.write(cmd('CLIENT', 'SETNAME', 'pausedfiller'));
    assert.equal(String(await a.readFrame()), '+OK\r\n');
    a.write(cmd('GET', 'paused'));
    assert.equal(String(await a.readFrame()), '$3\r\nold\r\n');
    const other = open(proxy.port);
    assert.equal(await other.get('paused'), 'old');
    assert.equal(await whileFrozen(redis, () => other.get('paused')), 'old', 'cached, served to a shared client');
    // A stops reading and asks for a large reply: the proxy pauses A's Redis socket
    a.socket.pause();
    a.write(cmd('GETRANGE', 'big', '0', '-1').repeat(4));
    await sleep(500);
    const list = (await direct.call('CLIENT', 'LIST')) as string;
    const id = /id=(\d+)[^\n]*name=pausedfiller/.exec(list)?.[1];
    assert.ok(id);
    await direct.call('CLIENT', 'KILL', 'ID', id);
    await direct.set('paused', 'new');
    const seen = await other.get('paused');
    a.destroy();
    assert.equal(seen, 'new', 'no stale value after the filling connection was killed and the key rewritten');
  });
});
