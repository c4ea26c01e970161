// ClusterUpstream with fakes at its edges: a fake routing (slots of two nodes), fake node
// upstreams that record what they were sent, and a fake client session that records what it
// was handed. Replies are fed by hand, in whatever order the test says the nodes answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterReply } from '../../src/cluster/redirect.js';
import { keyHashSlot } from '../../src/cluster/key-slot.js';
import { NODE_A, NODE_B, fakeAddr, fakeCluster } from './fake-node.js';
import { cmd } from '../helpers/index.js';

const addr = fakeAddr;
const A = NODE_A;
const B = NODE_B;
const C = addr(7002);


/** Keys by the node that owns their slot: slots below 8192 on A, the rest on B. */
function keyOn(node: 'A' | 'B', n = 0): string {
  for (let i = 0, found = 0; ; i++) {
    const k = `key${i}`;
    if (keyHashSlot(Buffer.from(k)) < 8192 === (node === 'A') && found++ === n) return k;
  }
}

function setup() {
  const redirects: ClusterReply[] = [];
  return { ...fakeCluster({ shared: true, redirected: (kind) => void redirects.push(kind) }), redirects };
}

test('replies reach the client in request order, whichever node answers first', () => {
  const t = setup();
  const a = keyOn('A');
  const b = keyOn('B');
  t.send(['GET', a], ['GET', b], ['PING']);
  assert.equal(t.node(A).sent, cmd('GET', a) + cmd('PING'));
  assert.equal(t.node(B).sent, cmd('GET', b));
  t.node(B).answer('$2\r\nvb\r\n');
  assert.deepEqual(t.got, []); // waits for A's
  t.node(A).answer('$2\r\nva\r\n', '+PONG\r\n');
  assert.deepEqual(t.got, ['$2\r\nva\r\n', '$2\r\nvb\r\n', '+PONG\r\n']);
});

test('MOVED sends the same bytes to the named node; the client never sees it', () => {
  const t = setup();
  const a = keyOn('A');
  t.send(['SET', a, 'v'], ['GET', a]);
  t.node(A).answer(`-MOVED ${keyHashSlot(Buffer.from(a))} 127.0.0.1:7002\r\n`, `-MOVED ${keyHashSlot(Buffer.from(a))} 127.0.0.1:7002\r\n`);
  assert.equal(t.node(C).sent, cmd('SET', a, 'v') + cmd('GET', a));
  assert.deepEqual(t.got, []);
  t.node(C).answer('+OK\r\n', '$1\r\nv\r\n');
  assert.deepEqual(t.got, ['+OK\r\n', '$1\r\nv\r\n']);
  assert.deepEqual(t.redirects, [ClusterReply.Moved, ClusterReply.Moved]);
});

test('ASK sends ASKING and the command to the named node; ASKING\'s +OK is swallowed', () => {
  const t = setup();
  const a = keyOn('A');
  t.send(['GET', a]);
  t.node(A).answer(`-ASK ${keyHashSlot(Buffer.from(a))} 127.0.0.1:7001\r\n`);
  assert.equal(t.node(B).sent, '*1\r\n$6\r\nASKING\r\n' + cmd('GET', a));
  t.node(B).answer('+OK\r\n', '$1\r\nx\r\n');
  assert.deepEqual(t.got, ['$1\r\nx\r\n']);
});

test('MGET over two nodes is split per slot and merged in request order', () => {
  const t = setup();
  const a0 = keyOn('A', 0);
  const b0 = keyOn('B', 0);
  const a1 = keyOn('A', 1);
  t.send(['MGET', a0, b0, a1]);
  assert.equal(t.node(A).sent, cmd('MGET', a0) + cmd('MGET', a1));
  assert.equal(t.node(B).sent, cmd('MGET', b0));
  t.node(B).answer('*1\r\n$1\r\nB\r\n');
  t.node(A).answer('*1\r\n$1\r\nA\r\n', '*1\r\n$-1\r\n');
  assert.deepEqual(t.got, ['*3\r\n$1\r\nA\r\n$1\r\nB\r\n$-1\r\n']);
});

test('DEL over two nodes sums the counts; DBSIZE goes to every master and sums', () => {
  const t = setup();
  t.send(['DEL', keyOn('A'), keyOn('B')], ['DBSIZE']);
  t.node(A).answer(':1\r\n', ':10\r\n');
  t.node(B).answer(':1\r\n', ':5\r\n');
  assert.deepEqual(t.got, [':2\r\n', ':15\r\n']);
});

test('a lost node that owed replies loses the client; one that owed nothing is opened again', () => {
  const t = setup();
  const b = keyOn('B');
  t.send(['GET', b]);
  t.node(B).answer('$1\r\nx\r\n');
  t.node(B).client.onUpstreamLost('gone');
  assert.equal(t.lost(), '');
  t.send(['GET', b]);
  const again = t.node(B);
  assert.equal(again.sent, cmd('GET', b));
  again.client.onUpstreamLost('gone again');
  assert.match(t.lost(), /gone again/);
});
