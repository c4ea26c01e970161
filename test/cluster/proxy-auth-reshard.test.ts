// A cluster with a password behind the proxy, given as two seeds of which the first answers
// nothing (the credentials of --addr apply to every node: discovery, the links, the pools), and a slot with cached keys moved under load (IMPORTING /
// MIGRATING, MIGRATE, SETSLOT NODE): ASK is followed, no error reaches the clients, and no
// stale value is served afterwards.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { keyHashSlot } from '../../src/cluster/key-slot.js';
import { startCluster, type RedisCluster } from '../helpers/cluster.js';
import { everyLinkTracking, startAdminProxy, RawClient, cmd, eventually, sleep, proxyStats, getFreePort, type AdminProxy } from '../helpers/index.js';

const PASSWORD = 'cluster-secret';
let cluster: RedisCluster;
let ap: AdminProxy;

before(async () => {
  cluster = await startCluster({ password: PASSWORD });
  // two seeds, the first of which answers nothing: the second leads to the cluster
  const dead = await getFreePort();
  ap = await startAdminProxy(cluster.ports[0], { addr: `redis://:${PASSWORD}@127.0.0.1:${dead},127.0.0.1:${cluster.ports[1]}`, until: 'readyz', readyMs: 20_000 });
  await everyLinkTracking(ap);
});
after(async () => {
  await ap?.proxy.stop();
  await cluster?.stop();
});

async function authed(): Promise<RawClient> {
  const c = await RawClient.connect(ap.proxy.port);
  c.write(cmd('AUTH', PASSWORD));
  assert.equal((await c.readFrame()).toString(), '+OK\r\n');
  return c;
}

async function hits(): Promise<number> {
  return (await proxyStats(ap.admin)).cache.hits;
}

test('a client must AUTH as on the cluster; after it, keys on every master are read and cached', async () => {
  const anon = await RawClient.connect(ap.proxy.port);
  try {
    anon.write(cmd('GET', 'a'));
    assert.match((await anon.readFrame()).toString(), /^-NOAUTH/);
  } finally {
    anon.destroy();
  }
  const c = await authed();
  try {
    const masters = (await cluster.nodes()).filter((n) => n.role === 'master');
    for (const m of masters) {
      let key = '';
      for (let i = 0; key === ''; i++) {
        const s = keyHashSlot(Buffer.from(`au${i}`));
        if (m.slots.some(([a, b]) => s >= a && s <= b)) key = `au${i}`;
      }
      c.write(cmd('SET', key, 'v1'));
      assert.equal((await c.readFrame()).toString(), '+OK\r\n');
      await eventually(`${key} cached`, async () => {
        const h = await hits();
        c.write(cmd('GET', key));
        assert.equal((await c.readFrame()).toString(), '$2\r\nv1\r\n');
        return (await hits()) > h;
      }, 5000, 20);
      await cluster.call(m.port, 'SET', key, 'v2');
      await eventually(`${key} fresh`, async () => {
        c.write(cmd('GET', key));
        return (await c.readFrame()).toString() === '$2\r\nv2\r\n';
      }, 1000, 5);
    }
  } finally {
    c.destroy();
  }
});

test('resharding under load: a slot with cached keys moves key by key; no error reaches the clients, ASK is followed, nothing stale after', async () => {
  const tag = 'rs';
  const slot = keyHashSlot(Buffer.from(tag));
  const keys = Array.from({ length: 30 }, (_, i) => `{${tag}}${i}`);
  const setup = await authed();
  setup.write(keys.map((k) => cmd('SET', k, `v-${k}`)).join(''));
  for (const r of await setup.readFrames(keys.length)) assert.equal(r.toString(), '+OK\r\n');
  setup.destroy();

  // readers: GET every key (mostly from the cache), each reply checked against its key
  let running = true;
  const errors: string[] = [];
  let rounds = 0;
  const reader = async (): Promise<void> => {
    const c = await authed();
    try {
      while (running) {
        c.write(keys.map((k) => cmd('GET', k)).join(''));
        const got = (await c.readFrames(keys.length, 10_000)).map((f) => f.toString());
        keys.forEach((k, i) => {
          if (got[i] !== `$${`v-${k}`.length}\r\nv-${k}\r\n`) errors.push(`${k}: ${JSON.stringify(got[i])}`);
        });
        rounds++;
      }
    } finally {
      c.destroy();
    }
  };
  const asks = async () => ((await proxyStats(ap.admin)) as unknown as { cluster: { redirects: { ask: number } } }).cluster.redirects.ask;
  const asksBefore = await asks();
  const readers = [reader(), reader(), reader()];
  await sleep(300);
  const owner = await cluster.ownerOf(slot);
  const to = (await cluster.nodes()).find((n) => n.role === 'master' && n.id !== owner.id)!;
  const move = await cluster.startSlotMove(slot, to.port);
  await sleep(200);
  await move.migrateKeys();
  await sleep(300);
  await move.finish();
  await sleep(500);
  running = false;
  await Promise.all(readers);
  assert.deepEqual(errors, []);
  assert.ok(rounds > 5, `rounds: ${rounds}`);
  // (the keys were read from the importing node while the slot was mid-move)
  assert.ok((await asks()) > asksBefore, 'ASK was followed');
  // a write on the new owner is what the proxy serves: nothing cached before the move survives
  await cluster.call(to.port, 'SET', keys[0], 'after-move');
  const c = await authed();
  try {
    await eventually('the new value through the proxy', async () => {
      c.write(cmd('GET', keys[0]));
      return (await c.readFrame()).toString() === '$10\r\nafter-move\r\n';
    }, 1000, 5);
    c.write(cmd('GET', keys[1]));
    assert.equal((await c.readFrame()).toString(), `$${`v-${keys[1]}`.length}\r\nv-${keys[1]}\r\n`);
  } finally {
    c.destroy();
  }
});
