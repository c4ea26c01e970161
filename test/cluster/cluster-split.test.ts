// The building blocks together on a real cluster: the map from discovery, the slot of each key
// and KeyFanout's split per node give, for multi-key commands whose keys span slots, the reply
// one Redis gives for the same command on the same data (issue 15's "split and merged").
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ClusterDiscovery, addressLike } from '../../src/cluster/cluster-discovery.js';
import { keyHashSlot } from '../../src/cluster/key-slot.js';
import { KeyFanout, fanoutSpecOf } from '../../src/commands/key-fanout.js';
import type { SlotMap } from '../../src/cluster/topology.js';
import { startCluster, type RedisCluster } from '../helpers/cluster.js';
import { startRedis, RawClient, cmd, describeDifference, type RedisServer } from '../helpers/index.js';

let cluster: RedisCluster;
let single: RedisServer;
let discovery: ClusterDiscovery;
let map: SlotMap;
const nodeClients = new Map<number, RawClient>();
let direct: RawClient;

before(async () => {
  [cluster, single] = await Promise.all([startCluster(), startRedis()]);
  const seed = addressLike({ host: '', port: 0, tls: false, username: null, password: null, db: 0, display: '' }, '127.0.0.1', cluster.ports[0]);
  discovery = new ClusterDiscovery({ seeds: [seed], refreshIntervalMs: 0 });
  map = await discovery.start();
  for (const m of map.masters) nodeClients.set(m.port, await RawClient.connect(m.port));
  direct = await RawClient.connect(single.port);
});
after(async () => {
  discovery?.stop();
  for (const c of nodeClients.values()) c.destroy();
  direct?.destroy();
  await cluster?.stop();
  await single?.stop();
});

const latin1 = (s: string) => Buffer.from(s, 'latin1');
// keys over many slots and all three masters; the tagged ones share a slot
const POOL = ['a', 'b', 'c', 'foo', 'bar', '{u1}x', '{u1}y', '\x00\xff', '', 'k'.repeat(100), 'é', '{}z'];

async function one(c: RawClient, request: string): Promise<Buffer> {
  c.write(request);
  return c.readFrame(10_000);
}

/**
 * One group per slot (a node refuses keys of two slots in one command, even when it owns
 * both: CROSSSLOT), each sent to its slot's master; a node's groups go in one write.
 */
async function viaCluster(args: Buffer[]): Promise<Buffer> {
  const fan = new KeyFanout(fanoutSpecOf(args[0].toString('latin1').toLowerCase())!, args, (key) => keyHashSlot(key));
  const byNode = new Map<number, number[]>();
  for (let g = 0; g < fan.groupCount; g++) {
    const port = map.masterOf(fan.groupId(g))!.port;
    byNode.set(port, [...(byNode.get(port) ?? []), g]);
  }
  await Promise.all(
    [...byNode].map(async ([port, groups]) => {
      const c = nodeClients.get(port)!;
      c.write(Buffer.concat(groups.map((g) => fan.request(g))));
      const replies = await c.readFrames(groups.length, 10_000);
      groups.forEach((g, i) => fan.setReply(g, replies[i]));
    }),
  );
  return fan.merge();
}

test('keys spread over the three masters', () => {
  const owners = new Set(POOL.map((k) => map.masterOf(keyHashSlot(latin1(k)))!.id));
  assert.equal(owners.size, 3);
});

test('a node refuses keys of two slots in one command even when it owns both: groups are per slot', async () => {
  const [k1, k2] = ['a', 'b', 'c', 'foo', 'bar'].flatMap((x, i, all) => all.slice(i + 1).map((y) => [x, y])).find(([x, y]) => {
    const [sx, sy] = [keyHashSlot(latin1(x)), keyHashSlot(latin1(y))];
    return sx !== sy && map.masterOf(sx)!.id === map.masterOf(sy)!.id;
  })!;
  const port = map.masterOf(keyHashSlot(latin1(k1)))!.port;
  assert.match((await one(nodeClients.get(port)!, cmd('MGET', k1, k2))).toString('latin1'), /^-CROSSSLOT /);
  assert.equal((await viaCluster([latin1('MGET'), latin1(k1), latin1(k2)])).toString('latin1'), '*2\r\n$-1\r\n$-1\r\n');
});

test('MGET, MSET, DEL, UNLINK, EXISTS and TOUCH split over the masters answer as one Redis does', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.tuple(
          fc.constantFrom('MGET', 'MSET', 'DEL', 'UNLINK', 'EXISTS', 'TOUCH'),
          fc.array(fc.integer({ min: 0, max: POOL.length - 1 }), { minLength: 1, maxLength: 10 }),
          fc.uint8Array({ maxLength: 12 }),
        ),
        { minLength: 1, maxLength: 8 },
      ),
      async (commands) => {
        // from empty, so that a failing case shrinks to a small one
        await Promise.all([direct, ...nodeClients.values()].map((c) => one(c, cmd('FLUSHALL'))));
        for (const [name, keys, value] of commands) {
          const args = [latin1(name)];
          for (const k of keys) {
            args.push(latin1(POOL[k]));
            if (name === 'MSET') args.push(Buffer.from(value));
          }
          const expected = await one(direct, cmd(...args));
          const merged = await viaCluster(args);
          assert.ok(merged.equals(expected), `${name} ${keys.join(',')}: ${describeDifference(expected, merged)}`);
        }
      },
    ),
    { numRuns: 100 },
  );
});
