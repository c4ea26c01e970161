// UserLaneSeat on its own: a stand-in for the node's user pools that answers when the test
// says, a recording lane, and an in-process fake node for the connection of the client's own
// it falls back to. What the lane sent before its seat was known goes there, in order; a
// refusal gives a connection of its own whose first reply (the AUTH's) the lane never sees.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BackendAddress } from '../../src/config/config.js';
import type { ClusterUserPools } from '../../src/cluster/cluster-user-pools.js';
import { UserLaneSeat } from '../../src/cluster/user-lane-seat.js';
import { userLogin, type UserLogin } from '../../src/cluster/user-login.js';
import type { Upstream, UpstreamClient } from '../../src/upstream/upstream.js';
import { cmd } from '../helpers/resp.js';
import { FakeRedis, RecordingClient, stoppedAfterEach } from '../upstream/fake-redis.js';

const stops = stoppedAfterEach();
const login = userLogin('app', Buffer.from('pw'));

/** The node's pools, answering seat() when the test calls answer(). */
function pools(): { pools: ClusterUserPools; answer: (seat: Upstream | null) => void; asked: UserLogin[] } {
  let then: ((seat: Upstream | null) => void) | null = null;
  const asked: UserLogin[] = [];
  const p = {
    seat(_addr: BackendAddress, l: UserLogin, _client: UpstreamClient, t: (seat: Upstream | null) => void) {
      asked.push(l);
      then = t;
    },
  };
  return { pools: p as unknown as ClusterUserPools, answer: (seat) => (then as (s: Upstream | null) => void)(seat), asked };
}

/** A seat that records what it is sent. */
function recordingSeat(): Upstream & { sent: { text: string; replies: number }[]; closedYet: boolean } {
  const s = {
    shared: true,
    sent: [] as { text: string; replies: number }[],
    closedYet: false,
    send(parts: Buffer[], _bytes: number, replies: number) {
      s.sent.push({ text: Buffer.concat(parts).toString('latin1'), replies });
      return true;
    },
    close() {
      s.closedYet = true;
    },
    fillGeneration: () => 42,
  };
  return s as unknown as Upstream & { sent: { text: string; replies: number }[]; closedYet: boolean };
}

const addr = { host: '127.0.0.1', port: 1 } as BackendAddress;

function send(up: Upstream, request: string): boolean {
  const b = Buffer.from(request, 'latin1');
  return up.send([b], b.length, 1);
}

test("what the lane sends before its node's answer waits, then goes to the seat in order; then straight on", () => {
  const { pools: p, answer, asked } = pools();
  const lane = new RecordingClient();
  const up = new UserLaneSeat(p, addr, undefined, login, lane);
  assert.equal(asked[0], login);
  assert.equal(up.seatUser, 'app');
  assert.equal(up.fillGeneration('k'), -1, 'nothing fills before there is a seat');
  assert.equal(send(up, cmd('GET', 'a')), true);
  assert.equal(send(up, cmd('GET', 'b')), true);
  const seat = recordingSeat();
  answer(seat);
  assert.deepEqual(seat.sent, [{ text: cmd('GET', 'a') + cmd('GET', 'b'), replies: 2 }]);
  send(up, cmd('GET', 'c'));
  assert.deepEqual(seat.sent[1], { text: cmd('GET', 'c'), replies: 1 });
  assert.equal(up.fillGeneration('k'), 42, "the seat's tracking from then on");
  assert.equal(up.shared, true);
});

test('a lane closed before its answer: the seat that comes is left at once', () => {
  const { pools: p, answer } = pools();
  const up = new UserLaneSeat(p, addr, undefined, login, new RecordingClient());
  up.close();
  const seat = recordingSeat();
  answer(seat);
  assert.equal(seat.closedYet, true);
  assert.deepEqual(seat.sent, []);
});

test("refused: a connection of the client's own, the AUTH first; its reply is swallowed, the rest reach the lane", async () => {
  const fake = await FakeRedis.start();
  stops.push(() => fake.stop());
  const { pools: p, answer } = pools();
  const lane = new RecordingClient();
  const up = new UserLaneSeat(p, fake.addr, undefined, login, lane);
  stops.push(() => up.close());
  send(up, cmd('GET', 'a'));
  answer(null);
  assert.equal(up.shared, false);
  const node = await fake.conn(0);
  await node.gets(cmd('GET', 'a'));
  assert.equal(node.text, cmd('AUTH', 'app', 'pw') + cmd('GET', 'a'));
  await node.send('-WRONGPASS invalid username-password pair or user is disabled.\r\n-NOAUTH Authentication required.\r\n');
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(lane.texts, ['-NOAUTH Authentication required.\r\n']);
  assert.equal(up.fillGeneration('a'), -1, 'nothing fills through it');
});
