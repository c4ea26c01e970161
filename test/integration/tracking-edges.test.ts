// Found by review: ways the proxy's tracking on a client's own connection could end
// without the proxy noticing (a paused socket shows no end), or its CLIENT TRACKING OFF
// could land inside a request already partly forwarded.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { startRedis, startProxy, getFreePort, cmd, RawClient, sleep, type RedisServer, type ProxyProcess } from '../helpers/index.js';
import { stats, client, whileFrozen, eventually } from './cache-helpers.js';

describe('tracking edges: split requests and paused connections', () => {
  let redis: RedisServer;
  let proxy: ProxyProcess;
  let admin: number;
  let direct: Redis;
  const made: Redis[] = [];
  const open = (port: number, opts: Record<string, unknown> = {}): Redis => {
    const c = client(port, opts);
    made.push(c);
    return c;
  };
  before(async () => {
    redis = await startRedis();
    admin = await getFreePort();
    proxy = await startProxy({ redisPort: redis.port, args: ['--admin-port', String(admin), '--ttl', '3600'] });
    await eventually(async () => (await stats(admin)).link.state === 'up', 5000, 20);
    direct = client(redis.port);
    await direct.ping();
  });
  after(async () => {
    for (const c of made) c.disconnect();
    direct.disconnect();
    await proxy.stop();
    await redis.stop();
  });

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
  await eventually(async () => !((await direct.call('CLIENT', 'LIST')) as string).includes(`name=${name} `), 10_000, 2);
}

describe('a paused connection of its own, dropped by Redis at its output limit', () => {
  let redis: RedisServer;
  let proxy: ProxyProcess;
  let direct: Redis;
  before(async () => {
    redis = await startRedis({ args: ['--client-output-buffer-limit', 'normal 32mb 0 0'] });
    proxy = await startProxy({ redisPort: redis.port, args: ['--ttl', '3600'] });
    direct = client(redis.port);
    await direct.ping();
  });
  after(async () => {
    direct.disconnect();
    await proxy.stop();
    await redis.stop();
  });
  test('a slow client on its own connection, dropped by Redis at its output limit: a direct write right after is seen', async () => {
    const { a, other } = await pausedFiller(redis, proxy, direct, 'obl', 'oblfiller', 16 * 1024 * 1024);
    await gone(direct, 'oblfiller');
    await direct.set('obl', 'new');
    const seen = await other.get('obl');
    other.disconnect();
    a.destroy();
    assert.equal(seen, 'new');
  });
});

describe('a connection of its own given up on (--backend-timeout)', () => {
  let redis: RedisServer;
  let proxy: ProxyProcess;
  let direct: Redis;
  before(async () => {
    redis = await startRedis();
    proxy = await startProxy({ redisPort: redis.port, args: ['--ttl', '3600', '--backend-timeout', '1'] });
    direct = client(redis.port);
    await direct.ping();
  });
  after(async () => {
    direct.disconnect();
    await proxy.stop();
    await redis.stop();
  });
  test('the proxy gives up on a slow connection of its own: its entries die at once, not after the grace', async () => {
    const { a, other } = await pausedFiller(redis, proxy, direct, 'bt', 'btfiller', 32 * 1024 * 1024);
    await gone(direct, 'btfiller'); // (the proxy destroyed it at the timeout)
    await direct.set('bt', 'new');
    const seen = await other.get('bt');
    other.disconnect();
    a.destroy();
    assert.equal(seen, 'new');
  });
});
