import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterDiscovery, NotAClusterError, detectClusterMode, addressLike } from '../../src/cluster/cluster-discovery.js';
import type { SlotMap } from '../../src/cluster/topology.js';
import type { TopologyChange } from '../../src/cluster/topology-change.js';
import type { BackendAddress } from '../../src/config/config.js';
import { startCluster, type RedisCluster, type ClusterNodeView } from '../helpers/cluster.js';
import { startRedis, getFreePort, withTimeout, type RedisServer } from '../helpers/index.js';

// Discovery against a real cluster with a password: seeds, credentials, the SLOTS fallback,
// and the moves (a failover, a moved slot, a killed master) seen by a refresh or by the timer.

let cluster: RedisCluster;
let single: RedisServer;
before(async () => {
  [cluster, single] = await Promise.all([startCluster({ password: 'pw', nodeTimeoutMs: 1000 }), startRedis()]);
});
after(async () => {
  await cluster?.stop();
  await single?.stop();
});

const SEED: BackendAddress = { host: '127.0.0.1', port: 0, tls: false, username: null, password: 'pw', db: 0, display: '' };
const seed = (port: number, over: Partial<BackendAddress> = {}) => addressLike({ ...SEED, ...over }, '127.0.0.1', port);

const discoveries: ClusterDiscovery[] = [];
function discover(seeds: BackendAddress[], refreshIntervalMs = 0): ClusterDiscovery {
  const d = new ClusterDiscovery({ seeds, refreshIntervalMs, timeoutMs: 2000 });
  discoveries.push(d);
  return d;
}
after(() => discoveries.forEach((d) => d.stop()));

function sameAsView(map: SlotMap, view: ClusterNodeView[]): void {
  const masters = (v: Array<{ id: string; port: number; slots: Array<[number, number]> }>) =>
    v.map((n) => `${n.id} ${n.port} ${n.slots.map((r) => r.join('-')).join(',')}`).sort();
  assert.deepEqual(
    masters(map.masters.map((n) => ({ id: n.id, port: n.port, slots: n.slots.map((r): [number, number] => [r.start, r.end]) }))),
    masters(view.filter((n) => n.role === 'master' && !n.failed)),
  );
}

/** Resolves with the next 'change' for which `pred` holds. */
function nextChange(d: ClusterDiscovery, pred: (c: TopologyChange, m: SlotMap) => boolean, ms = 20_000): Promise<{ change: TopologyChange; map: SlotMap; reason: string }> {
  return withTimeout(
    new Promise((resolve) => {
      const on = (change: TopologyChange, map: SlotMap, reason: string) => {
        if (!pred(change, map)) return;
        d.off('change', on);
        resolve({ change, map, reason });
      };
      d.on('change', on);
    }),
    ms,
    'topology change',
  );
}

test('cluster mode is detected from INFO cluster; a standalone Redis is refused with NotAClusterError', async () => {
  assert.equal(await detectClusterMode([seed(cluster.ports[2])]), true);
  assert.equal(await detectClusterMode([seed(single.port, { password: null })]), false);
  await assert.rejects(discover([seed(single.port, { password: null })]).start(), NotAClusterError);
});

test('the topology is read from the first seed that answers, with the seeds\' password, and every node gets it', async () => {
  const deadPort = await getFreePort();
  const d = discover([seed(deadPort), seed(cluster.ports[4])]);
  const changes: TopologyChange[] = [];
  d.on('change', (c: TopologyChange) => changes.push(c));
  const map = await d.start();
  sameAsView(map, await cluster.waitStable());
  assert.equal(map.nodes.length, 6);
  assert.equal(changes.length, 1, 'the first map is announced');
  assert.equal(changes[0].added.length, 6);
  assert.deepEqual(changes[0].movedSlots, [{ start: 0, end: 16383 }]);
  assert.equal(d.stats.lastSource?.command, 'CLUSTER SHARDS');
  const addr = d.addressOf(map.masters[0]);
  assert.equal(addr.password, 'pw');
  assert.equal(addr.display, `127.0.0.1:${map.masters[0].port}`);
  // the same topology again is no change
  await d.refresh('test');
  assert.equal(changes.length, 1);
});

test('a wrong password fails the start with a message that does not hold it', async () => {
  const d = discover([seed(cluster.ports[0], { password: 'wrong-secret' })]);
  await assert.rejects(d.start(), (e: Error) => /WRONGPASS|invalid/i.test(e.message) && !e.message.includes('wrong-secret'));
});

test('a user refused CLUSTER SHARDS by its ACL gets the topology from CLUSTER SLOTS', async () => {
  for (const port of cluster.ports) {
    assert.equal(await cluster.call(port, 'ACL', 'SETUSER', 'noshards', 'on', '>pw2', '+@all', '-cluster|shards', '~*'), 'OK');
  }
  const d = discover([seed(cluster.ports[0], { username: 'noshards', password: 'pw2' })]);
  const map = await d.start();
  assert.equal(d.stats.lastSource?.command, 'CLUSTER SLOTS');
  assert.equal(d.stats.lastSource?.addr, `noshards@127.0.0.1:${cluster.ports[0]}`);
  sameAsView(map, await cluster.waitStable());
});

test('a manual failover is seen by the timer: the replica promoted, its shard\'s slots moved', async () => {
  const d = discover([seed(cluster.ports[0])], 200);
  await d.start();
  const view = await cluster.nodes();
  const replica = view.find((n) => n.role === 'replica')!;
  const master = view.find((n) => n.id === replica.masterId)!;
  const seen = nextChange(d, (c) => c.promoted.some((n) => n.id === replica.id));
  await cluster.failover(replica.port);
  const { change, map, reason } = await seen;
  assert.equal(reason, 'timer');
  assert.deepEqual(change.movedSlots.map((r) => [r.start, r.end]), master.slots);
  assert.equal(map.masterOf(master.slots[0][0])?.id, replica.id);
  // the old master may be reported demoted in the same change or a later one
  await withTimeout(
    (async () => {
      while (d.current?.node(master.id)?.role !== 'replica') await new Promise((r) => setTimeout(r, 50));
    })(),
    10_000,
    'old master seen as replica',
  );
});

test('a moved slot is seen by a refresh on demand as that one slot moved', async () => {
  const d = discover([seed(cluster.ports[1])]);
  const first = await d.start();
  const from = first.masterOf(5000)!;
  const to = first.masters.find((m) => m.id !== from.id)!;
  await cluster.moveSlot(5000, to.port);
  const seen = nextChange(d, () => true, 5000);
  await d.refresh('moved');
  const { change, map, reason } = await seen;
  assert.equal(reason, 'moved');
  assert.deepEqual(change.movedSlots, [{ start: 5000, end: 5000 }]);
  assert.equal(map.masterOf(5000)?.id, to.id);
});

test('refreshes asked for at once run one after another, not one each', async () => {
  const d = discover([seed(cluster.ports[2])]);
  await d.start();
  const before = d.stats.refreshes;
  const maps = await Promise.all(Array.from({ length: 10 }, () => d.refresh('burst')));
  assert.ok(d.stats.refreshes - before <= 2, `${d.stats.refreshes - before} refreshes`);
  assert.equal(new Set(maps.slice(1)).size, 1, 'the calls made during the first share the next');
});

test('a killed master: the topology still comes from another node, and the promotion is seen', async () => {
  const view = await cluster.nodes();
  const master = view.find((n) => n.role === 'master')!;
  const replica = view.find((n) => n.masterId === master.id)!;
  // connected to the master that dies, so the refresh must find another node
  const d = discover([seed(master.port)], 200);
  await d.start();
  assert.equal(d.stats.lastSource?.addr, `127.0.0.1:${master.port}`);
  const seen = nextChange(d, (c) => c.promoted.some((n) => n.id === replica.id));
  await cluster.killMaster(master.port);
  const { change, map } = await seen;
  assert.deepEqual(change.movedSlots.map((r) => [r.start, r.end]), master.slots);
  assert.notEqual(d.stats.lastSource?.addr, `127.0.0.1:${master.port}`);
  assert.equal(map.node(master.id)?.health, 'failed');
  await cluster.restartNode(master.port);
});

test('a node that stops answering (SIGSTOP) is given up after the timeout, and another gives the topology', async () => {
  const view = await cluster.waitStable();
  // a replica: frozen past the node timeout it is only marked failed, nothing fails over
  const replica = view.find((n) => n.role === 'replica' && !n.failed)!;
  const server = cluster.servers.find((s) => s.port === replica.port)!;
  const d = new ClusterDiscovery({ seeds: [seed(replica.port)], refreshIntervalMs: 0, timeoutMs: 300 });
  discoveries.push(d);
  await d.start();
  assert.equal(d.stats.lastSource?.addr, `127.0.0.1:${replica.port}`);
  server.freeze();
  try {
    const started = Date.now();
    await d.refresh('frozen');
    assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
    assert.notEqual(d.stats.lastSource?.addr, `127.0.0.1:${replica.port}`);
  } finally {
    server.thaw();
  }
  await cluster.waitStable();
});
