import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { SlotMap, TopologyError, formatRanges, type ClusterNode } from '../../src/cluster/topology.js';
import { diffSlotMaps, isNoChange } from '../../src/cluster/topology-change.js';
import { decodeReply, RedisErrorReply, type RespValue } from '../../src/resp/reply-value.js';
import { startCluster, type RedisCluster, type ClusterNodeView } from '../helpers/cluster.js';
import { RawClient } from '../helpers/raw-client.js';

let cluster: RedisCluster;
before(async () => {
  cluster = await startCluster();
});
after(async () => {
  await cluster?.stop();
});

/** The replies of one node to `commands`, decoded, after HELLO <protocol>. */
async function replies(port: number, protocol: 2 | 3, ...commands: string[]): Promise<RespValue[]> {
  const c = await RawClient.connect(port);
  try {
    c.write(`HELLO ${protocol}\r\n` + commands.map((x) => `${x}\r\n`).join(''));
    const frames = await c.readFrames(commands.length + 1);
    return frames.slice(1).map((f) => decodeReply(f, 0)!.value);
  } finally {
    c.destroy();
  }
}

/** What the map says, in the shape of the helper's CLUSTER NODES view, for comparing. */
function asView(map: SlotMap) {
  return map.nodes
    .map((n) => ({ id: n.id, port: n.port, role: n.role, masterId: n.masterId, slots: n.slots.map((r) => [r.start, r.end]) }))
    .sort((a, b) => (a.id < b.id ? -1 : 1));
}

function expectedView(view: ClusterNodeView[]) {
  return view.map((n) => ({ id: n.id, port: n.port, role: n.role, masterId: n.masterId, slots: n.slots }));
}

test('CLUSTER SHARDS and CLUSTER SLOTS of a real cluster give the map CLUSTER NODES describes, in RESP2 and RESP3', async () => {
  const view = await cluster.waitStable();
  for (const protocol of [2, 3] as const) {
    const [shards, slots] = await replies(cluster.ports[1], protocol, 'CLUSTER SHARDS', 'CLUSTER SLOTS');
    const fromShards = SlotMap.fromShards(shards, '127.0.0.1');
    assert.deepEqual(asView(fromShards), expectedView(view));
    assert.equal(fromShards.coveredSlots, 16384);
    for (const n of fromShards.nodes) assert.equal(n.host, '127.0.0.1');
    // CLUSTER SLOTS leaves out replicas that have no data yet: compare the masters
    const fromSlots = SlotMap.fromSlots(slots, '127.0.0.1');
    assert.deepEqual(asView(fromSlots).filter((n) => n.role === 'master'), expectedView(view).filter((n) => n.role === 'master'));
    for (let s = 0; s < 16384; s += 97) assert.equal(fromSlots.masterOf(s)?.id, fromShards.masterOf(s)?.id);
  }
});

test("the owner the map gives a key's slot accepts writes of it, and other masters redirect there", async () => {
  const [shards] = await replies(cluster.ports[0], 2, 'CLUSTER SHARDS');
  const map = SlotMap.fromShards(shards, '127.0.0.1');
  for (const key of ['a', 'b', 'foo', '{user1}x', 'zzz']) {
    const slot = (await cluster.call(cluster.ports[0], 'CLUSTER', 'KEYSLOT', key)) as number;
    const owner = map.masterOf(slot)!;
    assert.equal(await cluster.call(owner.port, 'SET', key, '1'), 'OK');
    const other = map.masters.find((m) => m.id !== owner.id)!;
    const moved = await cluster.call(other.port, 'GET', key);
    assert.ok(moved instanceof Error && moved.message === `MOVED ${slot} 127.0.0.1:${owner.port}`);
  }
});

test('a slot moved between masters is the one moved slot in the difference of two maps', async () => {
  const [before] = await replies(cluster.ports[0], 2, 'CLUSTER SHARDS');
  const m1 = SlotMap.fromShards(before, '127.0.0.1');
  const from = m1.masterOf(777)!;
  const to = m1.masters.find((m) => m.id !== from.id)!;
  await cluster.moveSlot(777, to.port);
  const [afterReply] = await replies(cluster.ports[0], 3, 'CLUSTER SHARDS');
  const m2 = SlotMap.fromShards(afterReply, '127.0.0.1');
  assert.equal(m2.masterOf(777)?.id, to.id);
  const change = diffSlotMaps(m1, m2);
  assert.deepEqual(change.movedSlots, [{ start: 777, end: 777 }]);
  assert.deepEqual([change.added, change.removed, change.promoted, change.demoted], [[], [], [], []]);
  assert.match(formatRanges(m2.node(from.id)!.slots), /-776,778-/);
  assert.ok(isNoChange(diffSlotMaps(m2, m2)));
});

// --- hand-made replies for what a healthy local cluster does not show ---

const node = (id: string, port: number, role: string, extra: RespValue[] = []): RespValue[] => [
  'id', id, 'port', port, 'ip', '10.0.0.1', 'endpoint', '10.0.0.1', 'role', role, 'replication-offset', 0, 'health', 'online', ...extra,
];
const withField = (n: RespValue[], name: string, value: RespValue): RespValue[] => {
  const out = [...n];
  const i = out.indexOf(name);
  out[i + 1] = value;
  return out;
};

test('a shard listing a failed old master beside the promoted one gives the slots to the one that is not failed', () => {
  const map = SlotMap.fromShards(
    [
      ['slots', [0, 16383], 'nodes', [withField(node('old', 1, 'master'), 'health', 'fail'), node('new', 2, 'master'), node('r', 3, 'replica')]],
    ],
    'h',
  );
  assert.equal(map.masterOf(0)?.id, 'new');
  assert.equal(map.node('old')?.slots.length, 0);
  assert.equal(map.node('old')?.health, 'failed');
  assert.equal(map.node('r')?.masterId, 'new');
});

test('a master with no slots, and slots nobody owns', () => {
  const map = SlotMap.fromShards(
    [
      ['slots', [0, 99, 200, 299], 'nodes', [node('a', 1, 'master')]],
      ['slots', [], 'nodes', [node('b', 2, 'master')]],
    ],
    'h',
  );
  assert.equal(map.coveredSlots, 200);
  assert.equal(map.masterOf(100), undefined);
  assert.equal(map.masterOf(250)?.id, 'a');
  assert.deepEqual(map.nodes.map((n) => n.id), ['a', 'b'], 'the slotless master comes last');
  assert.deepEqual(map.describe(), [
    { id: 'a', addr: '10.0.0.1:1', role: 'master', health: 'online', slots: '0-99,200-299' },
    { id: 'b', addr: '10.0.0.1:2', role: 'master', health: 'online', slots: '' },
  ]);
});

test('an unknown endpoint (?) falls back to the ip; an empty one means the host that was asked', () => {
  const map = SlotMap.fromShards(
    [
      ['slots', [0, 1], 'nodes', [withField(node('a', 1, 'master'), 'endpoint', '?')]],
      ['slots', [2, 3], 'nodes', [withField(withField(node('b', 2, 'master'), 'endpoint', ''), 'ip', '')]],
      ['slots', [4, 5], 'nodes', [withField(withField(node('c', 3, 'master'), 'endpoint', '?'), 'ip', '?')]],
    ],
    'asked.example',
  );
  assert.deepEqual(map.nodes.map((n) => n.host), ['10.0.0.1', 'asked.example', '?']);
  const slots = SlotMap.fromSlots([[0, 16383, [null, 6379, 'x'], ['', 6380, 'y'], ['?', 6381, 'z', ['ip', '10.1.1.1']]]], 'asked.example');
  assert.deepEqual(slots.nodes.map((n) => [n.id, n.host, n.port, n.role]), [
    ['x', 'asked.example', 6379, 'master'],
    ['y', 'asked.example', 6380, 'replica'],
    ['z', '10.1.1.1', 6381, 'replica'],
  ]);
});

test('a TLS port is kept beside the plain one', () => {
  const map = SlotMap.fromShards([['slots', [0, 16383], 'nodes', [[...node('a', 0, 'master'), 'tls-port', 7000]]]], 'h');
  assert.equal(map.node('a')?.tlsPort, 7000);
  assert.equal(map.describe()[0].addr, '10.0.0.1:7000');
});

test('CLUSTER SLOTS: the ranges of one master are merged, its replicas listed once, ids missing on old servers', () => {
  const map = SlotMap.fromSlots(
    [
      [0, 10, ['h', 1, 'm1'], ['h', 2, 'r1']],
      [11, 20, ['h', 1, 'm1'], ['h', 2, 'r1']],
      [21, 16383, ['h', 3, 'm2']],
    ],
    'h',
  );
  assert.deepEqual(map.node('m1')?.slots, [{ start: 0, end: 20 }]);
  assert.equal(map.nodes.length, 3);
  const old = SlotMap.fromSlots([[0, 16383, ['h', 1], ['h', 2]]], 'h');
  assert.deepEqual(old.nodes.map((n: ClusterNode) => [n.id, n.masterId]), [['h:1', null], ['h:2', 'h:1']]);
});

test('replies that are not topologies are refused with a TopologyError', () => {
  assert.throws(() => SlotMap.fromShards(new RedisErrorReply('ERR unknown subcommand'), 'h'), TopologyError);
  assert.throws(() => SlotMap.fromSlots('OK', 'h'), TopologyError);
  assert.throws(() => SlotMap.fromSlots([[5, 2, ['h', 1, 'a']]], 'h'), /bad slot range/);
  assert.throws(() => SlotMap.fromSlots([[0, 16384, ['h', 1, 'a']]], 'h'), /bad slot range/);
  assert.throws(() => SlotMap.fromShards([['slots', [0, 1], 'nodes', [['port', 1]]]], 'h'), /node id missing/);
});

test('the difference of two maps names promoted, demoted, added, removed, readdressed and failed nodes', () => {
  const before = SlotMap.fromShards(
    [
      ['slots', [0, 8191], 'nodes', [node('a', 1, 'master'), node('ra', 2, 'replica')]],
      ['slots', [8192, 16383], 'nodes', [node('b', 3, 'master'), node('rb', 4, 'replica')]],
    ],
    'h',
  );
  const after = SlotMap.fromShards(
    [
      ['slots', [0, 8191], 'nodes', [node('ra', 2, 'master'), withField(node('a', 1, 'replica'), 'health', 'fail')]],
      ['slots', [8192, 16383], 'nodes', [node('b', 5, 'master'), node('c', 6, 'replica')]],
    ],
    'h',
  );
  const c = diffSlotMaps(before, after);
  assert.deepEqual(c.movedSlots, [{ start: 0, end: 8191 }]);
  const ids = (l: readonly ClusterNode[]) => l.map((n) => n.id);
  assert.deepEqual(ids(c.promoted), ['ra']);
  assert.deepEqual(ids(c.demoted), ['a']);
  assert.deepEqual(ids(c.added), ['c']);
  assert.deepEqual(ids(c.removed), ['rb']);
  assert.deepEqual(ids(c.readdressed), ['b']);
  assert.deepEqual(ids(c.failed), ['a']);
  const first = diffSlotMaps(null, before);
  assert.deepEqual(first.movedSlots, [{ start: 0, end: 16383 }]);
  assert.equal(first.added.length, 4);
});
