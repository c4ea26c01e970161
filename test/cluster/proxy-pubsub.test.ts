// Pub/sub through the proxy on a real cluster: a subscriber's shard channels live on the
// nodes of their slots, and survive what moves those slots (CLUSTER FAILOVER, a resharding,
// kill -9 of the master): the proxy subscribes them again on the new owner and the client
// sees none of it (no sunsubscribe, no error). A RESP3 subscriber's keyed commands are routed
// by slot as usual, never MOVED.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { keyHashSlot } from '../../src/cluster/key-slot.js';
import { type ClusterNodeView, type RedisCluster } from '../helpers/cluster.js';
import { startClusterProxy, stopClusterProxy, RawClient, cmd, eventually, type AdminProxy } from '../helpers/index.js';

let cluster: RedisCluster;
let ap: AdminProxy;

before(async () => ({ cluster, ap } = await startClusterProxy()));
after(() => stopClusterProxy(ap, cluster));

const masters = async (): Promise<ClusterNodeView[]> => (await cluster.nodes()).filter((n) => n.role === 'master' && !n.failed && n.slots.length > 0);

/** A name with `prefix` whose slot `node` owns. */
function nameOn(node: ClusterNodeView, prefix: string): string {
  for (let i = 0; ; i++) {
    const slot = keyHashSlot(Buffer.from(`${prefix}${i}`));
    if (node.slots.some(([a, b]) => slot >= a && slot <= b)) return `${prefix}${i}`;
  }
}

const bulk = (s: string): string => `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
const confirmation = (kind: string, ch: string, n: number, resp3 = false): string => `${resp3 ? '>' : '*'}3\r\n${bulk(kind)}${bulk(ch)}:${n}\r\n`;
const smessage = (ch: string, msg: string, resp3 = false): string => `${resp3 ? '>' : '*'}3\r\n${bulk('smessage')}${bulk(ch)}${bulk(msg)}`;

/** SPUBLISH on `port` until a subscriber there receives it (published before the re-subscription, a message is lost: at most once). */
async function spublishUntilHeard(port: number, ch: string, msg: string, subscribers: number, ms = 15_000): Promise<void> {
  await eventually(`${subscribers} subscribers of ${ch} on :${port}`, async () => (await cluster.call(port, 'SPUBLISH', ch, msg)) === subscribers, ms, 100);
}

async function subscriber(resp3: boolean): Promise<RawClient> {
  const c = await RawClient.connect(ap.proxy.port);
  if (resp3) {
    c.write(cmd('HELLO', '3'));
    assert.equal((await c.readFrame()).toString()[0], '%');
  }
  return c;
}

test('shard channels of two masters on one connection: confirmations counted as one connection, messages from both, RESP2 refusals as one Redis', async () => {
  const [m1, m2] = await masters();
  const a = nameOn(m1, 'sa');
  const b = nameOn(m2, 'sb');
  const c = await subscriber(false);
  try {
    c.write(cmd('SSUBSCRIBE', a) + cmd('SSUBSCRIBE', b));
    assert.deepEqual((await c.readFrames(2)).map(String), [confirmation('ssubscribe', a, 1), confirmation('ssubscribe', b, 2)]);
    assert.equal(await cluster.call(m2.port, 'SPUBLISH', b, 'to-b'), 1);
    assert.equal((await c.readFrame()).toString(), smessage(b, 'to-b'));
    assert.equal(await cluster.call(m1.port, 'SPUBLISH', a, 'to-a'), 1);
    assert.equal((await c.readFrame()).toString(), smessage(a, 'to-a'));
    // a subscribed RESP2 connection refuses other commands, keyed or not, and answers PING as a subscriber
    c.write(cmd('GET', nameOn(m2, 'k')) + cmd('PING') + cmd('SUNSUBSCRIBE', a));
    const got = (await c.readFrames(3)).map(String);
    assert.equal(got[0], "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n");
    assert.equal(got[1], '*2\r\n$4\r\npong\r\n$0\r\n\r\n');
    assert.equal(got[2], confirmation('sunsubscribe', a, 1));
    // SUNSUBSCRIBE alone: what is left, counted down to 0; then the connection is a plain one again
    c.write(cmd('SUNSUBSCRIBE') + cmd('SET', nameOn(m1, 'k'), 'v'));
    assert.deepEqual((await c.readFrames(2)).map(String), [confirmation('sunsubscribe', b, 0), '+OK\r\n']);
  } finally {
    c.destroy();
  }
});

test('a RESP3 subscriber (SUBSCRIBE and SSUBSCRIBE) reads and writes keys of every master: never MOVED, and its pushes keep coming', async () => {
  const all = await masters();
  const ch = nameOn(all[2], 'r3s');
  const c = await subscriber(true);
  try {
    c.write(cmd('SUBSCRIBE', 'news') + cmd('SSUBSCRIBE', ch));
    assert.deepEqual((await c.readFrames(2)).map(String), [confirmation('subscribe', 'news', 1, true), confirmation('ssubscribe', ch, 1, true)]);
    const keys = all.flatMap((m) => [nameOn(m, 'r3k-'), nameOn(m, 'r3j-')]);
    c.write(keys.map((k) => cmd('SET', k, `v-${k}`)).join('') + keys.map((k) => cmd('GET', k)).join('') + cmd('PING'));
    const got = (await c.readFrames(keys.length * 2 + 1)).map(String);
    assert.deepEqual(got, [...keys.map(() => '+OK\r\n'), ...keys.map((k) => bulk(`v-${k}`)), '+PONG\r\n']);
    for (const m of all) assert.equal(String(await cluster.call(m.port, 'GET', nameOn(m, 'r3k-'))), `v-${nameOn(m, 'r3k-')}`);
    // both kinds of message arrive as pushes, between replies
    await cluster.call(all[1].port, 'PUBLISH', 'news', 'hi');
    assert.equal(await cluster.call(all[2].port, 'SPUBLISH', ch, 'shard-hi'), 1);
    c.write(cmd('GET', keys[0]));
    const frames = (await c.readFrames(3)).map(String);
    assert.deepEqual(frames.filter((f) => f[0] === '>').sort(), [`>3\r\n${bulk('message')}${bulk('news')}${bulk('hi')}`, smessage(ch, 'shard-hi', true)].sort());
    assert.deepEqual(frames.filter((f) => f[0] !== '>'), [bulk(`v-${keys[0]}`)]);
  } finally {
    c.destroy();
  }
});

test('a refused SSUBSCRIBE (channels of two slots) leaves the connection unsubscribed; SSUBSCRIBE pipelined with GETs answers in order (RESP3)', async () => {
  const [m1, m2] = await masters();
  const a = nameOn(m1, 'xa');
  const b = nameOn(m2, 'xb');
  const c = await subscriber(false);
  try {
    c.write(cmd('SSUBSCRIBE', a, b));
    assert.equal((await c.readFrame()).toString(), "-CROSSSLOT Keys in request don't hash to the same slot\r\n");
    // not subscribed after all: a RESP2 GET is answered, not refused
    c.write(cmd('SET', a, '1') + cmd('GET', b));
    assert.deepEqual((await c.readFrames(2)).map(String), ['+OK\r\n', '$-1\r\n']);
  } finally {
    c.destroy();
  }
  const d = await subscriber(true);
  try {
    // replies in order; the confirmation (from m2) between the replies of m1 around it, in
    // order; the message, a push, after its confirmation (it may pass replies still owed)
    d.write(cmd('GET', a) + cmd('SSUBSCRIBE', b) + cmd('GET', a) + cmd('SPUBLISH', b, 'own'));
    const got = (await d.readFrames(5)).map(String);
    assert.deepEqual(got.filter((f) => f[0] !== '>'), [bulk('1'), bulk('1'), ':1\r\n']);
    const conf = got.indexOf(confirmation('ssubscribe', b, 1, true));
    assert.ok(conf > got.indexOf(bulk('1')) && conf < got.lastIndexOf(bulk('1')), JSON.stringify(got));
    assert.ok(got.indexOf(smessage(b, 'own', true)) > conf, JSON.stringify(got));
  } finally {
    d.destroy();
  }
});

test('RESET ends a subscriber\'s subscriptions on every node it held them on', async () => {
  const home = await cluster.ownerOf(0);
  const other = (await masters()).find((m) => m.id !== home.id)!;
  const ch = nameOn(other, 'rs');
  const c = await subscriber(false);
  try {
    c.write(cmd('SUBSCRIBE', 'rs-plain') + cmd('SSUBSCRIBE', ch));
    assert.deepEqual((await c.readFrames(2)).map(String), [confirmation('subscribe', 'rs-plain', 1), confirmation('ssubscribe', ch, 1)]);
    c.write(cmd('RESET') + cmd('SET', ch, 'after-reset') + cmd('GET', ch));
    assert.deepEqual((await c.readFrames(3)).map(String), ['+RESET\r\n', '+OK\r\n', bulk('after-reset')]);
    assert.equal(await cluster.call(other.port, 'SPUBLISH', ch, 'nobody'), 0);
    assert.equal(await cluster.call(home.port, 'PUBLISH', 'rs-plain', 'nobody'), 0);
  } finally {
    c.destroy();
  }
});

test('MONITOR through the proxy shows the home node\'s commands only', async () => {
  const home = await cluster.ownerOf(0);
  const other = (await masters()).find((m) => m.id !== home.id)!;
  const mon = await RawClient.connect(ap.proxy.port);
  const c = await RawClient.connect(ap.proxy.port);
  try {
    mon.write(cmd('MONITOR'));
    assert.equal((await mon.readFrame()).toString(), '+OK\r\n');
    const here = nameOn(home, 'mon-here');
    const there = nameOn(other, 'mon-there');
    c.write(cmd('SET', here, 'x') + cmd('SET', there, 'y'));
    assert.deepEqual((await c.readFrames(2)).map(String), ['+OK\r\n', '+OK\r\n']);
    const seen = (await mon.readBytes(1000)).toString();
    assert.match(seen, new RegExp(`"SET" "${here}" "x"`));
    assert.doesNotMatch(seen, new RegExp(there));
  } finally {
    mon.destroy();
    c.destroy();
  }
});

/** After a move of `ch`'s slot: a message published on `to` reaches each subscriber, which saw nothing else. */
async function heardAfterMove(subs: Array<{ c: RawClient; resp3: boolean }>, ch: string, toPort: number, tag: string): Promise<void> {
  await spublishUntilHeard(toPort, ch, tag, subs.length);
  for (const { c, resp3 } of subs) {
    const rest = (await c.readBytes(3000)).toString();
    // the message (once, or again for each SPUBLISH while the other subscriber was not back
    // yet), and nothing else: no sunsubscribe, no re-subscription's confirmation, no error
    const one = smessage(ch, tag, resp3);
    assert.ok(rest.length >= one.length && rest.split(one).every((part) => part === ''), JSON.stringify(rest));
    assert.equal(c.closedYet, false);
  }
}

test('CLUSTER FAILOVER of the shard channel\'s master: RESP2 and RESP3 subscribers are subscribed again on the new master, unseen', async () => {
  const view = await cluster.nodes();
  const master = view.find((n) => n.role === 'master' && n.slots.length > 0 && view.some((r) => r.masterId === n.id && !r.failed))!;
  const replica = view.find((r) => r.masterId === master.id && !r.failed)!;
  const ch = nameOn(master, 'fo');
  const subs = [{ c: await subscriber(false), resp3: false }, { c: await subscriber(true), resp3: true }];
  try {
    for (const s of subs) {
      s.c.write(cmd('SSUBSCRIBE', ch));
      assert.equal((await s.c.readFrame()).toString(), confirmation('ssubscribe', ch, 1, s.resp3));
    }
    assert.equal(await cluster.call(master.port, 'SPUBLISH', ch, 'before'), 2);
    for (const s of subs) assert.equal((await s.c.readFrame()).toString(), smessage(ch, 'before', s.resp3));
    await cluster.failover(replica.port);
    await heardAfterMove(subs, ch, replica.port, 'after-failover');
    // the proxy's count is still the client's: one more shard channel makes 2
    const other = nameOn(master, 'fo2-');
    for (const s of subs) {
      s.c.write(cmd('SSUBSCRIBE', other) + cmd('PING'));
      const [conf, pong] = (await s.c.readFrames(2)).map(String);
      assert.equal(conf, confirmation('ssubscribe', other, 2, s.resp3));
      assert.equal(pong, s.resp3 ? '+PONG\r\n' : '*2\r\n$4\r\npong\r\n$0\r\n\r\n');
    }
  } finally {
    for (const s of subs) s.c.destroy();
  }
});

test('a resharding moves the shard channel\'s slot: the subscriber follows it to the new owner, unseen', async () => {
  const [from, to] = await masters();
  const ch = nameOn(from, 'mv');
  const subs = [{ c: await subscriber(false), resp3: false }, { c: await subscriber(true), resp3: true }];
  try {
    for (const s of subs) {
      s.c.write(cmd('SSUBSCRIBE', ch));
      assert.equal((await s.c.readFrame()).toString(), confirmation('ssubscribe', ch, 1, s.resp3));
    }
    await cluster.moveSlot(keyHashSlot(Buffer.from(ch)), to.port);
    await heardAfterMove(subs, ch, to.port, 'after-move');
  } finally {
    for (const s of subs) s.c.destroy();
  }
});

test('kill -9 of the shard channel\'s master: once its replica is promoted the subscriber hears it there, on the same connection', async () => {
  const view = await cluster.nodes();
  // (not the home node: the classic subscriber below stays where it is)
  const home = await cluster.ownerOf(0);
  const master = view.find((n) => n.role === 'master' && n.id !== home.id && n.slots.length > 0 && view.some((r) => r.masterId === n.id && !r.failed))!;
  const ch = nameOn(master, 'kd');
  const subs = [{ c: await subscriber(false), resp3: false }, { c: await subscriber(true), resp3: true }];
  try {
    for (const s of subs) {
      s.c.write(cmd('SUBSCRIBE', 'plain') + cmd('SSUBSCRIBE', ch));
      assert.deepEqual((await s.c.readFrames(2)).map(String), [confirmation('subscribe', 'plain', 1, s.resp3), confirmation('ssubscribe', ch, 1, s.resp3)]);
    }
    const promoted = await cluster.killMaster(master.port);
    await heardAfterMove(subs, ch, promoted.port, 'after-kill');
    // classic pub/sub was not disturbed
    assert.equal(await cluster.call(home.port, 'PUBLISH', 'plain', 'p'), 2);
    for (const s of subs) assert.equal((await s.c.readFrame()).toString(), `${s.resp3 ? '>' : '*'}3\r\n${bulk('message')}${bulk('plain')}${bulk('p')}`);
  } finally {
    for (const s of subs) s.c.destroy();
  }
});
