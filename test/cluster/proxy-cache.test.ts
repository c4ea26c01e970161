// The cache in front of a cluster: tracking per master (one invalidation link each), fills
// through shared seats and through a client's own lanes. A write made directly on a node is
// seen through the proxy within a second; after a slot moves or a master fails over, nothing
// read before is served stale.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { keyHashSlot } from '../../src/cluster/key-slot.js';
import { startCluster, type RedisCluster } from '../helpers/cluster.js';
import { startAdminProxy, RawClient, cmd, eventually, proxyStats, type AdminProxy } from '../helpers/index.js';

let cluster: RedisCluster;
let ap: AdminProxy;

before(async () => {
  cluster = await startCluster();
  ap = await startAdminProxy(cluster.ports[0], { until: 'readyz', readyMs: 20_000 });
  // every master's link tracking: its slots may fill
  await eventually('every link tracking', async () => {
    const st = (await proxyStats(ap.admin)) as unknown as { cluster: { links: Array<{ role: string; tracking: boolean }> | null } };
    const masters = st.cluster.links?.filter((l) => l.role === 'master') ?? [];
    return masters.length === 3 && masters.every((l) => l.tracking);
  }, 10_000);
});
after(async () => {
  await ap?.proxy.stop();
  await cluster?.stop();
});

async function hits(): Promise<number> {
  return (await proxyStats(ap.admin)).cache.hits;
}

/** A key per master, with a prefix. */
async function keyOnEachMaster(prefix: string): Promise<Array<{ key: string; port: number }>> {
  const masters = (await cluster.nodes()).filter((n) => n.role === 'master' && !n.failed && n.slots.length > 0);
  return masters.map((m) => {
    for (let i = 0; ; i++) {
      const key = `${prefix}${i}`;
      const s = keyHashSlot(Buffer.from(key));
      if (m.slots.some(([a, b]) => s >= a && s <= b)) return { key, port: m.port };
    }
  });
}

async function get(c: RawClient, key: string): Promise<string> {
  c.write(cmd('GET', key));
  return (await c.readFrame()).toString();
}

/** GET through the proxy until it gives `value` (bounded): how long it took. */
async function seenWithin(c: RawClient, key: string, value: string, ms: number): Promise<number> {
  const t0 = Date.now();
  await eventually(`${key} = ${value} through the proxy`, async () => (await get(c, key)) === `$${value.length}\r\n${value}\r\n`, ms, 5);
  return Date.now() - t0;
}

for (const mode of ['shared', 'own'] as const) {
  test(`${mode}: GETs on every master are served from the cache, and a write made directly on the node is seen within a second`, async () => {
    const c = await RawClient.connect(ap.proxy.port);
    try {
      if (mode === 'own') {
        c.write(cmd('CLIENT', 'SETNAME', 'own-lanes'));
        assert.equal((await c.readFrame()).toString(), '+OK\r\n');
      }
      const keys = await keyOnEachMaster(`c${mode}:`);
      for (const { key, port } of keys) await cluster.call(port, 'SET', key, 'one');
      // a miss fills (own lanes track once their node answered: a few tries), then hits
      for (const { key } of keys) {
        await eventually(`${key} served from the cache`, async () => {
          const before = await hits();
          assert.equal(await get(c, key), '$3\r\none\r\n');
          return (await hits()) > before;
        }, 5000, 20);
      }
      for (const { key, port } of keys) {
        await cluster.call(port, 'SET', key, 'two');
        const ms = await seenWithin(c, key, 'two', 1000);
        assert.ok(ms < 1000, `${key}: ${ms} ms`);
      }
    } finally {
      c.destroy();
    }
  });
}

test('a slot moved to another master: its cached keys are dropped, and a write on the new owner is what the proxy serves', async () => {
  const c = await RawClient.connect(ap.proxy.port);
  try {
    const key = '{mvc}k';
    const slot = keyHashSlot(Buffer.from(key));
    c.write(cmd('SET', key, 'before'));
    assert.equal((await c.readFrame()).toString(), '+OK\r\n');
    await eventually('cached', async () => {
      const h = await hits();
      await get(c, key);
      return (await hits()) > h;
    }, 5000, 20);
    const owner = await cluster.ownerOf(slot);
    const to = (await cluster.nodes()).find((n) => n.role === 'master' && !n.failed && n.id !== owner.id)!;
    await cluster.moveSlot(slot, to.port);
    await cluster.call(to.port, 'SET', key, 'after');
    assert.ok((await seenWithin(c, key, 'after', 2000)) < 2000);
    // and it fills again from the new owner, and is invalidated by it
    await eventually('cached again', async () => {
      const h = await hits();
      await get(c, key);
      return (await hits()) > h;
    }, 5000, 20);
    await cluster.call(to.port, 'SET', key, 'again');
    assert.ok((await seenWithin(c, key, 'again', 1000)) < 1000);
  } finally {
    c.destroy();
  }
});

test('CLUSTER FAILOVER: nothing read from the old master is served after the switch; the new master\'s writes are seen within a second', async () => {
  const c = await RawClient.connect(ap.proxy.port);
  try {
    const replica = (await cluster.nodes()).find((n) => n.role === 'replica' && !n.failed)!;
    const master = (await cluster.nodes()).find((n) => n.id === replica.masterId)!;
    const [{ key }] = (await keyOnEachMaster('fo:')).filter((k) => k.port === master.port);
    c.write(cmd('SET', key, 'old'));
    assert.equal((await c.readFrame()).toString(), '+OK\r\n');
    await eventually('cached', async () => {
      const h = await hits();
      await get(c, key);
      return (await hits()) > h;
    }, 5000, 20);
    await cluster.failover(replica.port);
    await cluster.call(replica.port, 'SET', key, 'new');
    assert.ok((await seenWithin(c, key, 'new', 3000)) < 3000);
    await eventually('cached from the new master', async () => {
      const h = await hits();
      await get(c, key);
      return (await hits()) > h;
    }, 10_000, 50);
    await cluster.call(replica.port, 'SET', key, 'newer');
    assert.ok((await seenWithin(c, key, 'newer', 1000)) < 1000);
  } finally {
    c.destroy();
  }
});

test('/metrics has the cluster: nodes by role, covered slots, redirects, refreshes, every master\'s link tracking', async () => {
  const text = await (await fetch(`http://127.0.0.1:${ap.admin}/metrics`)).text();
  assert.match(text, /^redisproxy_cluster_nodes\{role="master"\} 3$/m);
  assert.match(text, /^redisproxy_cluster_nodes\{role="replica"\} 3$/m);
  assert.match(text, /^redisproxy_cluster_slots_covered 16384$/m);
  // the slot moved earlier in this file was followed through at least one MOVED
  assert.match(text, /^redisproxy_cluster_redirects_total\{kind="moved"\} [1-9]\d*$/m);
  assert.match(text, /^redisproxy_cluster_topology_refreshes_total\{outcome="changed"\} [1-9]\d*$/m);
  assert.equal([...text.matchAll(/^redisproxy_cluster_link_tracking\{node="[^"]+"\} 1$/gm)].length, 3);
});
