// A subscriber's lanes in ClusterUpstream (subscriptions.ts, resubscriber.ts) with fakes at
// the edges: fake nodes that record what they were sent and answer by hand, in whatever
// order the test says; a routing whose slot map the test changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BackendAddress } from '../../src/config/config.js';
import { keyHashSlot } from '../../src/cluster/key-slot.js';
import { NODE_A, NODE_B, fakeAddr, fakeCluster } from './fake-node.js';
import { cmd, sleep } from '../helpers/index.js';

const addr = fakeAddr;
const A = NODE_A;
const B = NODE_B;
const C = addr(7002);


/** A name whose slot is below 8192 (A's) or not (B's, until the test moves it). */
function nameOn(node: 'A' | 'B', prefix: string): string {
  for (let i = 0; ; i++) if (keyHashSlot(Buffer.from(`${prefix}${i}`)) < 8192 === (node === 'A')) return `${prefix}${i}`;
}

const bulk = (s: string): string => `$${s.length}\r\n${s}\r\n`;
const conf = (kind: string, ch: string, n: number): string => `*3\r\n${bulk(kind)}${bulk(ch)}:${n}\r\n`;
const smessage = (ch: string, msg: string): string => `*3\r\n${bulk('smessage')}${bulk(ch)}${bulk(msg)}`;

function setup() {
  /** slots moved away from their first owner */
  const moved = new Map<number, BackendAddress>();
  return { ...fakeCluster({ shared: false, addrOfSlot: (slot) => moved.get(slot) }), moved };
}

test('shard channels on two nodes: the counts are the one connection\'s, in the client\'s order, whichever node answers first', () => {
  const t = setup();
  const a = nameOn('A', 'a');
  const b = nameOn('B', 'b');
  t.send(['SSUBSCRIBE', a], ['SSUBSCRIBE', b]);
  assert.equal(t.node(A).sent, cmd('SSUBSCRIBE', a));
  assert.equal(t.node(B).sent, cmd('SSUBSCRIBE', b));
  t.node(B).answer(conf('ssubscribe', b, 1));
  assert.deepEqual(t.got, []);
  t.node(A).answer(conf('ssubscribe', a, 1));
  assert.deepEqual(t.got, [conf('ssubscribe', a, 1), conf('ssubscribe', b, 2)]);
  // SUNSUBSCRIBE alone: each node its own, counted down across both to 0
  t.got.length = 0;
  t.send(['SUNSUBSCRIBE']);
  t.node(B).answer(conf('sunsubscribe', b, 0));
  t.node(A).answer(conf('sunsubscribe', a, 0));
  assert.equal(t.node(A).sent, cmd('SSUBSCRIBE', a) + cmd('SUNSUBSCRIBE'));
  assert.equal(t.node(B).sent, cmd('SSUBSCRIBE', b) + cmd('SUNSUBSCRIBE'));
  // (in no particular order of channels, as one Redis; the counts go down in the order sent)
  const [first, second] = t.got;
  assert.ok(
    (first === conf('sunsubscribe', a, 1) && second === conf('sunsubscribe', b, 0)) || (first === conf('sunsubscribe', b, 1) && second === conf('sunsubscribe', a, 0)),
    JSON.stringify(t.got),
  );
});

test('a message waits behind its channel\'s confirmation while an earlier reply is owed', () => {
  const t = setup();
  const k = nameOn('A', 'k');
  const b = nameOn('B', 'b');
  t.send(['GET', k], ['SSUBSCRIBE', b]);
  t.node(B).answer(conf('ssubscribe', b, 1), smessage(b, 'early'));
  assert.deepEqual(t.got, []);
  t.node(A).answer('$1\r\nv\r\n');
  assert.deepEqual(t.got, ['$1\r\nv\r\n', conf('ssubscribe', b, 1), smessage(b, 'early')]);
});

test('RESP2 and subscribed: a keyed command is refused as by one Redis (not sent: a node would say MOVED)', async () => {
  const t = setup();
  const b = nameOn('B', 'b');
  const k = nameOn('A', 'k');
  t.send(['SSUBSCRIBE', b]);
  t.node(B).answer(conf('ssubscribe', b, 1));
  t.send(['GET', k], ['PING']);
  assert.equal(t.node(B).sent, cmd('SSUBSCRIBE', b) + cmd('PING'));
  assert.equal(t.node(A), undefined);
  t.node(B).answer('*2\r\n$4\r\npong\r\n$0\r\n\r\n');
  await sleep(1);
  assert.deepEqual(t.got.slice(1), [
    "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n",
    '*2\r\n$4\r\npong\r\n$0\r\n\r\n',
  ]);
});

test('a node\'s sunsubscribe (its slot moved) is swallowed; the channel is subscribed on the new owner, its confirmation swallowed too', async () => {
  const t = setup();
  const b = nameOn('B', 'b');
  t.send(['SSUBSCRIBE', b]);
  t.node(B).answer(conf('ssubscribe', b, 1));
  t.moved.set(keyHashSlot(Buffer.from(b)), C);
  t.node(B).answer(conf('sunsubscribe', b, 0));
  await sleep(20);
  assert.equal(t.node(C).sent, cmd('SSUBSCRIBE', b));
  t.node(C).answer(conf('ssubscribe', b, 1), smessage(b, 'after'));
  assert.deepEqual(t.got, [conf('ssubscribe', b, 1), smessage(b, 'after')]);
  // the count stays the client's: a second channel makes 2
  const b2 = nameOn('B', 'bb');
  t.send(['SSUBSCRIBE', b2]);
  t.node(B).answer(conf('ssubscribe', b2, 1));
  assert.equal(t.got.at(-1), conf('ssubscribe', b2, 2));
  assert.equal(t.lost(), '');
  t.up.close();
});

test('a lost node\'s shard channel waits for the map to name another owner; a MOVED from the one it asks is followed', async () => {
  const t = setup();
  const b = nameOn('B', 'b');
  t.send(['SSUBSCRIBE', b]);
  t.node(B).answer(conf('ssubscribe', b, 1));
  const lostLane = t.node(B);
  lostLane.client.onUpstreamLost('killed');
  assert.equal(t.lost(), '');
  await sleep(300);
  // the map still names the dead node: nothing is sent yet
  assert.equal(t.node(B), lostLane);
  t.moved.set(keyHashSlot(Buffer.from(b)), A);
  await sleep(300);
  assert.equal(t.node(A).sent, cmd('SSUBSCRIBE', b));
  // A is wrong after all: its MOVED names C
  t.node(A).answer(`-MOVED ${keyHashSlot(Buffer.from(b))} 127.0.0.1:7002\r\n`);
  assert.equal(t.node(C).sent, cmd('SSUBSCRIBE', b));
  t.node(C).answer(conf('ssubscribe', b, 1), smessage(b, 'there'));
  assert.deepEqual(t.got, [conf('ssubscribe', b, 1), smessage(b, 'there')]);
  assert.equal(t.lost(), '');
  t.up.close();
});

test('a lost node that held classic and shard subscriptions: the classic ones go to another master at once, unseen', async () => {
  const t = setup();
  const a = nameOn('A', 'a');
  t.send(['SUBSCRIBE', 'plain'], ['PSUBSCRIBE', 'pl*'], ['SSUBSCRIBE', a]);
  t.node(A).answer(conf('subscribe', 'plain', 1), conf('psubscribe', 'pl*', 2), conf('ssubscribe', a, 1));
  assert.equal(t.got.length, 3);
  t.node(A).client.onUpstreamLost('killed');
  await sleep(20);
  // (one command per name: each owes one frame, its confirmation or an error)
  assert.equal(t.node(B).sent, cmd('SUBSCRIBE', 'plain') + cmd('PSUBSCRIBE', 'pl*'));
  t.node(B).answer(conf('subscribe', 'plain', 1), conf('psubscribe', 'pl*', 2), `*3\r\n${bulk('message')}${bulk('plain')}${bulk('hi')}`);
  assert.deepEqual(t.got.slice(3), [`*3\r\n${bulk('message')}${bulk('plain')}${bulk('hi')}`]);
  // PING goes to a lane that is subscribed (B now), answered as a subscriber's
  t.send(['PING']);
  assert.equal(t.node(B).sent.endsWith(cmd('PING')), true);
  assert.equal(t.lost(), '');
  t.up.close();
});
