// The proxy's description of itself to cluster-aware clients (CLUSTER SLOTS / SHARDS / NODES /
// INFO / MYID, answered locally): byte for byte what a real Redis 7 node that owns all 16384
// slots alone answers, its id and bus port aside; and ioredis's Cluster client, pointed at a
// small stand-in proxy that answers with these plans, works through it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis, Cluster } from 'ioredis';
import { createCluster } from 'redis';
import { keyspacePlan } from '../../src/cluster/keyspace-commands.js';
import { startRedis, redisCli, RawClient, cmd, describeDifference, eventually, getFreePort, type RedisServer } from '../helpers/index.js';

let reference: RedisServer;
let single: RedisServer;
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'redisproxy-self-'));
  [reference, single] = await Promise.all([
    startRedis({
      args: ['--cluster-enabled', 'yes', '--dir', dir, '--cluster-config-file', join(dir, 'nodes.conf'), '--cluster-port', String(await getFreePort()), '--cluster-announce-ip', '127.0.0.1'],
    }),
    startRedis(),
  ]);
  const c = await RawClient.connect(reference.port);
  try {
    c.write(cmd('CLUSTER', 'ADDSLOTSRANGE', '0', '16383'));
    assert.equal((await c.readFrame()).toString('latin1'), '+OK\r\n');
    await eventually('the one-node cluster is ok', async () => {
      c.write(cmd('CLUSTER', 'INFO'));
      return /cluster_state:ok/.test((await c.readFrame()).toString('latin1'));
    });
  } finally {
    c.destroy();
  }
});
after(async () => {
  await reference?.stop();
  await single?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const latin1 = (s: string) => Buffer.from(s, 'latin1');

async function ask(port: number, protocol: 2 | 3, ...args: string[]): Promise<Buffer> {
  const c = await RawClient.connect(port);
  try {
    if (protocol === 3) {
      c.write(cmd('HELLO', '3'));
      await c.readFrame();
    }
    c.write(cmd(...args));
    return await c.readFrame();
  } finally {
    c.destroy();
  }
}

test('CLUSTER SLOTS, SHARDS, NODES, INFO and MYID answered here are a real node\'s replies when it owns every slot alone', async () => {
  const self = { host: '127.0.0.1', port: reference.port };
  const refId = (await ask(reference.port, 2, 'CLUSTER', 'MYID')).toString('latin1').split('\r\n')[1];
  assert.match(refId, /^[0-9a-f]{40}$/);
  const ourId = keyspacePlan('cluster', [latin1('CLUSTER'), latin1('MYID')], { masters: 0, self })!.merge([], false).toString('latin1').split('\r\n')[1];
  assert.match(ourId, /^[0-9a-f]{40}$/);
  for (const protocol of [2, 3] as const) {
    for (const sub of ['SLOTS', 'SHARDS', 'NODES', 'INFO', 'MYID']) {
      const plan = keyspacePlan('cluster', [latin1('CLUSTER'), latin1(sub)], { masters: 3, self })!;
      assert.deepEqual(plan.target, { kind: 'local' });
      const real = await ask(reference.port, protocol, 'CLUSTER', sub);
      let ours: Buffer = latin1(plan.merge([], protocol === 3).toString('latin1').replaceAll(ourId, refId));
      // the proxy has no cluster bus and gives its port as 0: the real node's in its place
      const bus = /@(\d+) myself/.exec(real.toString('latin1'));
      if (sub === 'NODES') ours = rewriteText(ours, (t) => t.replace('@0 myself', `@${bus![1]} myself`));
      assert.ok(ours.equals(real), `CLUSTER ${sub} RESP${protocol}: ${describeDifference(real, ours)}`);
    }
  }
});

/** A bulk or verbatim string with its text changed, its length header fixed. */
function rewriteText(frame: Buffer, change: (text: string) => string): Buffer {
  const s = frame.toString('latin1');
  const head = s.indexOf('\r\n');
  const verbatim = s[0] === '=';
  const text = change(s.slice(head + 2 + (verbatim ? 4 : 0), s.length - 2));
  return latin1(`${s[0]}${text.length + (verbatim ? 4 : 0)}\r\n${verbatim ? 'txt:' : ''}${text}\r\n`);
}

test('the node id is the same for the same address and differs between addresses', () => {
  const id = (host: string, port: number) => keyspacePlan('cluster', [latin1('CLUSTER'), latin1('MYID')], { masters: 1, self: { host, port } })!.merge([], false).toString('latin1');
  assert.equal(id('10.0.0.1', 6379), id('10.0.0.1', 6379));
  assert.notEqual(id('10.0.0.1', 6379), id('10.0.0.1', 6380));
  assert.notEqual(id('10.0.0.1', 6379), id('10.0.0.2', 6379));
});

/**
 * A stand-in for the proxy in front of one Redis (one master): keyspace plans answered with
 * their merge, everything else forwarded as it came. One request at a time per client.
 */
async function standIn(backendPort: number): Promise<{ port: number; close(): Promise<void> }> {
  const port = await getFreePort();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buf = Buffer.alloc(0);
    let busy = Promise.resolve();
    const backend = RawClient.connect(backendPort);
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const req = parseRequest(buf);
        if (req === null) break;
        buf = buf.subarray(req.end);
        busy = busy.then(async () => {
          const b = await backend;
          const raw = req.raw;
          const plan = keyspacePlan(req.args[0].toString('latin1').toLowerCase(), req.args, { masters: 1, self: { host: '127.0.0.1', port } });
          let reply: Buffer;
          if (plan === null) {
            b.write(raw);
            reply = await b.readFrame();
          } else if (plan.target.kind === 'local') {
            reply = plan.merge([], false);
          } else {
            b.write(plan.requestFor(0) ?? raw);
            reply = plan.merge([await b.readFrame()], false);
          }
          if (!socket.destroyed) socket.write(reply);
        });
      }
    });
    socket.on('close', () => void backend.then((b) => b.destroy()));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** One multibulk request (what ioredis sends), or null until it is all there. */
function parseRequest(buf: Buffer): { args: Buffer[]; raw: Buffer; end: number } | null {
  const line = (at: number) => {
    const cr = buf.indexOf('\r\n', at);
    return cr < 0 ? null : { n: Number(buf.toString('latin1', at + 1, cr)), next: cr + 2 };
  };
  const head = line(0);
  if (head === null) return null;
  assert.equal(buf[0], 0x2a, 'a multibulk request');
  const args: Buffer[] = [];
  let p = head.next;
  for (let i = 0; i < head.n; i++) {
    const h = line(p);
    if (h === null || buf.length < h.next + h.n + 2) return null;
    args.push(buf.subarray(h.next, h.next + h.n));
    p = h.next + h.n + 2;
  }
  return { args, raw: buf.subarray(0, p), end: p };
}

test('ioredis\'s Cluster client pointed at a proxy answering with these plans sees one master and works', async () => {
  const proxy = await standIn(single.port);
  const client = new Cluster([{ host: '127.0.0.1', port: proxy.port }], { enableReadyCheck: true, clusterRetryStrategy: () => null });
  try {
    await client.set('a', '1');
    await client.set('{t}b', '2');
    assert.equal(await client.get('a'), '1');
    assert.deepEqual(await client.mget('{t}b', '{t}b'), ['2', '2']);
    const masters = client.nodes('master');
    assert.equal(masters.length, 1);
    assert.equal(masters[0].options.port, proxy.port, 'the one master is the proxy');
    assert.equal(client.status, 'ready');
    // and what went to Redis got there
    const direct = new Redis(single.port, '127.0.0.1');
    try {
      assert.equal(await direct.get('{t}b'), '2');
      assert.equal(await masters[0].dbsize(), await direct.dbsize());
    } finally {
      direct.disconnect();
    }
  } finally {
    client.disconnect();
    await proxy.close();
  }
});

test('node-redis\'s cluster client, and redis-cli --cluster check, see a healthy one-master cluster at the proxy', async () => {
  // behind it, a cluster node (INFO says cluster_enabled:1, as any master of a real cluster does)
  const proxy = await standIn(reference.port);
  const client = createCluster({ rootNodes: [{ url: `redis://127.0.0.1:${proxy.port}` }] });
  try {
    await client.connect();
    await client.set('nr', 'v');
    assert.equal(await client.get('nr'), 'v');
    assert.equal(client.masters.length, 1);
    assert.equal(client.masters[0].port, proxy.port);
    const check = await redisCli(proxy.port, ['--cluster', 'check', `127.0.0.1:${proxy.port}`]);
    assert.match(check, /\[OK\] All 16384 slots covered/);
    assert.match(check, /1 masters/);
  } finally {
    await client.close().catch(() => undefined);
    await proxy.close();
  }
});
