import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { ReplyCache } from '../../src/cache/reply-cache.js';
import { ClusterDiscovery, addressLike, nodeAddress } from '../../src/cluster/cluster-discovery.js';
import { NodeLinks } from '../../src/cluster/node-links.js';
import { addrKey } from '../../src/cluster/topology.js';
import { keyHashSlotLatin1, SLOT_COUNT } from '../../src/cluster/key-slot.js';
import type { SlotMap } from '../../src/cluster/topology.js';
import type { TopologyChange } from '../../src/cluster/topology-change.js';
import type { BackendAddress } from '../../src/config/config.js';
import { trackingRequest } from '../../src/backend/invalidation-link.js';
import { startCluster, type RedisCluster } from '../helpers/cluster.js';
import { RawClient, cmd, eventually, withTimeout } from '../helpers/index.js';
import { capturingLogger } from '../backend/fakes.js';

// The cache on a real cluster, in-process: a ReplyCache, NodeLinks fed by a ClusterDiscovery,
// and connections of the test's own to each master that fill the cache the way the router
// will (tracking REDIRECT to targetFor(node), fillGeneration/stillTracked for the key's slot).
// What is checked: a write made directly on a node invalidates (staleness measured), and a
// failover, a moved slot and a lost link drop their slots' entries only.

const PW = 'pw';
let cluster: RedisCluster;
let SEED: BackendAddress;
let cache: ReplyCache;
let links: NodeLinks;
let discovery: ClusterDiscovery;
/** when each key's invalidation reached the cache */
const invalidatedAt = new Map<string, number>();
/** what the last topology change left, read at once in the 'change' handler */
let onChange: ((change: TopologyChange, map: SlotMap) => void) | null = null;
const { log, lines } = capturingLogger();

before(async () => {
  cluster = await startCluster({ password: PW, nodeTimeoutMs: 1000 });
  SEED = addressLike({ host: '127.0.0.1', port: 0, tls: false, username: null, password: PW, db: 0, display: '' }, '127.0.0.1', cluster.ports[0]);
  cache = new ReplyCache({ capacity: 100_000, ttlMs: 600_000 });
  const invalidate = cache.invalidate.bind(cache);
  cache.invalidate = (k: string) => {
    invalidatedAt.set(k, performance.now());
    invalidate(k);
  };
  links = new NodeLinks({ seed: SEED, cache, coherence: 'tracking', log });
  discovery = new ClusterDiscovery({ seeds: [SEED], refreshIntervalMs: 0 });
  discovery.on('change', (change: TopologyChange, map: SlotMap) => {
    links.update(map, change);
    onChange?.(change, map);
  });
  await discovery.start();
});
after(async () => {
  links?.stop();
  discovery?.stop();
  for (const c of conns.values()) c.client.destroy();
  for (const c of writers.values()) c.destroy();
  await cluster?.stop();
});

// --- connections of the test's own, one per node, that fill the cache as the router will ---

interface NodeConn {
  client: RawClient;
  /** the link generation its CLIENT TRACKING was sent for */
  trackedGen: number;
}
const conns = new Map<string, NodeConn>();
const writers = new Map<number, RawClient>();

async function authed(port: number): Promise<RawClient> {
  const c = await RawClient.connect(port);
  c.write(cmd('AUTH', PW));
  assert.equal((await c.readFrame()).toString(), '+OK\r\n');
  return c;
}

function ownerOf(slot: number) {
  const n = discovery.current!.masterOf(slot);
  assert.ok(n, `slot ${slot} has an owner`);
  return { node: n, key: addrKey(nodeAddress(SEED, n)) };
}

async function connTo(addrKey: string, port: number): Promise<NodeConn> {
  let c = conns.get(addrKey);
  if (c === undefined || c.client.closedYet) {
    c = { client: await authed(port), trackedGen: -1 };
    conns.set(addrKey, c);
  }
  return c;
}

async function writerTo(port: number): Promise<RawClient> {
  let w = writers.get(port);
  if (w === undefined || w.closedYet) {
    w = await authed(port);
    writers.set(port, w);
  }
  return w;
}

/** A GET as the router will send it: from the cache, else from the slot's master, filling when allowed. */
async function read(key: string): Promise<{ reply: string | null; cached: boolean; filled: boolean }> {
  const hit = cache.lookup(key, 'default', 0);
  if (hit !== undefined) return { reply: hit, cached: true, filled: false };
  const slot = keyHashSlotLatin1(key);
  const { node, key: addrKey } = ownerOf(slot);
  const c = await connTo(addrKey, node.port);
  const ticket = cache.beginFill(key, 'default', 0);
  const gen = ticket === null ? -1 : links.fillGeneration(slot);
  if (gen >= 0 && c.trackedGen !== gen) {
    const target = links.targetFor(addrKey);
    assert.ok(target && target.redirectId !== null && target.generation === gen, 'the target tracks for the generation given');
    c.client.write(trackingRequest(target.redirectId));
    const r = (await c.client.readFrame()).toString();
    assert.equal(r, '+OK\r\n', 'CLIENT TRACKING REDIRECT accepted');
    c.trackedGen = gen;
  }
  c.client.write(cmd('GET', key));
  const frame = (await c.client.readFrame()).toString('latin1');
  assert.ok(!frame.startsWith('-'), `GET ${key}: ${frame}`);
  const reply = frame === '$-1\r\n' ? null : frame;
  let filled = false;
  if (ticket !== null && gen !== -1 && links.stillTracked(slot, gen) && c.trackedGen === gen) filled = cache.completeFill(ticket, reply, null);
  if (filled) everFilled.add(key);
  return { reply, cached: false, filled };
}

async function setDirect(key: string, value: string): Promise<number> {
  const w = await writerTo(ownerOf(keyHashSlotLatin1(key)).node.port);
  w.write(cmd('SET', key, value));
  assert.equal((await w.readFrame()).toString(), '+OK\r\n');
  return performance.now();
}

/** every key the tests filled, to count what a drop must take */
const everFilled = new Set<string>();
/** the cached keys (of those filled here) whose slot `port` owns now */
function cachedOn(port: number): string[] {
  return [...everFilled].filter((k) => cached(k) && ownerOf(keyHashSlotLatin1(k)).node.port === port);
}

const bulk = (s: string) => `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
const cached = (k: string) => cache.lookup(k, 'default', 0) !== undefined;

async function allTracking(): Promise<void> {
  await eventually('every master\'s link tracking', () => cache.blockedSlots === 0 && links.stats().every((n) => n.role !== 'master' || n.slots === '' || n.tracking), 15_000);
}

/** `n` keys per master, each filled (value set first when `withValues`), by master port. */
async function fillKeys(prefix: string, perMaster: number, withValues = true): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>();
  for (let i = 0; out.size < 3 || [...out.values()].some((ks) => ks.length < perMaster); i++) {
    const key = `${prefix}:${i}`;
    const port = ownerOf(keyHashSlotLatin1(key)).node.port;
    const ks = out.get(port) ?? [];
    if (ks.length >= perMaster) continue;
    if (withValues) await setDirect(key, `v${i}`);
    const r = await read(key);
    assert.ok(r.filled, `${key} filled`);
    ks.push(key);
    out.set(port, ks);
  }
  for (const ks of out.values()) for (const k of ks) assert.ok(cached(k), `${k} cached`);
  return out;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

test('one link per master, with the seeds\' password; every slot fills once its master\'s link tracks', async () => {
  await allTracking();
  const st = links.stats();
  assert.equal(st.filter((n) => n.role === 'master').length, 3);
  assert.equal(st.filter((n) => n.role === 'replica').length, 3);
  for (const n of st.filter((x) => x.role === 'master')) {
    assert.equal(n.link, 'up');
    assert.equal(n.connects, 1);
    assert.match(n.slots, /^\d+-\d+$/);
    assert.equal(links.targetFor(n.addr)?.redirectId !== null, true);
  }
  for (const n of st.filter((x) => x.role === 'replica')) assert.equal(n.link, null);
  assert.equal(links.targetFor('127.0.0.1:1'), null);
  // the links are Redis clients named as the single-Redis link is, tracking on
  for (const port of cluster.ports) {
    const list = String(await cluster.call(port, 'CLIENT', 'LIST'));
    const isMaster = st.some((n) => n.role === 'master' && n.addr === `127.0.0.1:${port}`);
    assert.equal(/name=redisproxy-invalidation .*flags=t/.test(list), isMaster, `node ${port}: a link iff master`);
  }
  // every slot answers a generation, and it is its own master's
  for (let s = 0; s < SLOT_COUNT; s += 97) assert.equal(links.fillGeneration(s), links.targetFor(ownerOf(s).key)!.generation);
});

test('a write made directly on a node invalidates the entry filled through it (staleness over 200 writes)', async () => {
  await allTracking();
  const stale: number[] = [];
  let invalidationFirst = 0;
  for (let i = 0; i < 200; i++) {
    const key = `stale:${i}`;
    await setDirect(key, 'old');
    assert.equal((await read(key)).filled, true, `${key} filled`);
    assert.deepEqual(await read(key), { reply: bulk('old'), cached: true, filled: false });
    invalidatedAt.delete(key);
    const okAt = await setDirect(key, 'new');
    await eventually(`${key} invalidated`, () => invalidatedAt.has(key), 2000, 0);
    const d = invalidatedAt.get(key)! - okAt;
    if (d < 0) invalidationFirst++;
    stale.push(Math.max(0, d));
    assert.equal(cached(key), false);
    assert.equal((await read(key)).reply, bulk('new'), 'read again from the node');
  }
  stale.sort((a, b) => a - b);
  const fig = { p50: percentile(stale, 50), p99: percentile(stale, 99), max: stale[stale.length - 1], invalidationBeforeOk: invalidationFirst };
  console.log(`# staleness (writer's +OK to the invalidation's arrival, ms, 200 writes): ${JSON.stringify(Object.fromEntries(Object.entries(fig).map(([k, v]) => [k, Math.round(v * 1000) / 1000])))}`);
  assert.ok(fig.p99 < 100, `p99 ${fig.p99} ms`);
});

test('FLUSHALL on one master drops that master\'s slots only', async () => {
  await allTracking();
  const keys = await fillKeys('flush', 5);
  const [port] = [...keys.keys()];
  const before = cache.stats.slotDropsNodeFlush;
  assert.equal(await cluster.call(port, 'FLUSHALL'), 'OK');
  await eventually('the flush seen', () => cache.stats.slotDropsNodeFlush > before, 3000);
  for (const [p, ks] of keys) for (const k of ks) assert.equal(cached(k), p !== port, `${k} on ${p}`);
  assert.ok(cache.stats.slotDropsNodeFlush - before >= 5);
  assert.equal(cache.stats.flushes, 0, 'never the whole cache');
});

test('a moved slot: its entries are dropped (even nils MIGRATE leaves behind), every other slot keeps its own', async () => {
  await allTracking();
  const others = await fillKeys('move', 20);
  const tag = 'mv';
  const slot = keyHashSlotLatin1(tag);
  const inSlot = Array.from({ length: 10 }, (_, i) => `{${tag}}:${i}`);
  // values MIGRATE will move (their deletion on the old owner invalidates them), and missing
  // keys, cached as nils, that nothing but the new owner can change
  for (const k of inSlot.slice(0, 5)) await setDirect(k, 'before');
  for (const k of inSlot) assert.equal((await read(k)).filled, true);
  const from = ownerOf(slot);
  const to = (await cluster.nodes()).find((n) => n.role === 'master' && !n.failed && n.port !== from.node.port)!;
  const dropsBefore = cache.stats.slotDropsOwnerChanged;
  const fromDropsBefore = links.stats().find((n) => n.id === from.node.id)!.dropped.ownerChanged;
  await cluster.moveSlot(slot, to.port);
  // the new owner takes a write the old owner's tracking never hears of
  const w = await writerTo(to.port);
  w.write(cmd('SET', inSlot[9], 'after'));
  assert.equal((await w.readFrame()).toString(), '+OK\r\n');
  assert.equal(cached(inSlot[9]), true, 'not known yet: only the topology tells');
  let seen: { blocked: boolean; gen: number } | null = null;
  onChange = () => {
    seen = { blocked: cache.isSlotBlocked(slot), gen: links.fillGeneration(slot) };
  };
  await discovery.refresh('test: moved slot');
  onChange = null;
  assert.ok(seen, 'a change was announced');
  // the new owner's link was tracking already: the slot may fill at once, under its generation
  assert.deepEqual(seen, { blocked: false, gen: links.targetFor(addrKey(nodeAddress(SEED, discovery.current!.masterOf(slot)!)))!.generation });
  for (const k of inSlot) assert.equal(cached(k), false, `${k} dropped`);
  for (const ks of others.values()) for (const k of ks) assert.equal(cached(k), true, `${k} kept`);
  const dropped = cache.stats.slotDropsOwnerChanged - dropsBefore;
  assert.equal(dropped, 5, 'the five nils (the values went with MIGRATE\'s invalidations)');
  assert.equal(links.stats().find((n) => n.id === from.node.id)!.dropped.ownerChanged - fromDropsBefore, 5, 'counted against the old owner');
  // read again from the new owner, and filled there; its writes invalidate
  assert.deepEqual(await read(inSlot[9]), { reply: bulk('after'), cached: false, filled: true });
  assert.equal((await read(inSlot[0])).reply, bulk('before'));
  invalidatedAt.delete(inSlot[9]);
  await setDirect(inSlot[9], 'again');
  await eventually('invalidated by the new owner', () => invalidatedAt.has(inSlot[9]), 2000);
  assert.equal((await read(inSlot[9])).reply, bulk('again'));
});

test('CLUSTER FAILOVER: exactly the failed-over master\'s slots are dropped and blocked until the new master\'s link tracks', async () => {
  await allTracking();
  const keys = await fillKeys('fo', 20);
  const view = await cluster.nodes();
  const victim = view.find((n) => n.role === 'master' && !n.failed && n.slots.length > 0)!;
  const replica = view.find((n) => n.masterId === victim.id && !n.failed)!;
  const victimKeys = keys.get(victim.port)!;
  const slots = new Set(victimKeys.map(keyHashSlotLatin1));
  const otherSlot = keyHashSlotLatin1(keys.get([...keys.keys()].find((p) => p !== victim.port)!)![0]);
  const dropsBefore = cache.stats.slotDropsOwnerChanged;
  const box: { seen: { blocked: boolean[]; gens: number[]; fill: boolean; otherGen: number; newLink: string | null } | null } = { seen: null };
  await cluster.failover(replica.port);
  // (before the proxy hears of it: what the victim's slots hold, from every test so far)
  const victimCached = cachedOn(victim.port).length;
  const otherCached = [...everFilled].filter(cached).length - victimCached;
  onChange = () => {
    box.seen = {
      blocked: [...slots].map((s) => cache.isSlotBlocked(s)),
      gens: [...slots].map((s) => links.fillGeneration(s)),
      fill: cache.beginFill(victimKeys[0], 'default', 0) !== null,
      otherGen: links.fillGeneration(otherSlot),
      newLink: links.linkFor(`127.0.0.1:${replica.port}`)?.state ?? null,
    };
  };
  await discovery.refresh('test: failover');
  onChange = null;
  const s = box.seen;
  assert.ok(s, 'a change was announced');
  assert.ok(s.blocked.every(Boolean), 'the failed-over slots are blocked');
  assert.ok(s.gens.every((g) => g === -1), 'and give no generation');
  assert.equal(s.fill, false, 'no fill starts there');
  assert.equal(s.newLink, 'connecting', 'the promoted replica\'s link is only starting');
  assert.ok(s.otherGen >= 0, 'other slots keep filling');
  for (const [p, ks] of keys) for (const k of ks) assert.equal(cached(k), p !== victim.port, `${k} on ${p}`);
  assert.equal(cache.stats.slotDropsOwnerChanged - dropsBefore, victimCached, 'exactly the victim\'s entries');
  assert.equal([...everFilled].filter(cached).length, otherCached, 'and no other');
  // the demoted master has no link any more, the promoted one has
  const st = links.stats();
  assert.equal(st.find((n) => n.id === victim.id)!.link, null);
  assert.equal(st.find((n) => n.id === victim.id)!.dropped.ownerChanged >= victimKeys.length, true);
  await eventually('the new master\'s link tracks', () => links.stats().find((n) => n.id === replica.id)!.tracking, 10_000);
  for (const sl of slots) assert.equal(cache.isSlotBlocked(sl), false);
  // filled again from the new master, and invalidated by it
  const k = victimKeys[0];
  assert.equal(ownerOf(keyHashSlotLatin1(k)).node.port, replica.port);
  assert.equal((await read(k)).filled, true);
  invalidatedAt.delete(k);
  await setDirect(k, 'on the new master');
  await eventually('invalidated by the new master', () => invalidatedAt.has(k), 2000);
  assert.equal((await read(k)).reply, bulk('on the new master'));
});

test('a master\'s link killed (CLIENT KILL on the node): its slots are dropped and blocked, the rest keeps serving; back once it tracks again', async () => {
  await allTracking();
  const keys = await fillKeys('kill', 20);
  const [port] = [...keys.keys()];
  const addrKey = `127.0.0.1:${port}`;
  const link = links.linkFor(addrKey)!;
  const id = link.redirectId!;
  const genBefore = link.generation;
  const victimKeys = keys.get(port)!;
  const slot = keyHashSlotLatin1(victimKeys[0]);
  const dropsBefore = cache.stats.slotDropsLinkLost;
  const victimCached = cachedOn(port).length;
  const otherCached = [...everFilled].filter(cached).length - victimCached;
  const downSeen = withTimeout(
    new Promise<{ blocked: boolean; gen: number; victimCached: number; otherCached: number }>((resolve) =>
      link.once('down', () =>
        resolve({
          blocked: cache.isSlotBlocked(slot),
          gen: links.fillGeneration(slot),
          victimCached: victimKeys.filter(cached).length,
          otherCached: [...everFilled].filter(cached).length,
        }),
      ),
    ),
    5000,
    'link down',
  );
  assert.equal(await cluster.call(port, 'CLIENT', 'KILL', 'ID', id), 1);
  const down = await downSeen;
  assert.deepEqual(down, { blocked: true, gen: -1, victimCached: 0, otherCached });
  assert.ok(otherCached >= 40);
  assert.equal(cache.stats.slotDropsLinkLost - dropsBefore, victimCached);
  assert.equal(links.stats().find((n) => n.addr === addrKey)!.dropped.linkLost >= victimKeys.length, true);
  assert.ok(lines.some((l) => /invalidation link is lost/.test(l.msg)), 'logged');
  await eventually('tracking again', () => links.fillGeneration(slot) >= 0, 10_000);
  assert.notEqual(links.fillGeneration(slot), genBefore, 'under a new generation');
  assert.equal(links.stats().find((n) => n.addr === addrKey)!.connects, 2);
  // the connection re-points its tracking at the new link before it fills, and is heard again
  const k = victimKeys[1];
  assert.equal((await read(k)).filled, true);
  invalidatedAt.delete(k);
  await setDirect(k, 'after the kill');
  await eventually('invalidated through the new link', () => invalidatedAt.has(k), 2000);
  assert.equal((await read(k)).reply, bulk('after the kill'));
});

test('kill -9 of a master: its slots are dropped when its link drops, before any failover; the promoted replica fills them once it tracks', async () => {
  await allTracking();
  await fillKeys('k9', 10);
  const view = await cluster.nodes();
  const victim = view.find((n) => n.role === 'master' && !n.failed && n.slots.length > 0)!;
  const victimCached = cachedOn(victim.port);
  const otherCached = [...everFilled].filter(cached).length - victimCached.length;
  assert.ok(victimCached.length >= 10);
  const slot = keyHashSlotLatin1(victimCached[0]);
  const lostBefore = cache.stats.slotDropsLinkLost;
  const link = links.linkFor(`127.0.0.1:${victim.port}`)!;
  const down = withTimeout(new Promise((resolve) => link.once('down', resolve)), 10_000, 'link down');
  const promotedP = cluster.killMaster(victim.port);
  await down;
  // at once, long before the cluster fails the node over
  assert.equal(victimCached.filter(cached).length, 0, 'nothing of the dead master is served');
  assert.equal(cache.stats.slotDropsLinkLost - lostBefore, victimCached.length);
  assert.equal(cache.isSlotBlocked(slot), true);
  assert.equal([...everFilled].filter(cached).length, otherCached, 'the other masters\' entries stay');
  const promoted = await promotedP;
  await discovery.refresh('test: master killed');
  const st = links.stats();
  assert.equal(st.find((n) => n.id === victim.id)?.link ?? null, null, 'no link to the dead master once it owns nothing');
  await eventually('the promoted master\'s link tracks', () => links.fillGeneration(slot) >= 0, 10_000);
  assert.equal(ownerOf(slot).node.port, promoted.port);
  // a value written directly on the new master is read, filled, and invalidated there
  const k = victimCached[0];
  await setDirect(k, 'after kill -9');
  const r = await read(k);
  assert.deepEqual(r, { reply: bulk('after kill -9'), cached: false, filled: true });
  invalidatedAt.delete(k);
  await setDirect(k, 'again');
  await eventually('invalidated by the promoted master', () => invalidatedAt.has(k), 2000);
  assert.equal((await read(k)).reply, bulk('again'));
});

test('trackingLost (a tracked connection to a master closed): that master\'s entries go, nothing is blocked', async () => {
  await allTracking();
  await fillKeys('tl', 5);
  const port = ownerOf(0).node.port;
  const addrKey = `127.0.0.1:${port}`;
  const on = cachedOn(port);
  const others = [...everFilled].filter(cached).length - on.length;
  assert.ok(on.length >= 5);
  assert.equal(links.trackingLost(addrKey), on.length);
  assert.equal(cachedOn(port).length, 0);
  assert.equal([...everFilled].filter(cached).length, others);
  assert.equal(cache.blockedSlots, 0);
  assert.equal(links.stats().find((n) => n.addr === addrKey)!.dropped.trackingLost, on.length);
  assert.equal(links.trackingLost('127.0.0.1:1'), 0, 'no such master');
  assert.equal((await read(on[0])).filled, true, 'fills again at once');
});
