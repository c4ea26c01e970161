// What the cluster answers while it cannot serve a command, through the proxy: CLUSTERDOWN
// (a slot nobody serves), TRYAGAIN (a multi-key command over a slot mid-move) and READONLY
// (a keyless write that reaches a master just demoted). The proxy retries each with a bounded
// backoff (20, 50, 100 ... 1500 ms: about 3 s), then gives the client the node's error, byte
// for byte; READONLY is retried at the demoted node's master once the map is read again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { keyHashSlot } from '../../src/cluster/key-slot.js';
import { type RedisCluster, type ClusterNodeView } from '../helpers/cluster.js';
import { startClusterProxy, stopClusterProxy, RawClient, cmd, eventually, sleep, proxyStats, type AdminProxy } from '../helpers/index.js';

let cluster: RedisCluster;
let ap: AdminProxy;

before(async () => ({ cluster, ap } = await startClusterProxy()));
after(() => stopClusterProxy(ap, cluster));

type Redirects = { moved: number; ask: number; tryagain: number; clusterdown: number; readonly: number };
async function redirects(): Promise<Redirects> {
  return ((await proxyStats(ap.admin)) as unknown as { cluster: { redirects: Redirects } }).cluster.redirects;
}

/** the retries' delays, summed (cluster-upstream.ts RETRY_MS) */
const BUDGET_MS = 20 + 50 + 100 + 200 + 400 + 800 + 1500;

/** A key of `slot`'s own (no other test uses it), and the slot. */
function keyIn(prefix: string, pick: (slot: number) => boolean): { key: string; slot: number } {
  for (let i = 0; ; i++) {
    const key = `${prefix}${i}`;
    const slot = keyHashSlot(Buffer.from(key));
    if (pick(slot)) return { key, slot };
  }
}

/** A master that is not the seed (the proxy reads the topology from the seed first). */
async function notSeedMaster(): Promise<ClusterNodeView> {
  return (await cluster.nodes()).find((n) => n.role === 'master' && !n.failed && n.port !== cluster.ports[0] && n.slots.length > 0)!;
}

/** A master `slot`'s owner stops serving it (the others still think it does): it answers `-CLUSTERDOWN Hash slot not served`. */
async function unserve(m: ClusterNodeView, slot: number): Promise<void> {
  // (only that slot: with full coverage required, the node would refuse every key)
  assert.equal(await cluster.call(m.port, 'CONFIG', 'SET', 'cluster-require-full-coverage', 'no'), 'OK');
  assert.equal(await cluster.call(m.port, 'CLUSTER', 'DELSLOTS', slot), 'OK');
}

async function serveAgain(m: ClusterNodeView, slot: number): Promise<void> {
  assert.equal(await cluster.call(m.port, 'CLUSTER', 'ADDSLOTS', slot), 'OK');
  assert.equal(await cluster.call(m.port, 'CONFIG', 'SET', 'cluster-require-full-coverage', 'yes'), 'OK');
}

test('CLUSTERDOWN: retried while the slot is not served; the slot served again within the budget, the client gets the value', async () => {
  const m = await notSeedMaster();
  const { key, slot } = keyIn('cd-back:', (s) => s === m.slots[0][0] + 1);
  assert.equal(await cluster.call(m.port, 'SET', key, 'back'), 'OK');
  const c = await RawClient.connect(ap.proxy.port);
  try {
    await unserve(m, slot);
    const direct = await RawClient.connect(m.port);
    direct.write(cmd('GET', key));
    assert.equal((await direct.readFrame()).toString(), '-CLUSTERDOWN Hash slot not served\r\n', 'the node refuses the slot');
    direct.destroy();
    const before = (await redirects()).clusterdown;
    c.write(cmd('GET', key) + cmd('PING'));
    const got = c.readFrames(2, 10_000);
    await eventually('the proxy met CLUSTERDOWN', async () => (await redirects()).clusterdown > before, 2000, 10);
    await sleep(200);
    await serveAgain(m, slot);
    assert.deepEqual((await got).map((f) => f.toString()), ['$4\r\nback\r\n', '+PONG\r\n']);
    assert.ok((await redirects()).clusterdown - before >= 2, 'retried');
  } finally {
    c.destroy();
  }
});

test('CLUSTERDOWN past the budget: the client gets the node\'s error bytes unchanged, after about 3 s of retries', async () => {
  const m = await notSeedMaster();
  const { key, slot } = keyIn('cd-gone:', (s) => s === m.slots[0][0] + 2);
  assert.equal(await cluster.call(m.port, 'SET', key, 'gone'), 'OK');
  const c = await RawClient.connect(ap.proxy.port);
  try {
    await unserve(m, slot);
    const direct = await RawClient.connect(m.port);
    direct.write(cmd('GET', key));
    const want = (await direct.readFrame()).toString('latin1');
    direct.destroy();
    assert.match(want, /^-CLUSTERDOWN /);
    const before = (await redirects()).clusterdown;
    const t0 = Date.now();
    // (a later request of another node's waits behind it, in order)
    const other = keyIn('cd-other:', (s) => s < m.slots[0][0] || s > m.slots[0][1]).key;
    c.write(cmd('GET', key) + cmd('SET', other, 'x') + cmd('GET', other));
    const got = (await c.readFrames(3, 10_000)).map((f) => f.toString('latin1'));
    const took = Date.now() - t0;
    assert.deepEqual(got, [want, '+OK\r\n', '$1\r\nx\r\n']);
    assert.ok(took >= BUDGET_MS - 50, `the retries took ${took} ms`);
    assert.ok(took < BUDGET_MS + 2000, `the retries took ${took} ms`);
    // the first answer and each of the 7 retries' answers (and as many for the PTTL behind a fill)
    assert.ok((await redirects()).clusterdown - before >= 8);
  } finally {
    await serveAgain(m, slot);
    c.destroy();
  }
  // served again: the key reads through the proxy
  const c2 = await RawClient.connect(ap.proxy.port);
  c2.write(cmd('GET', key));
  assert.equal((await c2.readFrame()).toString(), '$4\r\ngone\r\n');
  c2.destroy();
});

test('TRYAGAIN: MGET over a slot mid-move with one key moved is retried, then the client gets the node\'s TRYAGAIN as it is', async () => {
  const slot = keyHashSlot(Buffer.from('t'));
  const owner = await cluster.ownerOf(slot);
  const to = (await cluster.nodes()).find((n) => n.role === 'master' && !n.failed && n.id !== owner.id)!;
  const keys = ['{t}a', '{t}b'];
  for (const k of keys) assert.equal(await cluster.call(owner.port, 'SET', k, `v${k}`), 'OK');
  const move = await cluster.startSlotMove(slot, to.port);
  assert.equal(await cluster.call(owner.port, 'MIGRATE', '127.0.0.1', to.port, '', 0, 5000, 'KEYS', keys[0]), 'OK');
  // what a direct connection to the owner is told (ioredis's Cluster would retry this, then return it)
  const direct = await RawClient.connect(owner.port);
  direct.write(cmd('MGET', ...keys));
  const want = (await direct.readFrame()).toString('latin1');
  direct.destroy();
  assert.equal(want, '-TRYAGAIN Multiple keys request during rehashing of slot\r\n');
  const c = await RawClient.connect(ap.proxy.port);
  try {
    const before = (await redirects()).tryagain;
    const t0 = Date.now();
    c.write(cmd('MGET', ...keys) + cmd('GET', keys[1]) + cmd('GET', keys[0]));
    const got = (await c.readFrames(3, 10_000)).map((f) => f.toString('latin1'));
    const took = Date.now() - t0;
    // the single-key GETs are ASKed (the moved key) or served (the one left) meanwhile, in order
    assert.deepEqual(got, [want, '$5\r\nv{t}b\r\n', '$5\r\nv{t}a\r\n']);
    assert.ok(took >= BUDGET_MS - 50 && took < BUDGET_MS + 2000, `the retries took ${took} ms`);
    assert.equal((await redirects()).tryagain - before, 8);
  } finally {
    c.destroy();
    await move.migrateKeys();
    await move.finish();
  }
  // moved: the MGET is answered
  const c2 = await RawClient.connect(ap.proxy.port);
  c2.write(cmd('MGET', ...keys));
  assert.equal((await c2.readFrame(10_000)).toString(), '*2\r\n$5\r\nv{t}a\r\n$5\r\nv{t}b\r\n');
  c2.destroy();
});

test('READONLY: a keyless write that reaches a master just demoted is retried at its new master, the map read again', async () => {
  // the home node (keyless commands go there) is the master of slot 0
  const view = await cluster.nodes();
  const home = view.find((n) => n.role === 'master' && !n.failed && n.slots.some(([a]) => a === 0))!;
  const replica = view.find((n) => n.role === 'replica' && n.masterId === home.id && !n.failed)!;
  const { key } = keyIn('ro:', (s) => home.slots.some(([a, b]) => s >= a && s <= b));
  // (numkeys 0: the script's key is its own business, the command is keyless)
  const incr = cmd('EVAL', `return redis.call('INCR', '${key}')`, '0');
  const shared = await RawClient.connect(ap.proxy.port);
  const own = await RawClient.connect(ap.proxy.port);
  try {
    // both clients have their lanes to the home node open: a seat on its pool, a connection of the client's own
    shared.write(incr);
    own.write(cmd('CLIENT', 'SETNAME', 'ro-own') + incr);
    assert.equal((await shared.readFrame()).toString(), ':1\r\n');
    assert.deepEqual((await own.readFrames(2)).map((f) => f.toString()), ['+OK\r\n', ':2\r\n']);
    const before = await redirects();
    assert.equal(await cluster.call(replica.port, 'CLUSTER', 'FAILOVER'), 'OK');
    // the moment the old master says it is a replica (the proxy has not read the map since, but
    // for its 5 s timer), the writes reach it through the proxy's connections to it
    await eventually('the old master is demoted', async () => {
      const role = (await cluster.call(home.port, 'ROLE')) as unknown[];
      return String(role[0]) === 'slave';
    }, 10_000, 5);
    shared.write(incr);
    assert.equal((await shared.readFrame(10_000)).toString(), ':3\r\n');
    // (the own client's home lane still goes to the demoted node, whatever the map says by now)
    own.write(incr);
    assert.equal((await own.readFrame(10_000)).toString(), ':4\r\n');
    // (one after the other: a retried command runs after the ones behind it that needed no retry)
    own.write(cmd('FLUSHALL'));
    assert.equal((await own.readFrame(10_000)).toString(), '+OK\r\n');
    const after = await redirects();
    assert.ok(after.readonly > before.readonly, `READONLY met and retried (${after.readonly - before.readonly})`);
    // the writes were made on the new master: FLUSHALL reached it too
    assert.equal(await cluster.call(replica.port, 'DBSIZE'), 0);
    // what a direct connection to the demoted node is told
    const direct = await RawClient.connect(home.port);
    direct.write(cmd('FLUSHALL'));
    assert.equal((await direct.readFrame()).toString(), "-READONLY You can't write against a read only replica.\r\n");
    // ...while a keyed write gets MOVED, even on a connection in READONLY mode (which reads there)
    direct.write(cmd('SET', key, 'x') + cmd('READONLY') + cmd('SET', key, 'x'));
    const [set, ro, roSet] = (await direct.readFrames(3)).map((f) => f.toString());
    assert.match(set, new RegExp(`^-MOVED \\d+ 127\\.0\\.0\\.1:${replica.port}\r\n$`));
    assert.equal(ro, '+OK\r\n');
    assert.equal(roSet, set);
    await eventually('the demoted node serves the READONLY connection\'s GET: the key is flushed there too', async () => {
      direct.write(cmd('GET', key));
      return (await direct.readFrame()).toString() === '$-1\r\n';
    }, 5000, 50);
    direct.destroy();
    own.write(incr);
    assert.equal((await own.readFrame()).toString(), ':1\r\n');
  } finally {
    shared.destroy();
    own.destroy();
    await cluster.waitStable();
  }
});
