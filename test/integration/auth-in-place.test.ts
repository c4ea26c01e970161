import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, RawClient, firstReplies, cmd, proxyStats, startAdminProxy, sleep, type RedisServer, type ProxyProcess } from '../helpers/index.js';

// An AUTH alone at the head of a read, with a credential Redis accepted within the last
// second, is answered from the credential memory where the read arrived (session/
// in-place-auth.ts). It must be exactly the usual road's answer: the replies in order, the
// same bytes, and nothing remembered across a change of rules. The proxy's --addr is the
// user `app`, so app's password takes the compared (not digested) key, and `rot`'s the
// digested one.

const ADMIN = 'adm-Secret-12a';
const PW = { app: 'app-Secret-34b', rot: 'rot-Secret-56c', rotNew: 'rot-Fresh-78d', appNew: 'app-Fresh-90e' };

const auth = (user: string, pw: string) => cmd('AUTH', user, pw);
const get = (key: string) => cmd('GET', key);

describe('AUTH answered from the credential memory in place', () => {
  let redis: RedisServer;
  let proxy: ProxyProcess;
  let admin: number;
  let direct: RawClient;

  const memory = async () => {
    const u = (await proxyStats(admin)).redis.userPools;
    assert.ok(u, 'per-user sharing is on');
    return u;
  };
  /** AUTH, then GET hot, until the AUTH is answered from memory (Redis accepted it less than a second ago) */
  const remember = async (user: string, pw: string): Promise<void> => {
    for (let i = 0; i < 3; i++) {
      const before = (await memory()).authFromMemory;
      assert.deepEqual(await firstReplies(proxy.port, auth(user, pw) + get('hot'), 2), ['+OK\r\n', '$1\r\nv\r\n']);
      if ((await memory()).authFromMemory > before) return;
    }
    assert.fail(`${user}'s AUTH was never answered from memory`);
  };

  before(async () => {
    redis = await startRedis({ args: ['--requirepass', ADMIN] });
    direct = await RawClient.connect(redis.port);
    assert.equal(await direct.ask('AUTH', ADMIN), '+OK\r\n');
    for (const u of ['app', 'rot'] as const) assert.equal(await direct.ask('ACL', 'SETUSER', u, 'on', `>${PW[u]}`, '~*', '+@all'), '+OK\r\n');
    assert.equal(await direct.ask('SET', 'hot', 'v'), '+OK\r\n');
    ({ proxy, admin } = await startAdminProxy(redis.port, { addr: `redis://app:${PW.app}@127.0.0.1:${redis.port}`, args: ['--ttl', '3600'] }));
  });
  after(async () => {
    direct?.destroy();
    await proxy?.stop();
    await redis?.stop();
  });

  test('a remembered AUTH alone in its read: +OK without asking Redis, and the client is its user on its pool', async () => {
    await remember('app', PW.app);
    const before = await memory();
    const c = await RawClient.connect(proxy.port);
    try {
      assert.equal(await c.ask('AUTH', 'app', PW.app), '+OK\r\n');
      const after = await memory();
      assert.equal(after.authFromMemory, before.authFromMemory + 1);
      assert.equal(after.authChecks, before.authChecks, 'Redis was not asked');
      assert.equal(await c.ask('ACL', 'WHOAMI'), '$3\r\napp\r\n');
      assert.equal(await c.ask('GET', 'hot'), '$1\r\nv\r\n');
    } finally {
      c.destroy();
    }
  });

  test('AUTH from memory with requests behind it in the same write: every reply in order, the cached and the forwarded', async () => {
    await remember('rot', PW.rot);
    assert.equal(await direct.ask('SET', 'other', 'ov'), '+OK\r\n');
    const bytes = auth('rot', PW.rot) + get('hot') + cmd('ACL', 'WHOAMI') + get('other') + get('hot') + cmd('PING');
    const want = ['+OK\r\n', '$1\r\nv\r\n', '$3\r\nrot\r\n', '$2\r\nov\r\n', '$1\r\nv\r\n', '+PONG\r\n'];
    for (let i = 0; i < 3; i++) assert.deepEqual(await firstReplies(proxy.port, bytes, want.length), want);
  });

  test('a wrong password is never answered from memory: Redis refuses it, with the bytes a direct client gets', async () => {
    await remember('app', PW.app);
    for (const pw of [PW.app.slice(0, -1), `${PW.app}x`, PW.app.replace('S', 's'), '']) {
      const before = (await memory()).authChecks;
      const bytes = auth('app', pw) + get('hot');
      const want = await firstReplies(redis.port, bytes, 2);
      assert.match(want[0], /^-WRONGPASS /);
      assert.deepEqual(await firstReplies(proxy.port, bytes, 2), want, JSON.stringify(pw));
      assert.ok((await memory()).authChecks > before, 'Redis was asked');
    }
    // and another user's password is not app's
    const want = await firstReplies(redis.port, auth('rot', PW.app), 1);
    assert.deepEqual(await firstReplies(proxy.port, auth('rot', PW.app), 1), want);
  });

  test('an AUTH that arrives while an earlier request is still in flight waits for its reply, which is not lost', async () => {
    await remember('app', PW.app);
    await remember('rot', PW.rot);
    // 100 ms of Redis's time: the AUTH's read lands while this is in flight on rot's pool
    const busy = cmd('EVAL', "local t = redis.call('TIME'); local s = t[1] * 1e6 + t[2]; repeat local n = redis.call('TIME') until n[1] * 1e6 + n[2] - s > 100000; return 1", '0');
    const c = await RawClient.connect(proxy.port);
    try {
      assert.equal(await c.ask('AUTH', 'rot', PW.rot), '+OK\r\n');
      c.write(busy);
      await sleep(20);
      c.write(auth('app', PW.app) + cmd('ACL', 'WHOAMI'));
      assert.deepEqual((await c.readFrames(3)).map(String), [':1\r\n', '+OK\r\n', '$3\r\napp\r\n']);
    } finally {
      c.destroy();
    }
  });

  test('an AUTH cut across two reads takes the usual road and gets the same answer', async () => {
    await remember('app', PW.app);
    const bytes = auth('app', PW.app) + get('hot');
    const c = await RawClient.connect(proxy.port);
    try {
      c.write(bytes.slice(0, 20));
      await sleep(30);
      c.write(bytes.slice(20));
      assert.deepEqual((await c.readFrames(2)).map(String), ['+OK\r\n', '$1\r\nv\r\n']);
    } finally {
      c.destroy();
    }
  });

  // (last: they change the passwords of rot and of app, the proxy's own user)
  for (const [user, oldPw, newPw] of [['rot', PW.rot, PW.rotNew], ['app', PW.app, PW.appNew]] as const) {
    test(`ACL SETUSER ${user} resetpass through the proxy: at once, the old password is refused by Redis byte for byte`, async () => {
      await remember(user, oldPw);
      const c = await RawClient.connect(proxy.port);
      try {
        assert.equal(await c.ask('AUTH', 'app', user === 'app' ? oldPw : PW.app), '+OK\r\n');
        assert.equal(await c.ask('ACL', 'SETUSER', user, 'resetpass', `>${newPw}`), '+OK\r\n');
      } finally {
        c.destroy();
      }
      // no wait: the memory went when the change went through the proxy. Redis itself refuses
      // the AUTH, on the proxy's check connection or, while the pools are checked again after
      // the change, on the client's own connection: either way it counts a failed AUTH
      const failedAuths = async () => Number(/cmdstat_auth:[^\r\n]*failed_calls=(\d+)/.exec(await direct.ask('INFO', 'commandstats'))?.[1] ?? 0);
      const before = await failedAuths();
      const bytes = auth(user, oldPw) + get('hot');
      const got = await firstReplies(proxy.port, bytes, 2);
      assert.ok((await failedAuths()) > before, 'Redis was asked, and refused');
      const want = await firstReplies(redis.port, bytes, 2);
      assert.match(want[0], /^-WRONGPASS /);
      assert.deepEqual(got, want);
      assert.deepEqual(await firstReplies(proxy.port, auth(user, newPw) + cmd('ACL', 'WHOAMI'), 2), ['+OK\r\n', `$${user.length}\r\n${user}\r\n`]);
    });
  }
});
