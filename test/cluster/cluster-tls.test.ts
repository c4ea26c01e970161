// Discovery over TLS: nodes that listen on a plain and a TLS port, with TLS on the cluster bus
// (so they announce their TLS ports). A TLS seed must lead to the nodes' TLS addresses, and a
// proxy given a rediss:// address reaches every node over TLS.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { ClusterDiscovery, addressLike } from '../../src/cluster/cluster-discovery.js';
import { ControlConnection } from '../../src/backend/control-connection.js';
import type { TlsClientOptions } from '../../src/backend/connect.js';
import type { BackendAddress } from '../../src/config/config.js';
import { startCluster, type RedisCluster } from '../helpers/cluster.js';
import { makeCerts, type Certs } from '../faults/fault-helpers.js';
import { startAdminProxy, RawClient, cmd, eventually, proxyStats } from '../helpers/index.js';

let certs: Certs;
let cluster: RedisCluster;
let tls: TlsClientOptions;
const discoveries: ClusterDiscovery[] = [];

before(async () => {
  certs = await makeCerts();
  cluster = await startCluster({ tls: { cert: certs.serverCert, key: certs.serverKey, ca: certs.ca } });
  tls = { ca: readFileSync(certs.ca), cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey) };
  for (const port of cluster.ports) {
    assert.equal(await cluster.call(port, 'ACL', 'SETUSER', 'noshards', 'on', '>pw2', '+@all', '-cluster|shards', '~*'), 'OK');
  }
});
after(async () => {
  discoveries.forEach((d) => d.stop());
  await cluster?.stop();
  if (certs) rmSync(certs.dir, { recursive: true, force: true });
});

const TLS_SEED: BackendAddress = { host: '127.0.0.1', port: 0, tls: true, username: null, password: null, db: 0, display: '' };

async function pingOverTls(addr: BackendAddress): Promise<unknown> {
  const conn = await ControlConnection.open(addr, tls, 3000);
  try {
    return await conn.send(['PING']);
  } finally {
    conn.close();
  }
}

for (const [what, username, command] of [
  ['CLUSTER SHARDS', null, 'CLUSTER SHARDS'],
  ['CLUSTER SLOTS (SHARDS refused by ACL)', 'noshards', 'CLUSTER SLOTS'],
] as const) {
  test(`a TLS seed gives every node's TLS address, from ${what}`, async () => {
    const seed = addressLike({ ...TLS_SEED, username, password: username === null ? null : 'pw2' }, '127.0.0.1', cluster.tlsPorts[0]);
    assert.equal(seed.display, `rediss://${username !== null ? `${username}@` : ''}127.0.0.1:${cluster.tlsPorts[0]}`);
    const d = new ClusterDiscovery({ seeds: [seed], tls, refreshIntervalMs: 0 });
    discoveries.push(d);
    const map = await d.start();
    assert.equal(d.stats.lastSource?.command, command);
    assert.equal(map.coveredSlots, 16384);
    const view = await cluster.nodes();
    for (const m of map.masters) {
      const addr = d.addressOf(m);
      const i = cluster.ports.indexOf(view.find((n) => n.id === m.id)!.port);
      assert.equal(addr.port, cluster.tlsPorts[i], `master ${m.id}`);
      assert.equal(addr.tls, true);
      assert.equal(await pingOverTls(addr), 'PONG');
    }
  });
}

test('the proxy in front of the TLS cluster: every node reached over TLS, keys on every master read back and cached', async () => {
  const ap = await startAdminProxy(cluster.ports[0], {
    addr: `rediss://127.0.0.1:${cluster.tlsPorts[0]}`,
    args: ['--redis-ca', certs.ca, '--redis-cert', certs.clientCert, '--redis-key', certs.clientKey],
    until: 'readyz',
    readyMs: 20_000,
  });
  const c = await RawClient.connect(ap.proxy.port);
  try {
    const st = (await proxyStats(ap.admin)) as unknown as { cluster: { nodes: Array<{ addr: string }>; links: Array<{ addr: string }> } };
    // the nodes as the proxy reaches them (and its links): their TLS ports
    assert.equal(st.cluster.nodes.length, 6);
    for (const n of [...st.cluster.nodes, ...st.cluster.links]) assert.ok(cluster.tlsPorts.some((p) => n.addr.endsWith(`:${p}`)), n.addr);
    const keys = ['a', 'b', 'c', 'foo', 'bar', 'zzz'];
    c.write(keys.map((k) => cmd('SET', `tls:${k}`, k)).join(''));
    for (const r of await c.readFrames(keys.length)) assert.equal(r.toString(), '+OK\r\n');
    await eventually('read back, then from the cache', async () => {
      const before = (await proxyStats(ap.admin)).cache.hits;
      c.write(keys.map((k) => cmd('GET', `tls:${k}`)).join(''));
      const got = (await c.readFrames(keys.length)).map((f) => f.toString());
      keys.forEach((k, i) => assert.equal(got[i], `$${k.length}\r\n${k}\r\n`));
      return (await proxyStats(ap.admin)).cache.hits >= before + keys.length;
    }, 10_000, 50);
  } finally {
    c.destroy();
    await ap.proxy.stop();
  }
});
