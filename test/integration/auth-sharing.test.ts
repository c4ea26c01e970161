import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Redis as IORedis } from 'ioredis';
import { createClient } from 'redis';
import { startRedis, RawClient, firstReplies, cmd, proxyStats, startAdminProxy, eventually, type RedisServer, type ProxyProcess } from '../helpers/index.js';

// Issue 14 / contract §2.6: clients Redis accepted as the same ACL user share the proxy's
// connections and its cache entries, and nobody is given a value or an ability Redis would
// have refused them. Against a real redis-server with requirepass and ACL users; what the
// cache saved is read on Redis's side (INFO commandstats), and what a client sees is
// compared byte for byte with a direct connection.

const ADMIN = 'adm-Secret-91x';
const PW = { app: 'app-Secret-27q', limited: 'lim-Secret-48z', rot: 'rot-Secret-55k', rotNew: 'rot-Fresh-66m', gone: 'gone-Secret-73j', off: 'off-Secret-84h' };
const ALL_SECRETS = [ADMIN, ...Object.values(PW)];

const auth = (user: string, pw: string) => cmd('AUTH', user, pw);
const get = (key: string) => cmd('GET', key);

describe('authenticated clients share connections and the cache', () => {
  let redis: RedisServer;
  let proxy: ProxyProcess;
  let admin: number;
  let direct: RawClient;
  /** a number from INFO `section` (0 when the field is not there yet) */
  const info = async (section: string, field: RegExp): Promise<number> => Number(field.exec(await direct.ask('INFO', section))?.[1] ?? 0);
  /** GETs Redis ran so far (refused ones are counted apart, as rejected_calls) */
  const getCalls = () => info('commandstats', /cmdstat_get:calls=(\d+)/);
  /** the same bytes on a new direct connection and a new connection to the proxy: the replies must be the same */
  const sameAsDirect = async (bytes: string, n: number): Promise<string[]> => {
    const want = await firstReplies(redis.port, bytes, n);
    assert.deepEqual(await firstReplies(proxy.port, bytes, n), want);
    return want;
  };
  const authed = async (port: number, user: string, pw: string): Promise<RawClient> => {
    const c = await RawClient.connect(port);
    assert.equal(await c.ask('AUTH', user, pw), '+OK\r\n');
    return c;
  };

  before(async () => {
    redis = await startRedis({ args: ['--requirepass', ADMIN] });
    direct = await RawClient.connect(redis.port);
    assert.equal(await direct.ask('AUTH', ADMIN), '+OK\r\n');
    assert.equal(await direct.ask('ACL', 'SETUSER', 'app', 'on', `>${PW.app}`, '~*', '+@all'), '+OK\r\n');
    assert.equal(await direct.ask('ACL', 'SETUSER', 'limited', 'on', `>${PW.limited}`, '~other:*', '+@all'), '+OK\r\n');
    assert.equal(await direct.ask('SET', 'hot', 'v'), '+OK\r\n');
    ({ proxy, admin } = await startAdminProxy(redis.port, {
      addr: `redis://:${ADMIN}@127.0.0.1:${redis.port}`,
      args: ['--ttl', '3600', '--log-level', 'trace'],
    }));
  });
  after(async () => {
    direct?.destroy();
    await proxy?.stop();
    await redis?.stop();
  });

  test('300 sequential short connections, each AUTH app + GET hot: at least 90% answered from the cache (counted by Redis)', async () => {
    const before = await getCalls();
    for (let i = 0; i < 300; i++) {
      const c = await RawClient.connect(proxy.port);
      assert.equal(await c.ask('AUTH', 'app', PW.app), '+OK\r\n');
      assert.equal(await c.ask('GET', 'hot'), '$1\r\nv\r\n');
      c.destroy();
    }
    const ran = (await getCalls()) - before;
    console.log(`# 300 connect-AUTH-GET clients: Redis ran ${ran} GETs`);
    assert.ok(ran <= 30, `Redis ran ${ran} of the 300 GETs`);
  });

  test("500 concurrent authenticated clients: Redis's connected_clients stays at a few", async () => {
    const clients = await Promise.all(Array.from({ length: 500 }, () => RawClient.connect(proxy.port)));
    try {
      for (const c of clients) c.write(auth('app', PW.app) + get('hot'));
      for (const c of clients) assert.deepEqual((await c.readFrames(2)).map(String), ['+OK\r\n', '$1\r\nv\r\n']);
      const connected = await info('clients', /connected_clients:(\d+)/);
      console.log(`# 500 authenticated clients of the proxy: Redis has ${connected} connections`);
      assert.ok(connected <= 12, `Redis has ${connected} connections`);
      assert.equal((await proxyStats(admin)).clients.connected, 500);
    } finally {
      for (const c of clients) c.destroy();
    }
  });

  test('AUTH followed by GETs in one write: the GETs wait for its answer, and fill the cache for the next client', async () => {
    assert.equal(await direct.ask('SET', 'pipe', 'pv'), '+OK\r\n');
    const bytes = auth('app', PW.app) + get('pipe').repeat(3);
    const want = ['+OK\r\n', '$2\r\npv\r\n', '$2\r\npv\r\n', '$2\r\npv\r\n'];
    const fillsBefore = (await proxyStats(admin)).cache.fills;
    assert.deepEqual(await firstReplies(proxy.port, bytes, 4), want);
    assert.ok((await proxyStats(admin)).cache.fills > fillsBefore, 'the first client filled the cache');
    const before = await getCalls();
    assert.deepEqual(await firstReplies(proxy.port, bytes, 4), want);
    assert.equal((await getCalls()) - before, 0, 'the second one was answered from the cache');
  });

  test('HELLO 2 AUTH shares as AUTH does: 100 connect-HELLO-GET clients are served from the cache; refusals are the bytes Redis sends', async () => {
    const hello = (user: string, pw: string) => cmd('HELLO', '2', 'AUTH', user, pw);
    // the server's description, from Redis (the client id in it differs from a direct connection's)
    const [desc, value] = await firstReplies(proxy.port, hello('app', PW.app) + get('hot'), 2);
    assert.match(desc, /^\*14\r\n\$6\r\nserver\r\n\$5\r\nredis\r\n/);
    assert.match(desc, /\$5\r\nproto\r\n:2\r\n/);
    assert.equal(value, '$1\r\nv\r\n');
    const before = await getCalls();
    const connectedBefore = await info('clients', /connected_clients:(\d+)/);
    for (let i = 0; i < 100; i++) assert.equal((await firstReplies(proxy.port, hello('app', PW.app) + get('hot'), 2))[1], '$1\r\nv\r\n');
    assert.ok((await getCalls()) - before <= 10, `Redis ran ${(await getCalls()) - before} of the 100 GETs`);
    assert.ok((await info('clients', /connected_clients:(\d+)/)) <= connectedBefore + 2, 'no connection of their own');
    const [a, b] = await sameAsDirect(hello('app', 'not-the-password') + get('hot'), 2);
    assert.match(a, /^-WRONGPASS /);
    assert.match(b, /^-NOAUTH /);
  });

  test('a wrong password gets WRONGPASS, then NOAUTH for a cached key, as on Redis', async () => {
    await firstReplies(proxy.port, auth('app', PW.app) + get('hot'), 2); // (cached for app)
    const [a, b] = await sameAsDirect(auth('app', 'not-the-password') + get('hot'), 2);
    assert.match(a, /^-WRONGPASS /);
    assert.match(b, /^-NOAUTH /);
    assert.match((await sameAsDirect(cmd('AUTH', 'nobody-like-this') + get('hot'), 2))[0], /^-WRONGPASS /);
  });

  test('no AUTH: NOAUTH for a cached key, and for a write (which does not run)', async () => {
    const [a, b] = await sameAsDirect(get('hot') + cmd('SET', 'hot', 'x'), 2);
    assert.match(a, /^-NOAUTH /);
    assert.match(b, /^-NOAUTH /);
    assert.equal(await direct.ask('GET', 'hot'), '$1\r\nv\r\n');
  });

  test('a user without access to a key gets NOPERM while the key is cached for another user', async () => {
    // (the refused SET of the test before dropped it: filled again first)
    await firstReplies(proxy.port, auth('app', PW.app) + get('hot'), 2);
    const before = (await proxyStats(admin)).cache.hits;
    await firstReplies(proxy.port, auth('app', PW.app) + get('hot'), 2);
    assert.equal((await proxyStats(admin)).cache.hits, before + 1, 'hot is cached for app');
    const [ok, refused] = await sameAsDirect(auth('limited', PW.limited) + get('hot') + get('hot'), 2);
    assert.equal(ok, '+OK\r\n');
    assert.match(refused, /^-NOPERM /);
  });

  test('a client that needs a connection of its own after AUTH (SELECT, CLIENT SETNAME) stays the user it authenticated as', async () => {
    const bytes = auth('limited', PW.limited) + cmd('CLIENT', 'SETNAME', 'mine') + cmd('ACL', 'WHOAMI') + get('hot') + cmd('SELECT', '0') + cmd('ACL', 'WHOAMI');
    const got = await sameAsDirect(bytes, 6);
    assert.equal(got[2], '$7\r\nlimited\r\n');
    assert.match(got[3], /^-NOPERM /);
  });

  test('a password reset made directly on Redis: within about a second a new client with the old password gets WRONGPASS', async () => {
    assert.equal(await direct.ask('ACL', 'SETUSER', 'rot', 'on', `>${PW.rot}`, '~*', '+@all'), '+OK\r\n');
    const early = await authed(proxy.port, 'rot', PW.rot);
    const earlyDirect = await authed(redis.port, 'rot', PW.rot);
    try {
      assert.equal(await early.ask('GET', 'hot'), '$1\r\nv\r\n');
      assert.equal(await direct.ask('ACL', 'SETUSER', 'rot', 'resetpass', `>${PW.rotNew}`), '+OK\r\n');
      const want = (await firstReplies(redis.port, auth('rot', PW.rot), 1))[0];
      assert.match(want, /^-WRONGPASS /);
      const ms = await eventually('the old password refused through the proxy', async () => (await firstReplies(proxy.port, auth('rot', PW.rot), 1))[0] === want, 2000, 25);
      console.log(`# a direct password reset refused the old password through the proxy after ${Math.round(ms)} ms`);
      assert.ok(ms < 1600, `${ms} ms`);
      // a connection authenticated before keeps its user, on Redis as through the proxy
      assert.equal(await earlyDirect.ask('GET', 'hot'), '$1\r\nv\r\n');
      assert.equal(await early.ask('GET', 'hot'), '$1\r\nv\r\n');
      assert.deepEqual(await sameAsDirect(auth('rot', PW.rotNew) + cmd('ACL', 'WHOAMI'), 2), ['+OK\r\n', '$3\r\nrot\r\n']);
    } finally {
      early.destroy();
      earlyDirect.destroy();
    }
  });

  test("ACL DELUSER made directly on Redis: the deleted user's clients are closed, as Redis closes its own", async () => {
    assert.equal(await direct.ask('ACL', 'SETUSER', 'gone', 'on', `>${PW.gone}`, '~*', '+@all'), '+OK\r\n');
    const viaProxy = [await authed(proxy.port, 'gone', PW.gone), await authed(proxy.port, 'gone', PW.gone)];
    const viaRedis = await authed(redis.port, 'gone', PW.gone);
    assert.equal(await viaProxy[0].ask('GET', 'hot'), '$1\r\nv\r\n');
    const t0 = Date.now();
    assert.equal(await direct.ask('ACL', 'DELUSER', 'gone'), ':1\r\n');
    await viaRedis.readUntilClosed(2000);
    for (const c of viaProxy) await c.readUntilClosed(2000);
    console.log(`# the deleted user's proxy clients were closed after ${Date.now() - t0} ms`);
    assert.match((await sameAsDirect(auth('gone', PW.gone), 1))[0], /^-WRONGPASS /);
  });

  test('ACL SETUSER u off made directly on Redis: what Redis does to connections of u, the proxy does to its clients', async () => {
    assert.equal(await direct.ask('ACL', 'SETUSER', 'offu', 'on', `>${PW.off}`, '~*', '+@all'), '+OK\r\n');
    const viaProxy = await authed(proxy.port, 'offu', PW.off);
    const viaRedis = await authed(redis.port, 'offu', PW.off);
    try {
      assert.equal(await direct.ask('ACL', 'SETUSER', 'offu', 'off'), '+OK\r\n');
      const want = (await firstReplies(redis.port, auth('offu', PW.off), 1))[0];
      await eventually('offu refused through the proxy', async () => (await firstReplies(proxy.port, auth('offu', PW.off), 1))[0] === want, 2000, 25);
      // Redis 7.0 keeps a disabled user's connections (and 7.2 too); whatever it does, the same
      viaRedis.write(cmd('PING'));
      viaProxy.write(cmd('PING'));
      const [r, p] = await Promise.all([viaRedis.readBytes(1000), viaProxy.readBytes(1000)]);
      assert.equal(p.toString(), r.toString());
    } finally {
      viaProxy.destroy();
      viaRedis.destroy();
    }
  });

  test("a pool connection Redis closes (CLIENT KILL USER) closes its clients and drops the entries filled through it", async () => {
    assert.equal(await direct.ask('SET', 'killed', 'kv'), '+OK\r\n');
    const c = await authed(proxy.port, 'app', PW.app);
    const viaRedis = await authed(redis.port, 'app', PW.app);
    assert.equal(await c.ask('GET', 'killed'), '$2\r\nkv\r\n');
    const before = await getCalls();
    assert.equal(await c.ask('GET', 'killed'), '$2\r\nkv\r\n');
    assert.equal((await getCalls()) - before, 0, 'cached');
    assert.match(await direct.ask('CLIENT', 'KILL', 'USER', 'app'), /^:\d+\r\n$/);
    // closed as a direct connection of app is
    await viaRedis.readUntilClosed(2000);
    await c.readUntilClosed(2000);
    const next = await firstReplies(proxy.port, auth('app', PW.app) + get('killed'), 2);
    assert.deepEqual(next, ['+OK\r\n', '$2\r\nkv\r\n']);
    assert.equal((await getCalls()) - before, 1, 'the entry went with the connection: read from Redis again');
  });

  test('ioredis and node-redis clients with a password work, and share', async () => {
    const io = new IORedis({ port: proxy.port, username: 'app', password: PW.app, lazyConnect: true, maxRetriesPerRequest: 0 });
    const nr = createClient({ url: `redis://app:${PW.app}@127.0.0.1:${proxy.port}` });
    nr.on('error', () => undefined);
    try {
      await io.connect();
      await nr.connect();
      assert.equal(await io.set('lib:k', 'x'), 'OK');
      assert.equal(await nr.get('lib:k'), 'x');
      assert.equal(await io.get('lib:k'), 'x');
      assert.equal(await nr.aclWhoAmI(), 'app');
      assert.equal(await io.call('ACL', 'WHOAMI'), 'app');
    } finally {
      io.disconnect();
      await nr.disconnect().catch(() => undefined);
    }
  });

  test("no password ever appears in the proxy's logs or /stats", async () => {
    const stats = JSON.stringify(await proxyStats(admin));
    const out = proxy.output();
    assert.ok(out.split('\n').length > 20, 'the proxy did log (trace level)');
    for (const secret of ALL_SECRETS) {
      assert.ok(!stats.includes(secret), 'a password in /stats');
      const line = out.split('\n').find((l) => l.includes(secret));
      assert.equal(line, undefined, 'a password in the logs');
    }
  });
});

describe('--max-user-pools', () => {
  let redis: RedisServer;
  let proxy: ProxyProcess;
  let direct: RawClient;

  before(async () => {
    redis = await startRedis({ args: ['--requirepass', ADMIN] });
    direct = await RawClient.connect(redis.port);
    direct.write(cmd('AUTH', ADMIN) + cmd('ACL', 'SETUSER', 'a', 'on', '>pa', '~*', '+@all') + cmd('ACL', 'SETUSER', 'b', 'on', '>pb', '~*', '+@all'));
    assert.deepEqual((await direct.readFrames(3)).map(String), ['+OK\r\n', '+OK\r\n', '+OK\r\n']);
    ({ proxy } = await startAdminProxy(redis.port, { addr: `redis://:${ADMIN}@127.0.0.1:${redis.port}`, args: ['--max-user-pools', '1'] }));
  });
  after(async () => {
    direct?.destroy();
    await proxy?.stop();
    await redis?.stop();
  });

  test('past the bound, a client of another user gets a connection of its own and works as before', async () => {
    /** Redis's connections authenticated as `name` */
    const clientsOf = async (name: string) => {
      direct.write(cmd('CLIENT', 'LIST'));
      return (await direct.readFrame()).toString('latin1').split('\n').filter((l) => l.includes(` user=${name} `)).length;
    };
    const as = await Promise.all([1, 2, 3].map(() => RawClient.connect(proxy.port)));
    const bs = await Promise.all([1, 2, 3].map(() => RawClient.connect(proxy.port)));
    try {
      for (const c of as) c.write(cmd('AUTH', 'a', 'pa') + cmd('ACL', 'WHOAMI'));
      for (const c of as) assert.deepEqual((await c.readFrames(2)).map(String), ['+OK\r\n', '$1\r\na\r\n']);
      for (const c of bs) c.write(cmd('AUTH', 'b', 'pb') + cmd('ACL', 'WHOAMI'));
      for (const c of bs) assert.deepEqual((await c.readFrames(2)).map(String), ['+OK\r\n', '$1\r\nb\r\n']);
      // (and the AUTH check connection, authenticated as the last user it checked)
      assert.equal(await clientsOf('a'), 3, "a's pool: --shared-connections (2) connections for three clients");
      assert.equal(await clientsOf('b'), 3, 'no pool for b: a connection each');
    } finally {
      for (const c of [...as, ...bs]) c.destroy();
    }
  });
});
