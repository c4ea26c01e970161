// The cluster changes under the proxy: a slot moved (MOVED), a slot mid-move (ASK), a manual
// failover and a killed master, with clients pipelining through the proxy. A cluster-unaware
// client never sees MOVED, ASK or TRYAGAIN, no reply is paired with another request, and
// clients keep working once the new owner is known.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { keyHashSlot } from '../../src/cluster/key-slot.js';
import { type RedisCluster } from '../helpers/cluster.js';
import { startClusterProxy, stopClusterProxy, RawClient, cmd, eventually, sleep, proxyStats, type AdminProxy } from '../helpers/index.js';

let cluster: RedisCluster;
let ap: AdminProxy;

// (with the cache: GETs fill with a PTTL behind them, which must pair as well)
before(async () => ({ cluster, ap } = await startClusterProxy()));
after(() => stopClusterProxy(ap, cluster));

interface ClusterSection {
  redirects: { moved: number; ask: number; tryagain: number; clusterdown: number };
  nodes: Array<{ addr: string; role: string; slots?: string }>;
}
async function clusterStats(): Promise<ClusterSection> {
  return ((await proxyStats(ap.admin)) as unknown as { cluster: ClusterSection }).cluster;
}

/** Keys (with a tag) that all hash to one slot, and that slot. */
function slotKeys(tag: string, n: number): { slot: number; keys: string[] } {
  return { slot: keyHashSlot(Buffer.from(tag)), keys: Array.from({ length: n }, (_, i) => `{${tag}}${i}`) };
}

async function otherMaster(slot: number): Promise<number> {
  const owner = await cluster.ownerOf(slot);
  return (await cluster.nodes()).find((n) => n.role === 'master' && !n.failed && n.id !== owner.id)!.port;
}


/** A value written directly on `master` (in its first slot) is read through the proxy at once. */
async function directWriteReadThrough(master: { port: number; slots: Array<[number, number]> }, prefix: string): Promise<void> {
  const slot = master.slots[0][0];
  let key = '';
  for (let i = 0; key === ''; i++) if (keyHashSlot(Buffer.from(`${prefix}${i}`)) === slot) key = `${prefix}${i}`;
  await cluster.call(master.port, 'SET', key, 'direct');
  const c = await RawClient.connect(ap.proxy.port);
  try {
    c.write(cmd('GET', key));
    assert.equal((await c.readFrame()).toString(), '$6\r\ndirect\r\n');
  } finally {
    c.destroy();
  }
}

test('a slot moved to another master: MOVED is followed inside the proxy, the same connection reads every value', async () => {
  const { slot, keys } = slotKeys('mv', 20);
  const c = await RawClient.connect(ap.proxy.port);
  try {
    c.write(keys.map((k) => cmd('SET', k, `v-${k}`)).join(''));
    for (const r of await c.readFrames(keys.length)) assert.equal(r.toString(), '+OK\r\n');
    const before = (await clusterStats()).redirects.moved;
    await cluster.moveSlot(slot, await otherMaster(slot));
    c.write(keys.map((k) => cmd('GET', k)).join('') + cmd('MGET', keys[0], 'elsewhere', keys[1]));
    const got = (await c.readFrames(keys.length + 1)).map((f) => f.toString());
    keys.forEach((k, i) => assert.equal(got[i], `$${`v-${k}`.length}\r\nv-${k}\r\n`));
    assert.equal(got[keys.length], `*3\r\n$7\r\nv-{mv}0\r\n$-1\r\n$7\r\nv-{mv}1\r\n`);
    assert.ok((await clusterStats()).redirects.moved > before, 'a MOVED was counted');
  } finally {
    c.destroy();
  }
});

test('a slot mid-move: TRYAGAIN is retried, ASK is followed with ASKING for keys already migrated and for new keys; then the move ends', async () => {
  const { slot, keys } = slotKeys('ask', 10);
  const c = await RawClient.connect(ap.proxy.port);
  try {
    c.write(keys.map((k) => cmd('SET', k, `v-${k}`)).join(''));
    await c.readFrames(keys.length);
    const move = await cluster.startSlotMove(slot, await otherMaster(slot));
    // one key moved: a multi-key command over the slot gets TRYAGAIN, retried inside the proxy
    // until the other keys moved too (then ASK, followed)
    const r = await cluster.call(move.from.port, 'MIGRATE', '127.0.0.1', move.to.port, '', 0, 5000, 'KEYS', keys[0]);
    assert.equal(r, 'OK');
    const tryBefore = (await clusterStats()).redirects.tryagain;
    c.write(cmd('MGET', keys[0], keys[1]));
    const mget = c.readFrame(10_000);
    await sleep(150);
    assert.equal(await move.migrateKeys(), keys.length - 1);
    assert.equal((await mget).toString(), `*2\r\n$${`v-${keys[0]}`.length}\r\nv-${keys[0]}\r\n$${`v-${keys[1]}`.length}\r\nv-${keys[1]}\r\n`);
    assert.ok((await clusterStats()).redirects.tryagain > tryBefore, 'TRYAGAIN was retried');
    const before = (await clusterStats()).redirects.ask;
    // every key now lives on the importing node: the old owner answers ASK for each
    c.write(keys.map((k) => cmd('GET', k)).join('') + cmd('SET', '{ask}new', 'fresh') + cmd('GET', '{ask}new') + cmd('INCR', '{ask}n'));
    const got = (await c.readFrames(keys.length + 3)).map((f) => f.toString());
    keys.forEach((k, i) => assert.equal(got[i], `$${`v-${k}`.length}\r\nv-${k}\r\n`));
    assert.deepEqual(got.slice(keys.length), ['+OK\r\n', '$5\r\nfresh\r\n', ':1\r\n']);
    assert.ok((await clusterStats()).redirects.ask > before, 'ASK was counted');
    await move.finish();
    c.write(cmd('GET', '{ask}new') + cmd('INCR', '{ask}n'));
    assert.deepEqual((await c.readFrames(2)).map((f) => f.toString()), ['$5\r\nfresh\r\n', ':2\r\n']);
  } finally {
    c.destroy();
  }
});

/**
 * Clients that pipeline SET k v / GET k with values of their own over keys on every master,
 * checking each reply against its request; they reconnect when the proxy closes them.
 */
function loadClients(n: number): { stop(): Promise<{ rounds: number; reconnects: number; errors: string[] }> } {
  let running = true;
  let rounds = 0;
  let reconnects = 0;
  const errors: string[] = [];
  const one = async (id: number): Promise<void> => {
    let c: RawClient | null = null;
    for (let round = 0; running; round++) {
      try {
        c ??= await RawClient.connect(ap.proxy.port);
        const batch = Array.from({ length: 8 }, (_, j) => ({ k: `load:${id}:${j}`, v: `${id}-${round}-${j}` }));
        // (and a key of its own that never changes: mostly served from the cache)
        const fixed = `load:${id}:fixed`;
        c.write(batch.map(({ k, v }) => cmd('SET', k, v) + cmd('GET', k)).join('') + cmd('SET', fixed, fixed) + cmd('GET', fixed) + cmd('GET', fixed));
        const replies = (await c.readFrames(batch.length * 2 + 3, 10_000)).map((f) => f.toString());
        const tail = replies.slice(batch.length * 2);
        const want = `$${fixed.length}\r\n${fixed}\r\n`;
        if (!/^-(CLUSTERDOWN|LOADING)/.test(tail[0]) && (tail[0] !== '+OK\r\n' || tail[1] !== want || tail[2] !== want)) errors.push(`fixed key answered ${JSON.stringify(tail)}`);
        batch.forEach(({ v }, j) => {
          const set = replies[j * 2];
          const get = replies[j * 2 + 1];
          if (/^-(MOVED|ASK|TRYAGAIN)/.test(set) || /^-(MOVED|ASK|TRYAGAIN)/.test(get)) errors.push(`redirect reached the client: ${set} ${get}`);
          else if (set.startsWith('-') && /^-(CLUSTERDOWN|LOADING)/.test(set)) return; // the cluster said so: not mispaired
          else if (set !== '+OK\r\n') errors.push(`SET answered ${JSON.stringify(set)}`);
          else if (get !== `$${v.length}\r\n${v}\r\n` && !/^-(CLUSTERDOWN|LOADING)/.test(get)) errors.push(`GET of ${v} answered ${JSON.stringify(get)}`);
        });
        rounds++;
      } catch {
        // the proxy closed the client (its node went away mid-request): reconnect, as clients do
        c?.destroy();
        c = null;
        reconnects++;
        await sleep(50);
      }
    }
    c?.destroy();
  };
  const all = Array.from({ length: n }, (_, i) => one(i));
  return {
    async stop() {
      running = false;
      await Promise.all(all);
      return { rounds, reconnects, errors };
    },
  };
}

async function roundsAfter(ms: number): Promise<void> {
  await sleep(ms);
}

test('CLUSTER FAILOVER under pipelined load from several clients: no reply mispaired, clients keep working after', async () => {
  const load = loadClients(4);
  await roundsAfter(500);
  const view = await cluster.nodes();
  const replica = view.find((n) => n.role === 'replica' && !n.failed)!;
  await cluster.failover(replica.port);
  await eventually('the proxy knows the new master', async () => (await clusterStats()).nodes.some((n) => n.addr.endsWith(`:${replica.port}`) && n.role === 'master'), 10_000);
  await roundsAfter(1000);
  const r = await load.stop();
  assert.deepEqual(r.errors, []);
  assert.ok(r.rounds > 20, `rounds: ${r.rounds}`);
  // a value written directly on the new master is read through the proxy at once
  await directWriteReadThrough((await cluster.nodes()).find((n) => n.port === replica.port)!, 'fo');
});

test('a master killed (kill -9) under pipelined load: no reply mispaired, clients keep working once its replica took over', async () => {
  const load = loadClients(4);
  await roundsAfter(500);
  const view = await cluster.nodes();
  const master = view.find((n) => n.role === 'master' && !n.failed && n.port !== cluster.ports[0])!;
  const promoted = await cluster.killMaster(master.port);
  await eventually('the proxy knows the promoted replica', async () => (await clusterStats()).nodes.some((n) => n.addr.endsWith(`:${promoted.port}`) && n.role === 'master'), 15_000);
  // every client works again: rounds go on after the switch
  const r = await load.stop();
  assert.deepEqual(r.errors, []);
  const load2 = loadClients(4);
  await roundsAfter(1500);
  const r2 = await load2.stop();
  assert.deepEqual(r2.errors, []);
  assert.equal(r2.reconnects, 0, 'no client closed once the new master is known');
  assert.ok(r2.rounds > 10, `rounds after the switch: ${r2.rounds}`);
  await directWriteReadThrough(promoted, 'kd');
  // back as a replica of its old shard: every shard has a replica again for the next test
  await cluster.restartNode(master.port);
});

test('a subscriber whose node is killed is subscribed again on another master: it keeps its connection and its messages', async () => {
  const sub = await RawClient.connect(ap.proxy.port);
  try {
    sub.write(cmd('SUBSCRIBE', 'alerts') + cmd('PSUBSCRIBE', 'al*'));
    const confirmations = (await sub.readFrames(2)).map((f) => f.toString());
    assert.deepEqual(confirmations, ['*3\r\n$9\r\nsubscribe\r\n$6\r\nalerts\r\n:1\r\n', '*3\r\n$10\r\npsubscribe\r\n$3\r\nal*\r\n:2\r\n']);
    // a subscriber's lane is on its home node: the master of the lowest slot
    const home = await cluster.ownerOf(0);
    await cluster.killMaster(home.port);
    const alive = (await cluster.nodes()).find((n) => n.role === 'master' && !n.failed)!;
    // published until it arrives (the re-subscription follows the loss of the node)
    let got = '';
    await eventually('a message after the switch', async () => {
      await cluster.call(alive.port, 'PUBLISH', 'alerts', 'after');
      try {
        got = (await sub.readFrame(300)).toString();
        return true;
      } catch {
        return false;
      }
    }, 15_000, 100);
    // the first frame after the switch is a message, not a confirmation of the re-subscription
    assert.ok(got === '*3\r\n$7\r\nmessage\r\n$6\r\nalerts\r\n$5\r\nafter\r\n' || got === '*4\r\n$8\r\npmessage\r\n$3\r\nal*\r\n$6\r\nalerts\r\n$5\r\nafter\r\n', got);
    assert.equal(sub.closedYet, false);
    sub.write(cmd('PING'));
    const rest = (await sub.readBytes(2000)).toString();
    assert.match(rest, /\*2\r\n\$4\r\npong\r\n\$0\r\n\r\n$/);
    assert.doesNotMatch(rest, /subscribe/);
  } finally {
    sub.destroy();
  }
});
