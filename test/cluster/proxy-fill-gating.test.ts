// The cache per master: while one master's invalidation link is down (killed, and kept from
// reconnecting), GETs of keys on the other masters still fill (repeats stop reaching their
// node: INFO commandstats), for a shared client and one with connections of its own; keys on
// the master whose link is down fill nothing, so a direct write there is seen at once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { keyHashSlot } from '../../src/cluster/key-slot.js';
import { type RedisCluster, type ClusterNodeView } from '../helpers/cluster.js';
import { startClusterProxy, stopClusterProxy, RawClient, cmd, eventually, sleep, proxyStats, type AdminProxy } from '../helpers/index.js';

let cluster: RedisCluster;
let ap: AdminProxy;

before(async () => ({ cluster, ap } = await startClusterProxy()));
after(() => stopClusterProxy(ap, cluster));

interface LinkStat {
  addr: string;
  link: string | null;
  tracking: boolean;
}
async function linkOf(port: number): Promise<LinkStat> {
  const st = (await proxyStats(ap.admin)) as unknown as { cluster: { links: LinkStat[] } };
  return st.cluster.links.find((l) => l.addr.endsWith(`:${port}`))!;
}

function keyOn(m: ClusterNodeView, prefix: string): string {
  for (let i = 0; ; i++) {
    const key = `${prefix}${i}`;
    const s = keyHashSlot(Buffer.from(key));
    if (m.slots.some(([a, b]) => s >= a && s <= b)) return key;
  }
}

/** One command on a connection held open (new connections to the node are refused meanwhile). */
async function ask(c: RawClient, ...args: string[]): Promise<string> {
  c.write(cmd(...args));
  return (await c.readFrame()).toString('latin1');
}

async function getCalls(c: RawClient): Promise<number> {
  return Number(/cmdstat_get:calls=(\d+)/.exec(await ask(c, 'INFO', 'commandstats'))?.[1] ?? 0);
}

/** GET `key` through `c`, `n` times one after the other; every reply must be `value`. */
async function getTimes(c: RawClient, key: string, value: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    c.write(cmd('GET', key));
    assert.equal((await c.readFrame()).toString(), `$${value.length}\r\n${value}\r\n`, `GET ${key} #${i}`);
    // (the first one fills once the PTTL behind it is in)
    if (i === 0) await sleep(50);
  }
}

test('one master\'s link down: keys on the others still fill, keys on it are not filled and never stale', async () => {
  const masters = (await cluster.nodes()).filter((n) => n.role === 'master' && !n.failed && n.slots.length > 0);
  const down = masters.find((m) => m.port !== cluster.ports[0])!;
  const up = masters.find((m) => m !== down)!;
  const keyUp = keyOn(up, 'fg-up:');
  const keyUpOwn = keyOn(up, 'fg-own:');
  const keyDown = keyOn(down, 'fg-down:');
  assert.equal(await cluster.call(up.port, 'SET', keyUp, 'u'), 'OK');
  assert.equal(await cluster.call(up.port, 'SET', keyUpOwn, 'o'), 'OK');
  assert.equal(await cluster.call(down.port, 'SET', keyDown, 'v1'), 'OK');
  const onUp = await RawClient.connect(up.port);
  const onDown = await RawClient.connect(down.port);
  const shared = await RawClient.connect(ap.proxy.port);
  const own = await RawClient.connect(ap.proxy.port);
  try {
    // the client of its own opens its lanes to every master now, while every link is up
    own.write(cmd('CLIENT', 'SETNAME', 'fg-own') + cmd('DBSIZE'));
    await own.readFrames(2);
    // the link of `down` is killed, and no new connection to it is let in: it stays down
    const clients = await ask(onDown, 'CLIENT', 'LIST');
    const id = /id=(\d+) [^\n]*name=redisproxy-invalidation/.exec(clients)?.[1];
    assert.ok(id !== undefined, clients);
    assert.equal(await ask(onDown, 'CONFIG', 'SET', 'maxclients', '1'), '+OK\r\n');
    assert.equal(await ask(onDown, 'CLIENT', 'KILL', 'ID', id), ':1\r\n');
    await eventually('the link is down', async () => !(await linkOf(down.port)).tracking, 5000, 10);
    assert.notEqual((await linkOf(down.port)).link, 'up');
    assert.equal((await linkOf(up.port)).tracking, true);

    // keys on `up` fill: of five GETs from each client, one reaches the node
    let before = await getCalls(onUp);
    await getTimes(shared, keyUp, 'u', 5);
    assert.equal((await getCalls(onUp)) - before, 1, 'a shared client\'s GETs: the first reached the node, the rest came from the cache');
    before = await getCalls(onUp);
    await getTimes(own, keyUpOwn, 'o', 5);
    assert.equal((await getCalls(onUp)) - before, 1, 'an own client\'s GETs: the first reached the node, the rest came from the cache');

    // keys on `down` fill nothing: every GET reaches it, and a write made there directly is seen at once
    before = await getCalls(onDown);
    await getTimes(shared, keyDown, 'v1', 3);
    await getTimes(own, keyDown, 'v1', 3);
    assert.equal((await getCalls(onDown)) - before, 6, 'every GET of a key on the master whose link is down reached it');
    assert.equal(await ask(onDown, 'SET', keyDown, 'v2'), '+OK\r\n');
    await getTimes(shared, keyDown, 'v2', 1);
    await getTimes(own, keyDown, 'v2', 1);
    // still down all along
    assert.equal((await linkOf(down.port)).tracking, false);
  } finally {
    await ask(onDown, 'CONFIG', 'SET', 'maxclients', '10000');
    onUp.destroy();
    onDown.destroy();
  }
  try {
    // the link back: keys on that master fill again
    await eventually('the link tracks again', async () => (await linkOf(down.port)).tracking, 15_000, 50);
    const onDown2 = await RawClient.connect(down.port);
    const before = await getCalls(onDown2);
    await getTimes(shared, keyDown, 'v2', 4);
    assert.equal((await getCalls(onDown2)) - before, 1, 'filled again once the link tracks');
    onDown2.destroy();
  } finally {
    shared.destroy();
    own.destroy();
  }
});
