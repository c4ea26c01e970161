// The cluster harness itself: six real nodes, a failover, a killed master, a moved slot.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, type RedisCluster } from '../helpers/cluster.js';

let cluster: RedisCluster;
before(async () => {
  cluster = await startCluster({ password: 'pw', nodeTimeoutMs: 1000 });
});
after(async () => {
  await cluster?.stop();
});

test('a new cluster has three masters covering all slots, each with one replica', async () => {
  const view = await cluster.nodes();
  const masters = view.filter((n) => n.role === 'master');
  assert.equal(masters.length, 3);
  assert.equal(view.filter((n) => n.role === 'replica').length, 3);
  const covered = masters.flatMap((m) => m.slots).reduce((sum, [a, b]) => sum + b - a + 1, 0);
  assert.equal(covered, 16384);
  for (const m of masters) assert.equal(view.filter((n) => n.masterId === m.id).length, 1);
});

test('failover on a replica makes it the master of the same slots', async () => {
  const view = await cluster.nodes();
  const replica = view.find((n) => n.role === 'replica')!;
  const oldMaster = view.find((n) => n.id === replica.masterId)!;
  const after = await cluster.failover(replica.port);
  const promoted = after.find((n) => n.id === replica.id)!;
  assert.equal(promoted.role, 'master');
  assert.deepEqual(promoted.slots, oldMaster.slots);
  assert.equal(after.find((n) => n.id === oldMaster.id)!.masterId, replica.id);
});

test('a killed master is replaced by its replica, and comes back as a replica', async () => {
  const view = await cluster.nodes();
  const master = view.find((n) => n.role === 'master')!;
  const replica = view.find((n) => n.masterId === master.id)!;
  const promoted = await cluster.killMaster(master.port);
  assert.equal(promoted.id, replica.id);
  assert.deepEqual(promoted.slots, master.slots);
  await cluster.restartNode(master.port);
  const back = (await cluster.nodes()).find((n) => n.id === master.id)!;
  assert.equal(back.role, 'replica');
  assert.equal(back.masterId, replica.id);
});

test('a slot moved between masters takes its keys along', async () => {
  const slot = 12182; // CLUSTER KEYSLOT foo
  assert.equal(await cluster.call(cluster.ports[0], 'CLUSTER', 'KEYSLOT', 'foo'), slot);
  const from = await cluster.ownerOf(slot);
  const to = (await cluster.nodes()).find((n) => n.role === 'master' && n.id !== from.id)!;
  for (const k of ['foo', '{foo}1', '{foo}\x00\xff']) assert.equal(await cluster.call(from.port, 'SET', k, `v-${k}`), 'OK');
  await cluster.moveSlot(slot, to.port);
  assert.equal((await cluster.ownerOf(slot)).id, to.id);
  assert.equal(await cluster.call(to.port, 'DBSIZE'), 3);
  assert.equal((await cluster.call(to.port, 'GET', '{foo}\x00\xff') as Buffer).toString('latin1'), 'v-{foo}\x00\xff');
  const moved = await cluster.call(from.port, 'GET', 'foo');
  assert.ok(moved instanceof Error && moved.message === `MOVED ${slot} 127.0.0.1:${to.port}`, String(moved));
});
