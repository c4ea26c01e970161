// The proxy in front of a real 6-node cluster: a cluster-unaware client (RawClient, redis-cli
// without -c) sees one Redis. Every one of the 16384 slots is written through the proxy and
// read back through it and directly on the slot's owner; hash tags keep keys together;
// multi-key commands over several slots are split and merged as one Redis answers them;
// other multi-key commands get the node's own CROSSSLOT. With the cache on (one invalidation
// link per master): a write made directly on a node is seen through the proxy within a second,
// and after a slot moves or a master fails over nothing read before is served stale (those
// tests change the topology: they come last).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { keyHashSlot } from '../../src/cluster/key-slot.js';
import { startCluster, type RedisCluster } from '../helpers/cluster.js';
import { everyLinkTracking, startAdminProxy, startRedis, redisCli, RawClient, cmd, eventually, proxyStats, type AdminProxy, type RedisServer } from '../helpers/index.js';

let cluster: RedisCluster;
let single: RedisServer;
let ap: AdminProxy;

before(async () => {
  [cluster, single] = await Promise.all([startCluster(), startRedis()]);
  ap = await startAdminProxy(cluster.ports[0], { until: 'readyz', readyMs: 20_000 });
  // every master's link tracking: its slots may fill
  await everyLinkTracking(ap);
});
after(async () => {
  await ap?.proxy.stop();
  await cluster?.stop();
  await single?.stop();
});

/** A key for every slot: k<n> for the first n that hashes there. */
function keysPerSlot(): string[] {
  const keys = new Array<string>(16384);
  let missing = 16384;
  for (let n = 0; missing > 0; n++) {
    const k = `k${n}`;
    const s = keyHashSlot(Buffer.from(k));
    if (keys[s] === undefined) {
      keys[s] = k;
      missing--;
    }
  }
  return keys;
}

test('every one of the 16384 slots is routed to its master: written through the proxy, read back through it and on the owner', async () => {
  const keys = keysPerSlot();
  const c = await RawClient.connect(ap.proxy.port);
  try {
    // pipelined in batches: replies must come back in request order across the three masters
    for (let i = 0; i < keys.length; i += 1024) {
      const batch = keys.slice(i, i + 1024);
      c.write(batch.map((k) => cmd('SET', k, `v-${k}`)).join(''));
      const replies = await c.readFrames(batch.length, 20_000);
      for (const r of replies) assert.equal(r.toString(), '+OK\r\n');
      c.write(batch.map((k) => cmd('GET', k)).join(''));
      const got = await c.readFrames(batch.length, 20_000);
      batch.forEach((k, j) => assert.equal(got[j].toString(), `$${`v-${k}`.length}\r\nv-${k}\r\n`, `GET ${k}`));
    }
  } finally {
    c.destroy();
  }
  // checked on the owners directly: a sample of slots of every master
  const view = await cluster.nodes();
  for (const m of view.filter((n) => n.role === 'master')) {
    for (const [a, b] of m.slots) {
      for (const s of [a, Math.floor((a + b) / 2), b]) {
        const v = await cluster.call(m.port, 'GET', keys[s]);
        assert.equal(Buffer.isBuffer(v) ? v.toString() : v, `v-${keys[s]}`, `slot ${s} on ${m.port}`);
      }
    }
  }
});

test('hash tags keep keys in one slot: MULTI-free multi-key commands on one tag work as on one node', async () => {
  const c = await RawClient.connect(ap.proxy.port);
  try {
    c.write(cmd('DEL', '{user1}:a', '{user1}:b', '{user1}:c') + cmd('RPUSH', '{user1}:a', 'x', 'y') + cmd('RPOPLPUSH', '{user1}:a', '{user1}:b') + cmd('LRANGE', '{user1}:b', '0', '-1'));
    const r = await c.readFrames(4);
    assert.equal(r[1].toString(), ':2\r\n');
    assert.equal(r[2].toString(), '$1\r\ny\r\n');
    assert.equal(r[3].toString(), '*1\r\n$1\r\ny\r\n');
    c.write(cmd('SUNIONSTORE', '{user1}:c', '{user1}:a', '{user1}:b'));
    assert.equal((await c.readFrame()).toString(), '-WRONGTYPE Operation against a key holding the wrong kind of value\r\n');
  } finally {
    c.destroy();
  }
});

test('redis-cli without -c never sees MOVED: keys on every master, keyless commands', async () => {
  const port = ap.proxy.port;
  for (const k of ['a', 'b', 'c', 'foo', 'bar', 'zzz', '{x}y']) {
    assert.equal((await redisCli(port, ['SET', k, `val-${k}`])).trim(), 'OK');
    assert.equal((await redisCli(port, ['GET', k])).trim(), `val-${k}`);
  }
  assert.equal((await redisCli(port, ['PING'])).trim(), 'PONG');
  assert.equal((await redisCli(port, ['ECHO', 'hi'])).trim(), 'hi');
  const out = await redisCli(port, ['MGET', 'a', 'b', 'c', 'foo', 'nosuch']);
  assert.equal(out, 'val-a\nval-b\nval-c\nval-foo\n\n');
  assert.doesNotMatch(out, /MOVED|ASK/);
});

/** The same commands on the proxy and on the single Redis give the same bytes. */
async function sameAsSingle(commands: string[][]): Promise<void> {
  const p = await RawClient.connect(ap.proxy.port);
  const s = await RawClient.connect(single.port);
  try {
    const wire = commands.map((a) => cmd(...a)).join('');
    p.write(wire);
    s.write(wire);
    const [fromProxy, fromSingle] = await Promise.all([p.readFrames(commands.length, 10_000), s.readFrames(commands.length, 10_000)]);
    commands.forEach((a, i) => assert.equal(fromProxy[i].toString('latin1'), fromSingle[i].toString('latin1'), `${a.join(' ')}`));
  } finally {
    p.destroy();
    s.destroy();
  }
}

test('MGET, MSET, DEL, UNLINK, EXISTS, TOUCH over many slots answer as one Redis holding the same data', async () => {
  // (names no other test uses: the single Redis starts empty)
  const keys = ['m:a', 'm:b', 'm:c', 'm:foo', 'm:bar', '{t}1', '{t}2', 'm:é', 'k'.repeat(50), 'm:x1', 'm:x2', 'm:x3'];
  const pairs = keys.flatMap((k, i) => [k, `v${i}`]);
  await sameAsSingle([
    ['DEL', ...keys, 'nosuch'],
    ['MSET', ...pairs],
    ['MGET', ...keys, 'nosuch', 'm:a', 'm:a'],
    ['EXISTS', ...keys, 'nosuch', 'm:a'],
    ['TOUCH', 'm:a', 'm:b', 'nosuch'],
    ['DEL', 'm:a', 'm:b', 'm:a'],
    ['MGET', 'm:a', 'm:b', 'm:c'],
    ['UNLINK', 'm:c', 'm:foo', 'm:bar', 'm:zzz'],
    ['EXISTS', 'm:a', 'm:c', '{t}1', '{t}2'],
    ['MSET', 'm:x1', '1', 'm:x2'],
    ['MGET'],
    ['SET', 'm:a', 'list'],
    ['LPUSH', 'm:l1', 'z'],
    ['MGET', 'm:l1', 'm:a', 'nosuch'],
    ['DEL', ...keys, 'm:l1'],
  ]);
});

test('other multi-key commands over several slots get the CROSSSLOT error a direct cluster connection gets', async () => {
  const p = await RawClient.connect(ap.proxy.port);
  // a direct connection to the node owning the first key
  const owner = await cluster.ownerOf(keyHashSlot(Buffer.from('a')));
  const d = await RawClient.connect(owner.port);
  try {
    const commands = [
      ['MSETNX', 'a', '1', 'b', '2'],
      ['RENAME', 'a', 'b'],
      ['SUNIONSTORE', 'a', 'b', 'c'],
      ['EVAL', 'return 1', '2', 'a', 'b'],
      ['SINTER', 'a', 'foo'],
    ];
    for (const c of commands) {
      p.write(cmd(...c));
      d.write(cmd(...c));
      const [fp, fd] = await Promise.all([p.readFrame(), d.readFrame()]);
      assert.equal(fp.toString(), fd.toString(), c.join(' '));
      assert.match(fp.toString(), /^-CROSSSLOT/);
    }
  } finally {
    p.destroy();
    d.destroy();
  }
});

test('clients without connection state share the node pools: 40 clients reading keys on every master open no connections of their own', async () => {
  const masters = (await cluster.nodes()).filter((n) => n.role === 'master' && n.slots.length > 0);
  const connected = async () => {
    let n = 0;
    for (const m of masters) n += Number(/connected_clients:(\d+)/.exec(String(await cluster.call(m.port, 'INFO', 'clients')))![1]);
    return n;
  };
  const before = await connected();
  const keys = await keyOnEachMaster('pool:');
  const clients = await Promise.all(Array.from({ length: 40 }, () => RawClient.connect(ap.proxy.port)));
  try {
    for (const c of clients) c.write(keys.map(({ key }) => cmd('GET', key)).join(''));
    for (const c of clients) for (const r of await c.readFrames(keys.length, 10_000)) assert.equal(r.toString(), '$-1\r\n');
    // (a client of its own would be one more connection on every master it reached)
    assert.ok((await connected()) - before < 10, `connections on the masters grew by ${(await connected()) - before} for 40 clients`);
  } finally {
    for (const c of clients) c.destroy();
  }
});

test('/stats shows the nodes, their roles and slot ranges', async () => {
  await eventually('cluster stats', async () => {
    const st = (await proxyStats(ap.admin)) as unknown as { cluster?: { state: string; nodes: Array<{ role: string; slots?: string }>; coveredSlots: number } };
    const cl = st.cluster;
    return cl !== undefined && cl.state === 'ok' && cl.coveredSlots === 16384 && cl.nodes.filter((n) => n.role === 'master').length === 3 && cl.nodes.filter((n) => n.role === 'replica').length === 3;
  }, 5000);
});

test('/stats shows each node\'s health as the cluster last said it, also when no slot moved (a synced replica is "online")', async () => {
  // CLUSTER SHARDS says "loading" for a replica until its replication offset is gossiped; the
  // proxy's first map often has that, and later reads change health only, not the slots
  await eventually('every node online in /stats', async () => {
    const st = (await proxyStats(ap.admin)) as unknown as { cluster: { nodes: Array<{ health: string }>; links: Array<{ health: string }> } };
    return st.cluster.nodes.length === 6 && [...st.cluster.nodes, ...st.cluster.links].every((n) => n.health === 'online');
  }, 20_000);
  const direct = (await cluster.nodes()).map((n) => n.failed);
  assert.deepEqual(direct, [false, false, false, false, false, false]);
});

test('MULTI/EXEC runs on the node of its first key; keys of another slot get CROSSSLOT and EXECABORT, as on a cluster node', async () => {
  const c = await RawClient.connect(ap.proxy.port);
  try {
    c.write(cmd('MULTI') + cmd('SET', '{tx}a', '1') + cmd('INCR', '{tx}a') + cmd('GET', '{tx}a') + cmd('EXEC'));
    const r = await c.readFrames(5);
    assert.deepEqual(r.map((f) => f.toString()), ['+OK\r\n', '+QUEUED\r\n', '+QUEUED\r\n', '+QUEUED\r\n', '*3\r\n+OK\r\n:2\r\n$1\r\n2\r\n']);
    // PING before the first key waits with MULTI; a key of another slot is refused: on another
    // node at once (CROSSSLOT here, where a node says MOVED, then EXECABORT), on the same node at EXEC
    const txOwner = await cluster.ownerOf(keyHashSlot(Buffer.from('tx')));
    let otherNode = '';
    let sameNode = '';
    for (let i = 0; otherNode === '' || sameNode === ''; i++) {
      const tag = `t${i}`;
      const slot = keyHashSlot(Buffer.from(tag));
      if (slot === keyHashSlot(Buffer.from('tx'))) continue;
      const onTx = txOwner.slots.some(([a, b]) => slot >= a && slot <= b);
      if (onTx && sameNode === '') sameNode = tag;
      if (!onTx && otherNode === '') otherNode = tag;
    }
    c.write(cmd('MULTI') + cmd('PING') + cmd('SET', '{tx}a', '5') + cmd('SET', `{${otherNode}}b`, '1') + cmd('EXEC') + cmd('GET', '{tx}a'));
    const r2 = (await c.readFrames(6)).map((f) => f.toString());
    assert.deepEqual(r2.slice(0, 3), ['+OK\r\n', '+QUEUED\r\n', '+QUEUED\r\n']);
    assert.match(r2[3], /^-CROSSSLOT/);
    assert.match(r2[4], /^-EXECABORT/);
    assert.equal(r2[5], '$1\r\n2\r\n');
    c.write(cmd('MULTI') + cmd('SET', '{tx}a', '6') + cmd('SET', `{${sameNode}}b`, '1') + cmd('EXEC') + cmd('GET', '{tx}a'));
    const r3 = (await c.readFrames(5)).map((f) => f.toString());
    assert.deepEqual(r3.slice(0, 3), ['+OK\r\n', '+QUEUED\r\n', '+QUEUED\r\n']);
    assert.match(r3[3], /^-CROSSSLOT/);
    assert.equal(r3[4], '$1\r\n2\r\n');
  } finally {
    c.destroy();
  }
});

test('WATCH pins the transaction to the watched key\'s node: a change made meanwhile aborts EXEC', async () => {
  const c = await RawClient.connect(ap.proxy.port);
  const other = await RawClient.connect(ap.proxy.port);
  try {
    c.write(cmd('WATCH', '{w}k'));
    assert.equal((await c.readFrame()).toString(), '+OK\r\n');
    other.write(cmd('SET', '{w}k', 'changed'));
    assert.equal((await other.readFrame()).toString(), '+OK\r\n');
    c.write(cmd('MULTI') + cmd('SET', '{w}k', 'mine') + cmd('EXEC') + cmd('GET', '{w}k'));
    const r = (await c.readFrames(4)).map((f) => f.toString());
    assert.deepEqual(r, ['+OK\r\n', '+QUEUED\r\n', '*-1\r\n', '$7\r\nchanged\r\n']);
  } finally {
    c.destroy();
    other.destroy();
  }
});

test('a blocking command waits on its key\'s master while the client\'s later replies from other nodes wait behind it', async () => {
  const c = await RawClient.connect(ap.proxy.port);
  const pusher = await RawClient.connect(ap.proxy.port);
  try {
    c.write(cmd('BLPOP', 'bq', '5') + cmd('GET', 'a') + cmd('PING'));
    await new Promise((r) => setTimeout(r, 200));
    pusher.write(cmd('RPUSH', 'bq', 'item'));
    assert.equal((await pusher.readFrame()).toString(), ':1\r\n');
    const r = (await c.readFrames(3)).map((f) => f.toString());
    assert.equal(r[0], '*2\r\n$2\r\nbq\r\n$4\r\nitem\r\n');
    assert.equal(r[2], '+PONG\r\n');
  } finally {
    c.destroy();
    pusher.destroy();
  }
});

test('HELLO 3 applies on every node the client reaches; SELECT 1 gets the cluster\'s error', async () => {
  const c = await RawClient.connect(ap.proxy.port);
  try {
    c.write(cmd('HELLO', '3'));
    const hello = (await c.readFrame()).toString();
    assert.match(hello, /^%/);
    // keys on all three masters answer in RESP3 (a map from HGETALL shows it)
    const keys = ['a', 'b', 'c', 'foo', 'bar', 'zzz'];
    c.write(keys.map((k) => cmd('DEL', `h:${k}`) + cmd('HSET', `h:${k}`, 'f', 'v') + cmd('HGETALL', `h:${k}`)).join(''));
    const r = await c.readFrames(keys.length * 3);
    for (let i = 0; i < keys.length; i++) assert.equal(r[i * 3 + 2].toString(), '%1\r\n$1\r\nf\r\n$1\r\nv\r\n', `h:${keys[i]}`);
    c.write(cmd('SELECT', '1'));
    assert.match((await c.readFrame()).toString(), /^-ERR SELECT is not allowed in cluster mode/);
  } finally {
    c.destroy();
  }
});

test('SUBSCRIBE gets messages PUBLISHed to any node; SSUBSCRIBE gets SPUBLISH by slot', async () => {
  const sub = await RawClient.connect(ap.proxy.port);
  const ssub = await RawClient.connect(ap.proxy.port);
  const pub = await RawClient.connect(ap.proxy.port);
  try {
    sub.write(cmd('SUBSCRIBE', 'news'));
    assert.equal((await sub.readFrame()).toString(), '*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n');
    ssub.write(cmd('SSUBSCRIBE', 'shard-chan'));
    assert.equal((await ssub.readFrame()).toString(), '*3\r\n$10\r\nssubscribe\r\n$10\r\nshard-chan\r\n:1\r\n');
    // published through another node of the cluster: classic pub/sub reaches all
    for (const port of cluster.ports) {
      const n = await cluster.call(port, 'PUBLISH', 'news', `from-${port}`);
      assert.equal(typeof n, 'number');
    }
    const msgs = (await sub.readFrames(cluster.ports.length)).map((f) => f.toString());
    for (const port of cluster.ports) assert.ok(msgs.includes(`*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$${`from-${port}`.length}\r\nfrom-${port}\r\n`), `message from ${port}`);
    pub.write(cmd('SPUBLISH', 'shard-chan', 'hi') + cmd('PUBLISH', 'news', 'x'));
    const pr = (await pub.readFrames(2)).map((f) => f.toString());
    assert.deepEqual(pr, [':1\r\n', ':1\r\n']);
    assert.equal((await ssub.readFrame()).toString(), '*3\r\n$8\r\nsmessage\r\n$10\r\nshard-chan\r\n$2\r\nhi\r\n');
    sub.write(cmd('UNSUBSCRIBE', 'news') + cmd('PING'));
    const ur = (await sub.readFrames(3)).map((f) => f.toString());
    assert.equal(ur[0], '*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$1\r\nx\r\n');
    assert.equal(ur[1], '*3\r\n$11\r\nunsubscribe\r\n$4\r\nnews\r\n:0\r\n');
    assert.equal(ur[2], '+PONG\r\n');
  } finally {
    sub.destroy();
    ssub.destroy();
    pub.destroy();
  }
});

test('whole-keyspace commands answer as one Redis: DBSIZE sums, KEYS merges, SCAN visits every key once, FLUSHALL reaches every master', async () => {
  const c = await RawClient.connect(ap.proxy.port);
  try {
    c.write(cmd('FLUSHALL'));
    assert.equal((await c.readFrame()).toString(), '+OK\r\n');
    const keys = Array.from({ length: 200 }, (_, i) => `ks:${i}`);
    c.write(cmd('MSET', ...keys.flatMap((k) => [k, 'v'])) + cmd('DBSIZE'));
    const [ok, size] = (await c.readFrames(2)).map((f) => f.toString());
    assert.equal(ok, '+OK\r\n');
    assert.equal(size, ':200\r\n');
    for (const port of cluster.ports) {
      const n = await cluster.call(port, 'DBSIZE');
      assert.ok(typeof n === 'number' && n < 200, `node ${port} holds only its share (${String(n)})`);
    }
    const keysOut = (await redisCli(ap.proxy.port, ['KEYS', 'ks:*'])).trim().split('\n').sort();
    assert.deepEqual(keysOut, [...keys].sort());
    // SCAN through the proxy: every key exactly once
    const seen: string[] = [];
    let cursor = '0';
    do {
      const out = (await redisCli(ap.proxy.port, ['SCAN', cursor, 'COUNT', '50'])).trim().split('\n');
      cursor = out[0];
      seen.push(...out.slice(1).filter((l) => l !== ''));
    } while (cursor !== '0');
    assert.deepEqual(seen.sort(), [...keys].sort());
    // INFO keyspace sums the masters; RANDOMKEY finds a key on some master
    c.write(cmd('INFO', 'keyspace') + cmd('RANDOMKEY'));
    const [info, random] = (await c.readFrames(2)).map((f) => f.toString());
    assert.match(info, /db0:keys=200,expires=0/);
    assert.match(random, /^\$\d+\r\nks:\d+\r\n$/);
    // SCRIPT LOAD reaches every master: EVALSHA works on keys of each
    c.write(cmd('SCRIPT', 'LOAD', "return redis.call('GET', KEYS[1])"));
    const sha = (await c.readFrame()).toString().split('\r\n')[1];
    assert.match(sha, /^[0-9a-f]{40}$/);
    const byMaster = new Map<number, string>();
    for (const k of keys) {
      const owner = (await cluster.ownerOf(keyHashSlot(Buffer.from(k)))).port;
      if (!byMaster.has(owner)) byMaster.set(owner, k);
      if (byMaster.size === 3) break;
    }
    for (const k of byMaster.values()) {
      c.write(cmd('EVALSHA', sha, '1', k));
      assert.equal((await c.readFrame()).toString(), '$1\r\nv\r\n', `EVALSHA on ${k}`);
    }
    c.write(cmd('CLUSTER', 'SLOTS'));
    const slots = (await c.readFrame()).toString();
    assert.match(slots, new RegExp(`^\\*1\\r\\n\\*3\\r\\n:0\\r\\n:16383\\r\\n\\*4\\r\\n\\$9\\r\\n127\\.0\\.0\\.1\\r\\n:${ap.proxy.port}\\r\\n`));
    c.write(cmd('FLUSHALL') + cmd('DBSIZE'));
    assert.deepEqual((await c.readFrames(2)).map((f) => f.toString()), ['+OK\r\n', ':0\r\n']);
  } finally {
    c.destroy();
  }
});

// ───────────── the cache on the cluster ─────────────

async function hits(): Promise<number> {
  return (await proxyStats(ap.admin)).cache.hits;
}

/** Waits until a GET of `key` through `c` is a cache hit (the proxy's hit count moves). */
async function servedFromCache(c: RawClient, key: string, what: string, ms: number, step: number): Promise<void> {
  await eventually(what, async () => {
    const h = await hits();
    await get(c, key);
    return (await hits()) > h;
  }, ms, step);
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
    await servedFromCache(c, key, 'cached', 5000, 20);
    const owner = await cluster.ownerOf(slot);
    const to = (await cluster.nodes()).find((n) => n.role === 'master' && !n.failed && n.id !== owner.id)!;
    await cluster.moveSlot(slot, to.port);
    await cluster.call(to.port, 'SET', key, 'after');
    assert.ok((await seenWithin(c, key, 'after', 2000)) < 2000);
    // and it fills again from the new owner, and is invalidated by it
    await servedFromCache(c, key, 'cached again', 5000, 20);
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
    await servedFromCache(c, key, 'cached', 5000, 20);
    await cluster.failover(replica.port);
    await cluster.call(replica.port, 'SET', key, 'new');
    assert.ok((await seenWithin(c, key, 'new', 3000)) < 3000);
    await servedFromCache(c, key, 'cached from the new master', 10_000, 50);
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
