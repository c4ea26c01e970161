// CLUSTER SLOTS / SHARDS / NODES through a proxy that listens on every address (0.0.0.0, ::)
// name the address each client reached it at (its socket's local end, an IPv4-mapped IPv6
// address unwrapped), not 127.0.0.1: a remote cluster-aware client then comes back to an
// address it can reach. Every address of this machine that takes connections is tried.
// With --cluster-announce they name that address instead (a client behind NAT maps it back).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import { Cluster } from 'ioredis';
import { keyHashSlot } from '../../src/cluster/key-slot.js';
import { clusterNodesReply, clusterShardsReply, clusterSlotsReply, selfNodeId } from '../../src/cluster/keyspace-self.js';
import { startCluster, type RedisCluster } from '../helpers/cluster.js';
import { startAdminProxy, RawClient, cmd, type AdminProxy } from '../helpers/index.js';

let cluster: RedisCluster;
let any4: AdminProxy;
let any6: AdminProxy;
let announced: AdminProxy;
/** what --cluster-announce names (TEST-NET-3: nothing answers there) */
const ANNOUNCED = { host: '203.0.113.7', port: 7777 };

before(async () => {
  cluster = await startCluster();
  any4 = await startAdminProxy(cluster.ports[0], { until: 'readyz', readyMs: 20_000, args: ['--bind', '0.0.0.0'] });
  any6 = await startAdminProxy(cluster.ports[0], { until: 'readyz', readyMs: 20_000, args: ['--bind', '::'] });
  announced = await startAdminProxy(cluster.ports[0], { until: 'readyz', readyMs: 20_000, args: ['--bind', '0.0.0.0', '--cluster-announce', `${ANNOUNCED.host}:${ANNOUNCED.port}`] });
});
after(async () => {
  await any4?.proxy.stop();
  await any6?.proxy.stop();
  await announced?.proxy.stop();
  await cluster?.stop();
});

/** This machine's addresses a client can connect to: loopback and the interfaces' (not link-local: they need a scope). */
function addresses(family: 'IPv4' | 'IPv6'): string[] {
  const out = new Set<string>(family === 'IPv4' ? ['127.0.0.1'] : []);
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === family && !a.address.startsWith('fe80')) out.add(a.address);
  }
  return [...out];
}

async function connectable(host: string, port: number): Promise<RawClient | null> {
  try {
    return await RawClient.connect(port, host, 2000);
  } catch {
    return null;
  }
}

/** Each of CLUSTER SLOTS, SHARDS, NODES, MYID through `host`, compared with the replies naming `host`. */
async function namesWhatWasReached(host: string, port: number, c: RawClient): Promise<void> {
  const self = { host, port };
  c.write(cmd('CLUSTER', 'SLOTS') + cmd('CLUSTER', 'SHARDS') + cmd('CLUSTER', 'NODES'));
  const [slots, shards, nodes] = await c.readFrames(3);
  assert.equal(slots.toString('latin1'), clusterSlotsReply(self, false).toString('latin1'), `CLUSTER SLOTS via ${host}`);
  assert.equal(shards.toString('latin1'), clusterShardsReply(self, false).toString('latin1'), `CLUSTER SHARDS via ${host}`);
  assert.equal(nodes.toString('latin1'), clusterNodesReply(self, false).toString('latin1'), `CLUSTER NODES via ${host}`);
  assert.ok(slots.includes(`\r\n${host}\r\n`), `the address is ${host}`);
}

test('a proxy on 0.0.0.0: CLUSTER SLOTS, SHARDS, NODES name the IPv4 address each client connected to', async () => {
  const hosts = addresses('IPv4');
  let tried = 0;
  for (const host of hosts) {
    const c = await connectable(host, any4.proxy.port);
    if (c === null) continue;
    try {
      await namesWhatWasReached(host, any4.proxy.port, c);
      tried++;
    } finally {
      c.destroy();
    }
  }
  assert.equal(tried, hosts.length, `reached through ${tried} of ${hosts.join(', ')}`);
});

test('a proxy on ::: an IPv4 client is named by its IPv4 address (not ::ffff:...), an IPv6 client by its IPv6 one', async () => {
  const hosts = [...addresses('IPv4'), ...addresses('IPv6')];
  const reached: string[] = [];
  for (const host of hosts) {
    const c = await connectable(host, any6.proxy.port);
    if (c === null) continue;
    try {
      await namesWhatWasReached(host, any6.proxy.port, c);
      reached.push(host);
    } finally {
      c.destroy();
    }
  }
  assert.deepEqual(reached, hosts, 'every address of this machine takes connections');
});

/** SET, GET and a cross-slot MGET through a Cluster client: it sees one master (returned) and reaches the cluster. */
async function worksThroughTheProxy(client: Cluster, tag: string): Promise<{ host?: string; port?: number }> {
  await client.set(`${tag}:a`, '1');
  await client.set(`{${tag}}b`, '2');
  assert.equal(await client.get(`${tag}:a`), '1');
  assert.deepEqual(await client.mget(`{${tag}}b`, `${tag}:a`), ['2', '1']);
  const masters = client.nodes('master');
  assert.equal(masters.length, 1, 'one master: the proxy');
  const owner = await cluster.ownerOf(keyHashSlot(Buffer.from(`${tag}:a`)));
  assert.equal(String(await cluster.call(owner.port, 'GET', `${tag}:a`)), '1', 'the write reached the cluster');
  return masters[0].options;
}

test('ioredis\'s Cluster client pointed at the proxy through a non-loopback address comes back to that address and works', async () => {
  const host = addresses('IPv4').find((a) => a !== '127.0.0.1') ?? '127.0.0.1';
  const client = new Cluster([{ host, port: any4.proxy.port }], { enableReadyCheck: true, clusterRetryStrategy: () => null });
  try {
    const master = await worksThroughTheProxy(client, 'sa');
    assert.equal(master.host, host, 'the one master is the proxy at the address the client used');
    assert.equal(master.port, any4.proxy.port);
  } finally {
    client.disconnect();
  }
});

test('--cluster-announce: CLUSTER SLOTS, SHARDS, NODES name the announced address, whatever address the client reached', async () => {
  let tried = 0;
  for (const host of addresses('IPv4')) {
    const c = await connectable(host, announced.proxy.port);
    if (c === null) continue;
    try {
      c.write(cmd('CLUSTER', 'SLOTS') + cmd('CLUSTER', 'SHARDS') + cmd('CLUSTER', 'NODES') + cmd('CLUSTER', 'MYID'));
      const [slots, shards, nodes, myid] = await c.readFrames(4);
      assert.equal(slots.toString('latin1'), clusterSlotsReply(ANNOUNCED, false).toString('latin1'), `CLUSTER SLOTS via ${host}`);
      assert.equal(shards.toString('latin1'), clusterShardsReply(ANNOUNCED, false).toString('latin1'), `CLUSTER SHARDS via ${host}`);
      assert.equal(nodes.toString('latin1'), clusterNodesReply(ANNOUNCED, false).toString('latin1'), `CLUSTER NODES via ${host}`);
      assert.ok(nodes.includes('203.0.113.7:7777@'), `CLUSTER NODES names ${ANNOUNCED.host}:${ANNOUNCED.port}`);
      assert.ok(myid.includes(selfNodeId(ANNOUNCED)), 'CLUSTER MYID is the announced node id');
      tried++;
    } finally {
      c.destroy();
    }
  }
  assert.ok(tried > 0);
});

test('--cluster-announce: ioredis\'s Cluster client behind a NAT (natMap from the announced address) works through the proxy', async () => {
  const natMap = { [`${ANNOUNCED.host}:${ANNOUNCED.port}`]: { host: '127.0.0.1', port: announced.proxy.port } };
  const client = new Cluster([{ host: '127.0.0.1', port: announced.proxy.port }], { natMap, enableReadyCheck: true, clusterRetryStrategy: () => null });
  try {
    const master = await worksThroughTheProxy(client, 'an');
    assert.equal(master.port, announced.proxy.port, 'reached through the NAT mapping of the announced address');
  } finally {
    client.disconnect();
  }
});
