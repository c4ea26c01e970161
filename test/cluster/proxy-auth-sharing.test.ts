// Contract §2.6 behind a Redis Cluster with a password and ACL users (made on every node: a
// cluster copies no ACL rule between nodes): clients the cluster accepted as the same user
// share that user's pools on each master and its cache entries, and what a client sees is
// compared byte for byte with a direct connection to the key's node. What the cache saved is
// read on the nodes' side (INFO commandstats, summed over the nodes).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { keyHashSlot } from '../../src/cluster/key-slot.js';
import { type ClusterNodeView } from '../helpers/cluster.js';
import { startCluster, stopClusterProxy, everyLinkTracking, startAdminProxy, RawClient, firstReplies, cmd, eventually, sleep, proxyStats, type AdminProxy, type RedisCluster } from '../helpers/index.js';

const ADMIN = 'adm-Cluster-31x';
const PW = { app: 'app-Cluster-27q', limited: 'lim-Cluster-48z', rot: 'rot-Cluster-55k', rotNew: 'rot-Fresh-66m', gone: 'gone-Cluster-73j', part: 'part-Cluster-12p', twoA: 'two-Cluster-81a', twoB: 'two-Cluster-82b', late: 'late-Cluster-91c', lateNew: 'late-Fresh-92d' };
const ALL_SECRETS = [ADMIN, ...Object.values(PW)];

let cluster: RedisCluster;
let ap: AdminProxy;
let masters: ClusterNodeView[];
/** one key on each master, set to `v-<key>`; hot: on the master that is not home */
let keys: string[];
let hot: string;
let hotPort: number;

const auth = (user: string, pw: string) => cmd('AUTH', user, pw);
const get = (key: string) => cmd('GET', key);

function keyOn(m: ClusterNodeView, prefix: string): string {
  for (let i = 0; ; i++) {
    const key = `${prefix}${i}`;
    const s = keyHashSlot(Buffer.from(key));
    if (m.slots.some(([a, b]) => s >= a && s <= b)) return key;
  }
}

function portOf(key: string): number {
  const s = keyHashSlot(Buffer.from(key));
  return masters.find((m) => m.slots.some(([a, b]) => s >= a && s <= b))!.port;
}

/** the same command on every node, masters and replicas (ACL rules are each node's own) */
async function onEveryNode(...args: string[]): Promise<void> {
  for (const port of cluster.ports) assert.match(String(await cluster.call(port, ...args)), /^(OK|1)$/);
}

/** GETs run so far, summed over every node (a replica promoted by a test runs them too) */
async function getCalls(): Promise<number> {
  let n = 0;
  for (const port of cluster.ports) n += Number(/cmdstat_get:calls=(\d+)/.exec(String(await cluster.call(port, 'INFO', 'commandstats')))?.[1] ?? 0);
  return n;
}

/** the same bytes to the node that owns the keys and to the proxy: the replies must be the same */
async function sameAsDirect(nodePort: number, bytes: string, n: number): Promise<string[]> {
  const want = await firstReplies(nodePort, bytes, n);
  assert.deepEqual(await firstReplies(ap.proxy.port, bytes, n), want);
  return want;
}

async function authed(port: number, user: string, pw: string): Promise<RawClient> {
  const c = await RawClient.connect(port);
  assert.equal(await c.ask('AUTH', user, pw), '+OK\r\n');
  return c;
}

before(async () => {
  cluster = await startCluster({ password: ADMIN });
  await onEveryNode('ACL', 'SETUSER', 'app', 'on', `>${PW.app}`, '~*', '+@all');
  await onEveryNode('ACL', 'SETUSER', 'limited', 'on', `>${PW.limited}`, '~other:*', '+@all');
  masters = (await cluster.nodes()).filter((n) => n.role === 'master').sort((a, b) => a.slots[0][0] - b.slots[0][0]);
  keys = masters.map((m) => keyOn(m, 'k'));
  for (const k of keys) assert.equal(await cluster.call(portOf(k), 'SET', k, `v-${k}`), 'OK');
  // (not on the home node, the master of slot 0, where the AUTH checks go)
  hot = keyOn(masters[1], 'hot');
  hotPort = masters[1].port;
  assert.equal(await cluster.call(hotPort, 'SET', hot, 'v'), 'OK');
  ap = await startAdminProxy(cluster.ports[0], {
    addr: `redis://:${ADMIN}@127.0.0.1:${cluster.ports[0]}`,
    until: 'readyz',
    readyMs: 20_000,
    args: ['--ttl', '3600', '--log-level', 'trace'],
  });
  await everyLinkTracking(ap);
});

after(() => stopClusterProxy(ap, cluster));

test('300 sequential short connections, each AUTH app + GET hot: at least 90% answered from the cache (counted by the nodes)', async () => {
  const before = await getCalls();
  for (let i = 0; i < 300; i++) {
    const c = await RawClient.connect(ap.proxy.port);
    c.write(auth('app', PW.app));
    assert.equal((await c.readFrame()).toString(), '+OK\r\n');
    c.write(get(hot));
    assert.equal((await c.readFrame()).toString(), '$1\r\nv\r\n');
    c.destroy();
  }
  const ran = (await getCalls()) - before;
  console.log(`# 300 connect-AUTH-GET clients: the nodes ran ${ran} GETs (${((1 - ran / 300) * 100).toFixed(1)}% from the cache)`);
  assert.ok(ran <= 30, `the nodes ran ${ran} of the 300 GETs`);
});

test("200 concurrent authenticated clients reading keys on every master: each master's connected_clients grows by a few", async () => {
  const connected = async () => Promise.all(masters.map(async (m) => Number(/connected_clients:(\d+)/.exec(String(await cluster.call(m.port, 'INFO', 'clients')))?.[1])));
  const before = await connected();
  const clients = await Promise.all(Array.from({ length: 200 }, () => RawClient.connect(ap.proxy.port)));
  try {
    const want = ['+OK\r\n', ...keys.map((k) => `$${2 + k.length}\r\nv-${k}\r\n`)];
    for (const c of clients) c.write(auth('app', PW.app) + keys.map(get).join(''));
    for (const c of clients) assert.deepEqual((await c.readFrames(1 + keys.length)).map(String), want);
    const now = await connected();
    // (minus one: the INFO's own connection, counted in both)
    const grown = now.map((n, i) => n - before[i]);
    console.log(`# 200 authenticated clients of the proxy: the masters' connected_clients ${before.join('/')} -> ${now.join('/')}`);
    for (const g of grown) assert.ok(g <= 4, `a master has ${g} more connections`);
    assert.equal((await proxyStats(ap.admin)).clients.connected, 200);
  } finally {
    for (const c of clients) c.destroy();
  }
});

test('AUTH followed by GETs in one write: replies in order, and the next client is answered from the cache', async () => {
  const k = keyOn(masters[2], 'pipe');
  assert.equal(await cluster.call(masters[2].port, 'SET', k, 'pv'), 'OK');
  const bytes = auth('app', PW.app) + get(k) + get(hot) + get(k);
  const want = ['+OK\r\n', '$2\r\npv\r\n', '$1\r\nv\r\n', '$2\r\npv\r\n'];
  assert.deepEqual(await firstReplies(ap.proxy.port, bytes, 4), want);
  const before = await getCalls();
  assert.deepEqual(await firstReplies(ap.proxy.port, bytes, 4), want);
  assert.equal((await getCalls()) - before, 0, 'the second client was answered from the cache');
});

test('HELLO 2 AUTH shares as AUTH does: 50 connect-HELLO-GET clients are served from the cache; a refusal is the bytes of the node', async () => {
  const hello = (user: string, pw: string) => cmd('HELLO', '2', 'AUTH', user, pw);
  const [desc, value] = await firstReplies(ap.proxy.port, hello('app', PW.app) + get(hot), 2);
  // (the server's description, from the home node)
  assert.match(desc, /^\*14\r\n\$6\r\nserver\r\n\$5\r\nredis\r\n/);
  assert.match(desc, /\$4\r\nmode\r\n\$7\r\ncluster\r\n/);
  assert.equal(value, '$1\r\nv\r\n');
  const before = await getCalls();
  for (let i = 0; i < 50; i++) assert.equal((await firstReplies(ap.proxy.port, hello('app', PW.app) + get(hot), 2))[1], '$1\r\nv\r\n');
  assert.ok((await getCalls()) - before <= 5, `the nodes ran ${(await getCalls()) - before} of the 50 GETs`);
  const [a, b] = await sameAsDirect(hotPort, hello('app', 'not-the-password') + get(hot), 2);
  assert.match(a, /^-WRONGPASS /);
  assert.match(b, /^-NOAUTH /);
});

test('a wrong password gets WRONGPASS then NOAUTH for a cached key; no AUTH gets NOAUTH: the bytes of the key\'s node', async () => {
  await firstReplies(ap.proxy.port, auth('app', PW.app) + get(hot), 2); // (cached for app)
  const [a, b] = await sameAsDirect(hotPort, auth('app', 'not-the-password') + get(hot), 2);
  assert.match(a, /^-WRONGPASS /);
  assert.match(b, /^-NOAUTH /);
  const [c, d] = await sameAsDirect(hotPort, get(hot) + cmd('SET', hot, 'x'), 2);
  assert.match(c, /^-NOAUTH /);
  assert.match(d, /^-NOAUTH /);
  assert.equal(String(await cluster.call(hotPort, 'GET', hot)), 'v', 'the refused SET did not run');
  const [e, f] = await sameAsDirect(hotPort, 'GET ' + hot + '\r\n' + auth('app', 'nope'), 2);
  assert.match(e, /^-NOAUTH /);
  assert.match(f, /^-WRONGPASS /);
});

test('a user without access to a key gets NOPERM while the key is cached for another user', async () => {
  await firstReplies(ap.proxy.port, auth('app', PW.app) + get(hot), 2);
  const hits = (await proxyStats(ap.admin)).cache.hits;
  await firstReplies(ap.proxy.port, auth('app', PW.app) + get(hot), 2);
  assert.equal((await proxyStats(ap.admin)).cache.hits, hits + 1, 'hot is cached for app');
  const [ok, refused] = await sameAsDirect(hotPort, auth('limited', PW.limited) + get(hot), 2);
  assert.equal(ok, '+OK\r\n');
  assert.match(refused, /^-NOPERM /);
});

test('a client that needs lanes of its own after AUTH (CLIENT SETNAME, SELECT) stays the user it authenticated as', async () => {
  const got = await firstReplies(ap.proxy.port, auth('limited', PW.limited) + cmd('CLIENT', 'SETNAME', 'mine') + cmd('ACL', 'WHOAMI') + get(hot) + cmd('SELECT', '0') + cmd('ACL', 'WHOAMI'), 6);
  assert.deepEqual(got.slice(0, 3), ['+OK\r\n', '+OK\r\n', '$7\r\nlimited\r\n']);
  assert.match(got[3], /^-NOPERM /);
  assert.deepEqual(got.slice(4), ['+OK\r\n', '$7\r\nlimited\r\n']);
});

test('a password reset made directly on every node: within about a second a new client with the old password gets WRONGPASS', async () => {
  await onEveryNode('ACL', 'SETUSER', 'rot', 'on', `>${PW.rot}`, '~*', '+@all');
  const early = await authed(ap.proxy.port, 'rot', PW.rot);
  try {
    assert.equal(await early.ask('GET', hot), '$1\r\nv\r\n');
    const t0 = performance.now();
    await onEveryNode('ACL', 'SETUSER', 'rot', 'resetpass', `>${PW.rotNew}`);
    const want = (await firstReplies(cluster.ports[0], auth('rot', PW.rot), 1))[0];
    assert.match(want, /^-WRONGPASS /);
    await eventually('the old password refused through the proxy', async () => (await firstReplies(ap.proxy.port, auth('rot', PW.rot), 1))[0] === want, 2000, 25);
    const ms = performance.now() - t0;
    console.log(`# a password reset on every node refused the old password through the proxy after ${Math.round(ms)} ms`);
    assert.ok(ms < 1600, `${ms} ms`);
    // a client authenticated before keeps its user, as a direct connection does
    assert.equal(await early.ask('GET', hot), '$1\r\nv\r\n');
    assert.deepEqual(await firstReplies(ap.proxy.port, auth('rot', PW.rotNew) + cmd('ACL', 'WHOAMI') + get(hot), 3), ['+OK\r\n', '$3\r\nrot\r\n', '$1\r\nv\r\n']);
  } finally {
    early.destroy();
  }
});

test("ACL DELUSER made directly on every node: the deleted user's clients are closed, as the nodes close their own", async () => {
  await onEveryNode('ACL', 'SETUSER', 'gone', 'on', `>${PW.gone}`, '~*', '+@all');
  // one that read keys on every master, one that only authenticated
  const reader = await authed(ap.proxy.port, 'gone', PW.gone);
  for (const k of keys) assert.equal(await reader.ask('GET', k), `$${2 + k.length}\r\nv-${k}\r\n`);
  const idle = await authed(ap.proxy.port, 'gone', PW.gone);
  const viaNode = await authed(hotPort, 'gone', PW.gone);
  const t0 = Date.now();
  await onEveryNode('ACL', 'DELUSER', 'gone');
  await viaNode.readUntilClosed(2000);
  for (const c of [reader, idle]) await c.readUntilClosed(2000);
  console.log(`# the deleted user's proxy clients were closed after ${Date.now() - t0} ms`);
  // (a credential accepted less than a second ago may still be answered from memory: contract §2.6's second)
  const want = (await firstReplies(hotPort, auth('gone', PW.gone), 1))[0];
  assert.match(want, /^-WRONGPASS /);
  const ms = await eventually('gone refused through the proxy', async () => (await firstReplies(ap.proxy.port, auth('gone', PW.gone), 1))[0] === want, 2000, 25);
  console.log(`# and refused a new client after ${Math.round(ms)} ms`);
});

test('a user whose credentials one master refuses gets lanes of its own, as before: that node answers it as a direct client', async () => {
  // (part's password differs on the third master: ACL rules are each node's own)
  await onEveryNode('ACL', 'SETUSER', 'part', 'on', `>${PW.part}`, '~*', '+@all');
  assert.equal(await cluster.call(masters[2].port, 'ACL', 'SETUSER', 'part', 'resetpass', '>elsewhere'), 'OK');
  const k0 = keys[0];
  const k2 = keys[2];
  const got = await firstReplies(ap.proxy.port, auth('part', PW.part) + get(k0) + get(k2) + cmd('ACL', 'WHOAMI'), 4);
  assert.deepEqual(got.slice(0, 2), ['+OK\r\n', `$${2 + k0.length}\r\nv-${k0}\r\n`]);
  // the node refused the AUTH on that lane: what a connection of the node says then
  const direct = await firstReplies(masters[2].port, auth('part', PW.part) + get(k2), 2);
  assert.equal(got[2], direct[1]);
  assert.equal(got[3], '$4\r\npart\r\n');
});

test("a value a master would refuse is never served from the cache: a password only some masters take gets that node's answer, even while the user's entry is cached", async () => {
  // two takes both passwords on the other masters, the third master only twoB
  await onEveryNode('ACL', 'SETUSER', 'two', 'on', `>${PW.twoA}`, `>${PW.twoB}`, '~*', '+@all');
  assert.equal(await cluster.call(masters[2].port, 'ACL', 'SETUSER', 'two', 'resetpass', `>${PW.twoB}`), 'OK');
  const k0 = keys[0];
  const k2 = keys[2];
  const value = (k: string) => `$${2 + k.length}\r\nv-${k}\r\n`;
  // a client every master takes fills two's entry of k2, and is answered from it
  const filler = await authed(ap.proxy.port, 'two', PW.twoB);
  try {
    // (until two's pool on k2's master is up and tracking: a GET then fills, and the next is a hit)
    await eventually("two's entry of k2 cached", async () => {
      assert.equal(await filler.ask('GET', k2), value(k2));
      const before = await getCalls();
      assert.equal(await filler.ask('GET', k2), value(k2));
      return (await getCalls()) === before;
    });
  } finally {
    filler.destroy();
  }
  // twoA: the home node says +OK, k2's master refuses it: for k2, what that master says
  const direct = await firstReplies(masters[2].port, auth('two', PW.twoA) + get(k2) + cmd('MGET', k2), 3);
  assert.equal(direct[0].slice(0, 10), '-WRONGPASS');
  assert.match(direct[1], /^-NOAUTH/);
  const got = await firstReplies(ap.proxy.port, auth('two', PW.twoA) + get(k2) + get(k2) + cmd('MGET', k2), 4);
  assert.deepEqual(got, ['+OK\r\n', direct[1], direct[1], direct[2]]);
  const late = await authed(ap.proxy.port, 'two', PW.twoA);
  try {
    assert.equal(await late.ask('GET', k0), value(k0));
    assert.equal(await late.ask('GET', k2), direct[1]);
    assert.equal(await late.ask('GET', k0), value(k0));
  } finally {
    late.destroy();
  }
});

test("a password changed on one master only: a client of the user's pools is then served that master's keys as a new connection there would be, not from the cache", async () => {
  await onEveryNode('ACL', 'SETUSER', 'late', 'on', `>${PW.late}`, '~*', '+@all');
  const k0 = keys[0];
  const k2 = keys[2];
  const value = (k: string) => `$${2 + k.length}\r\nv-${k}\r\n`;
  // c shares late's pools, and has used the home master only
  const c = await authed(ap.proxy.port, 'late', PW.late);
  const filler = await authed(ap.proxy.port, 'late', PW.late);
  try {
    assert.equal(await c.ask('GET', k0), value(k0));
    await eventually("late's entry of k2 cached", async () => {
      assert.equal(await filler.ask('GET', k2), value(k2));
      const before = await getCalls();
      assert.equal(await filler.ask('GET', k2), value(k2));
      return (await getCalls()) === before;
    });
    // made directly on k2's master: its ACL watch tells the proxy within about a second
    assert.equal(await cluster.call(masters[2].port, 'ACL', 'SETUSER', 'late', 'resetpass', `>${PW.lateNew}`), 'OK');
    const direct = await firstReplies(masters[2].port, auth('late', PW.late) + get(k2), 2);
    assert.match(direct[1], /^-NOAUTH/);
    // (the ACL watch reads ACL LIST every second; the change empties the cache)
    await sleep(2500);
    // the filler sits on late's pool there, which Redis keeps authenticated: it fills k2 again
    await eventually("late's entry of k2 cached again", async () => {
      assert.equal(await filler.ask('GET', k2), value(k2));
      const before = await getCalls();
      assert.equal(await filler.ask('GET', k2), value(k2));
      return (await getCalls()) === before;
    });
    // c had no seat there: what a new connection to that master gets, not the entry
    assert.equal(await c.ask('GET', k2), direct[1]);
    assert.equal(await c.ask('GET', k0), value(k0));
  } finally {
    c.destroy();
    filler.destroy();
  }
});

test("no password ever appears in the proxy's logs or /stats; /stats counts the user pools", async () => {
  const stats = await proxyStats(ap.admin);
  const text = JSON.stringify(stats);
  const pools = (stats as unknown as { redis: { userPools: { users: number; authChecks: number } | null } }).redis.userPools;
  assert.ok(pools !== null && pools.users >= 1 && pools.authChecks >= 1, JSON.stringify(pools));
  const out = ap.proxy.output();
  assert.ok(out.split('\n').length > 20, 'the proxy did log (trace level)');
  for (const secret of ALL_SECRETS.filter((s) => s !== ADMIN)) {
    assert.ok(!text.includes(secret), 'a password in /stats');
    assert.equal(out.split('\n').find((l) => l.includes(secret)), undefined, 'a password in the logs');
  }
});

test('--max-user-pools applies per node: past it, a client of another user gets lanes of its own and works as before', async () => {
  const small = await startAdminProxy(cluster.ports[0], {
    addr: `redis://:${ADMIN}@127.0.0.1:${cluster.ports[0]}`,
    until: 'readyz',
    readyMs: 20_000,
    args: ['--max-user-pools', '1'],
  });
  /** connections of `user` on the master owning `key` */
  const clientsOf = async (port: number, user: string) => String(await cluster.call(port, 'CLIENT', 'LIST')).split('\n').filter((l) => l.includes(` user=${user} `)).length;
  try {
    const as = await Promise.all([1, 2, 3].map(() => RawClient.connect(small.proxy.port)));
    const ls = await Promise.all([1, 2, 3].map(() => RawClient.connect(small.proxy.port)));
    try {
      const before = { app: await clientsOf(hotPort, 'app'), limited: await clientsOf(hotPort, 'limited') };
      for (const c of as) c.write(auth('app', PW.app) + get(hot) + cmd('ACL', 'WHOAMI'));
      for (const c of as) assert.deepEqual((await c.readFrames(3)).map(String), ['+OK\r\n', '$1\r\nv\r\n', '$3\r\napp\r\n']);
      for (const c of ls) c.write(auth('limited', PW.limited) + get(hot) + cmd('ACL', 'WHOAMI'));
      for (const c of ls) {
        const [ok, refused, who] = (await c.readFrames(3)).map(String);
        assert.equal(ok, '+OK\r\n');
        assert.match(refused, /^-NOPERM /);
        assert.equal(who, '$7\r\nlimited\r\n');
      }
      // (and the node's AUTH check connection, authenticated as the last user it checked)
      assert.ok((await clientsOf(hotPort, 'app')) - before.app <= 3, "app's pool on hot's node: --shared-connections (2) connections for three clients");
      assert.ok((await clientsOf(hotPort, 'limited')) - before.limited >= 3, 'no pool for limited: a lane each');
    } finally {
      for (const c of [...as, ...ls]) c.destroy();
    }
  } finally {
    await small.proxy.stop();
  }
});

// (last: it changes which node is master of hot's slots)
test("CLUSTER FAILOVER of hot's master: a client of app's pools follows the slot to the new master, nothing stale is served, and new clients share there", async () => {
  const c = await authed(ap.proxy.port, 'app', PW.app);
  try {
    assert.equal(await c.ask('GET', hot), '$1\r\nv\r\n');
    const replica = (await cluster.nodes()).find((n) => n.role === 'replica' && n.masterId === masters[1].id && !n.failed)!;
    await cluster.failover(replica.port);
    await eventually('the proxy knows the new master', async () => {
      const st = (await proxyStats(ap.admin)) as unknown as { cluster: { nodes: Array<{ addr: string; role: string }> } };
      return st.cluster.nodes.some((n) => n.addr.endsWith(`:${replica.port}`) && n.role === 'master');
    }, 10_000);
    assert.equal(await cluster.call(replica.port, 'SET', hot, 'after'), 'OK');
    // (the old master's keys were dropped with the slot's change of owner: read again from the new one)
    await eventually('the new value through the proxy', async () => (await c.ask('GET', hot)) === '$5\r\nafter\r\n', 2000, 20);
    const before = await getCalls();
    for (let i = 0; i < 20; i++) assert.deepEqual(await firstReplies(ap.proxy.port, auth('app', PW.app) + get(hot), 2), ['+OK\r\n', '$5\r\nafter\r\n']);
    assert.ok((await getCalls()) - before <= 2, `the nodes ran ${(await getCalls()) - before} of the 20 GETs`);
    await cluster.failover(masters[1].port);
  } finally {
    c.destroy();
  }
});
