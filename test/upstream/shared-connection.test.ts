import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cmd } from '../helpers/resp.js';
import { pino } from 'pino';
import { SharedPool } from '../../src/upstream/shared-pool.js';
import type { SharedConnection, SharedSeat } from '../../src/upstream/shared-connection.js';
import { NO_TRACKING_NEEDED } from '../../src/backend/invalidation-link.js';
import { FakeRedis, RecordingClient, until, type FakeConn, type TestTracking, stoppedAfterEach } from './fake-redis.js';

// A SharedPool of one connection against an in-process fake Redis whose replies the test
// writes: pairing by position, flushes, seats that leave, the connection's own CLIENT
// TRACKING, and what its loss does.

const log = pino({ level: 'silent' });
const b = (s: string) => Buffer.from(s, 'latin1');

const stops = stoppedAfterEach();

interface Setup {
  fake: FakeRedis;
  pool: SharedPool;
  conn: SharedConnection;
}

/** A pool of one shared connection, up (the fake answers the sharing probe's PING). */
async function setup(tracking: TestTracking | null = null): Promise<Setup> {
  const fake = await FakeRedis.start({ answerProbes: true });
  stops.push(() => fake.stop());
  const pool = new SharedPool(fake.addr, undefined, 1, log);
  pool.tracking = tracking;
  pool.start();
  stops.push(() => pool.stop());
  await until('the pool to offer a connection', () => pool.probe.open && pool.connectionsUp === 1);
  const conn = pool.pick();
  assert.ok(conn !== null);
  return { fake, pool, conn };
}

/** the fake's end of the shared connection (not a probe's), once it was sent `first` */
function server(fake: FakeRedis, first: string): Promise<FakeConn> {
  return fake.find(`the shared connection to send ${JSON.stringify(first)}`, (c) => c.text.startsWith(first));
}

function send(seat: SharedSeat, requests: string[]): boolean {
  const parts = requests.map(b);
  return seat.send(parts, parts.reduce((n, p) => n + p.length, 0), requests.length);
}

test("two seats' batches are paired by position (A:2, B:1, A:1), even with replies written byte by byte", async () => {
  const { fake, conn } = await setup();
  const a = new RecordingClient('A');
  const bb = new RecordingClient('B');
  const seatA = conn.seat(a);
  const seatB = conn.seat(bb);
  assert.equal(send(seatA, [cmd('INCR', 'a1'), cmd('INCR', 'a2')]), true);
  send(seatB, [cmd('INCR', 'b1')]);
  send(seatA, [cmd('INCR', 'a3')]);
  const s = await server(fake, cmd('INCR', 'a1'));
  const requests = cmd('INCR', 'a1') + cmd('INCR', 'a2') + cmd('INCR', 'b1') + cmd('INCR', 'a3');
  await s.gets(requests);
  assert.equal(s.text, requests, 'in the order sent, nothing else');
  for (const byte of ':1\r\n$2\r\nv2\r\n-ERR b\r\n:4\r\n') {
    await s.send(byte);
    await new Promise((r) => setImmediate(r));
  }
  await until('all four replies', () => a.replies.length + bb.replies.length === 4);
  assert.deepEqual(a.texts, [':1\r\n', '$2\r\nv2\r\n', ':4\r\n']);
  assert.deepEqual(bb.texts, ['-ERR b\r\n']);
  assert.ok(a.flushes.length >= 1 && a.flushes.at(-1) === 3, 'flushed after its last reply');
  assert.deepEqual(bb.flushes, [1]);
});

test('the replies of one read are flushed once per seat, after all of them are handed over', async () => {
  const { fake, conn } = await setup();
  const a = new RecordingClient('A');
  const bb = new RecordingClient('B');
  const idle = new RecordingClient('idle');
  const seatA = conn.seat(a);
  const seatB = conn.seat(bb);
  conn.seat(idle);
  send(seatA, [cmd('GET', 'x'), cmd('GET', 'y')]);
  send(seatB, [cmd('GET', 'z')]);
  const s = await server(fake, cmd('GET', 'x'));
  await s.gets(cmd('GET', 'z'));
  await s.send(':1\r\n:2\r\n:3\r\n');
  await until('three replies', () => a.replies.length + bb.replies.length === 3);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(a.texts, [':1\r\n', ':2\r\n']);
  assert.deepEqual(a.flushes, [2], 'one flush for both of its replies');
  assert.deepEqual(bb.flushes, [1]);
  assert.deepEqual(idle.flushes, [], 'a seat with no reply in the read is not flushed');
  assert.ok(a.replies.every((r) => r.inChunk));

  // A:1, B:1, A:1 in one read: every flush of a seat comes after all of its replies
  send(seatA, [cmd('GET', 'p')]);
  send(seatB, [cmd('GET', 'q')]);
  send(seatA, [cmd('GET', 'r')]);
  await s.gets(cmd('GET', 'r'));
  await s.send(':4\r\n:5\r\n:6\r\n');
  await until('three more replies', () => a.replies.length + bb.replies.length === 6);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(a.texts.slice(2), [':4\r\n', ':6\r\n']);
  assert.deepEqual(bb.texts.slice(1), [':5\r\n']);
  assert.ok(a.flushes.length >= 2 && a.flushes.slice(1).every((n) => n === 4), `A's flushes ${JSON.stringify(a.flushes)}`);
  assert.deepEqual(bb.flushes, [1, 2]);
});

test('a seat that closed drops its late replies; the others stay paired', async () => {
  const { fake, conn } = await setup();
  const a = new RecordingClient('A');
  const bb = new RecordingClient('B');
  const seatA = conn.seat(a);
  const seatB = conn.seat(bb);
  send(seatA, [cmd('GET', 'a1'), cmd('GET', 'a2')]);
  send(seatB, [cmd('GET', 'b1')]);
  seatA.close();
  assert.equal(seatA.gone, true);
  const s = await server(fake, cmd('GET', 'a1'));
  await s.gets(cmd('GET', 'b1'));
  await s.send('$2\r\nA1\r\n$2\r\nA2\r\n$2\r\nB1\r\n');
  await until("B's reply", () => bb.replies.length === 1);
  assert.deepEqual(bb.texts, ['$2\r\nB1\r\n']);
  assert.deepEqual(a.replies, []);
  assert.deepEqual(a.flushes, []);
  // nor is it told when the connection goes
  s.close();
  await until('B to hear of the loss', () => bb.lost.length === 1);
  assert.deepEqual(a.lost, []);
});

test("the connection's own CLIENT TRACKING goes first and its reply never reaches a seat", async () => {
  const tracking: TestTracking = { redirectId: 42, generation: 1 };
  const { fake, conn } = await setup(tracking);
  const s = await server(fake, cmd('CLIENT', 'TRACKING', 'ON', 'REDIRECT', '42'));
  const a = new RecordingClient('A');
  const seatA = conn.seat(a);
  send(seatA, [cmd('GET', 'k')]);
  await s.gets(cmd('GET', 'k'));
  assert.equal(s.text, cmd('CLIENT', 'TRACKING', 'ON', 'REDIRECT', '42') + cmd('GET', 'k'));
  await s.send('+OK\r\n$1\r\nv\r\n');
  await until("A's reply", () => a.replies.length === 1);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(a.texts, ['$1\r\nv\r\n']);
  assert.equal(conn.fillGeneration(), 1);
});

test('a refused CLIENT TRACKING: its error reaches no seat, and nothing fills through the connection', async () => {
  const tracking: TestTracking = { redirectId: 42, generation: 3 };
  const { fake, conn } = await setup(tracking);
  const s = await server(fake, cmd('CLIENT', 'TRACKING', 'ON', 'REDIRECT', String(tracking.redirectId)));
  const a = new RecordingClient('A');
  const seatA = conn.seat(a);
  assert.equal(seatA.fillGeneration(), 3, 'sent for generation 3: a GET sent now is tracked');
  send(seatA, [cmd('GET', 'k')]);
  await s.gets(cmd('GET', 'k'));
  await s.send("-NOPERM this user has no permissions to run the 'client|tracking' command\r\n$1\r\nv\r\n");
  await until("A's reply", () => a.replies.length === 1);
  assert.deepEqual(a.texts, ['$1\r\nv\r\n']);
  assert.equal(seatA.fillGeneration(), -1);
  assert.equal(seatA.stillTracked(3), false, 'a fill that relied on it is not stored');
});

test("fillGeneration and stillTracked follow the tracking target's generation", async () => {
  const tracking: TestTracking = { redirectId: 7, generation: 1 };
  const { fake, pool, conn } = await setup(tracking);
  const s = await server(fake, cmd('CLIENT', 'TRACKING', 'ON', 'REDIRECT', '7'));
  const seat = conn.seat(new RecordingClient());
  assert.equal(seat.fillGeneration(), 1);
  assert.equal(seat.stillTracked(1), true);
  // the link came back with a new id and generation: not tracked for it until re-pointed
  tracking.redirectId = 8;
  tracking.generation = 2;
  assert.equal(seat.fillGeneration(), -1);
  pool.onTracking();
  await s.gets(cmd('CLIENT', 'TRACKING', 'ON', 'REDIRECT', '8'));
  assert.equal(seat.fillGeneration(), 2);
  assert.equal(seat.stillTracked(2), true);
  assert.equal(seat.stillTracked(1), false, 'a fill sent under the old generation is not stored');
  // re-pointing for the same generation sends nothing
  const before = s.received.length;
  pool.onTracking();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(s.received.length, before);
  // no tracking needed (ttl mode), or the link not tracking
  pool.tracking = null;
  assert.equal(seat.fillGeneration(), NO_TRACKING_NEEDED);
  assert.equal(seat.stillTracked(NO_TRACKING_NEEDED), true);
  pool.tracking = { redirectId: null, generation: 5 };
  assert.equal(seat.fillGeneration(), NO_TRACKING_NEEDED);
});

test('a closed connection tells every member seat, busy or idle, and the pool that tracking is lost', async () => {
  const tracking: TestTracking = { redirectId: 9, generation: 1 };
  const { fake, pool, conn } = await setup(tracking);
  let trackingLost = 0;
  pool.onTrackingLost = () => trackingLost++;
  const s = await server(fake, cmd('CLIENT', 'TRACKING', 'ON', 'REDIRECT', String(tracking.redirectId)));
  const busy = new RecordingClient('busy');
  const idle = new RecordingClient('idle');
  const left = new RecordingClient('left');
  send(conn.seat(busy), [cmd('BLPOP', 'q', '0')]);
  conn.seat(idle);
  conn.seat(left).close();
  await s.gets(cmd('BLPOP', 'q', '0'));
  s.close();
  await until('both members to hear of it', () => busy.lost.length === 1 && idle.lost.length === 1);
  assert.match(busy.lost[0], /lost/);
  assert.deepEqual(left.lost, []);
  assert.equal(trackingLost, 1);
  assert.equal(conn.fillGeneration(), -1, 'not tracked any more');
  assert.equal(conn.stillTracked(1), false);
  // it reconnects and is tracked again, for the link's generation
  await until('a new connection', () => fake.conns.filter((c) => c.text.startsWith(cmd('CLIENT', 'TRACKING', 'ON', 'REDIRECT', '9'))).length === 2);
  await until('up again', () => conn.up);
  assert.equal(conn.fillGeneration(), 1);
});

test('a reply with no request pending closes the connection: its seats are told', async () => {
  const { fake, conn } = await setup();
  const a = new RecordingClient('A');
  const seatA = conn.seat(a);
  send(seatA, [cmd('GET', 'k')]);
  const s = await server(fake, cmd('GET', 'k'));
  await s.send('$1\r\nv\r\n+UNASKED\r\n');
  await until('A to hear of the loss', () => a.lost.length === 1);
  assert.deepEqual(a.texts, ['$1\r\nv\r\n'], 'the paired reply still reached it');
});
