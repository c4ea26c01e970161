import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { OwnConnection } from '../../src/upstream/own-connection.js';
import { trackingRequest, TRACKING_OFF, NO_TRACKING_NEEDED } from '../../src/backend/invalidation-link.js';
import { parseAddress } from '../../src/config/address.js';
import { FakeRedis, RecordingClient, until, type FakeConn, type TestTracking, stoppedAfterEach } from './fake-redis.js';

// A client's own connection against an in-process fake Redis whose replies the test writes;
// the client is a recorder, so the proxy's own requests (sendInternal) are only recorded
// and their replies handed in by the test, as the session's pending queue would.

const b = (s: string) => Buffer.from(s, 'latin1');
const NOPERM = b("-NOPERM this user has no permissions to run the 'client|tracking' command\r\n");

const stops = stoppedAfterEach();

interface Setup {
  fake: FakeRedis;
  client: RecordingClient;
  own: OwnConnection;
  s: FakeConn;
  tracking: TestTracking;
}

async function setup(tracking: TestTracking | null = { redirectId: 5, generation: 1 }): Promise<Setup> {
  const fake = await FakeRedis.start();
  stops.push(() => fake.stop());
  const client = new RecordingClient();
  const own = new OwnConnection({ addr: fake.addr, tracking }, client);
  stops.push(() => own.close());
  const s = await fake.conn(0);
  return { fake, client, own, s, tracking: tracking as TestTracking };
}

function send(own: OwnConnection, requests: string): boolean {
  const buf = b(requests);
  return own.send([buf], buf.length);
}

/** (read through a call: assert.equal(x.fillOwner, null) would narrow the getter for good) */
const ownerOf = (own: OwnConnection) => own.fillOwner;

/** a first exchange: the connection has been answered */
async function answerOnce({ own, s, client }: Setup): Promise<void> {
  send(own, 'PING\r\n');
  await s.gets('PING\r\n');
  await s.send('+PONG\r\n');
  await until('the first answer', () => client.replies.length >= 1);
}

test('replies reach the client whole and in order, then a flush per read', async () => {
  const { own, s, client } = await setup();
  assert.equal(own.answered, false);
  send(own, 'PING\r\nGET k\r\nLRANGE l 0 -1\r\n');
  await s.gets('LRANGE l 0 -1\r\n');
  await s.send('+PONG\r\n$5\r\nhe');
  await until('the first reply', () => client.replies.length === 1);
  await s.send('llo\r\n*2\r\n:1\r\n:2\r\n');
  await until('all three', () => client.replies.length === 3);
  assert.deepEqual(client.texts, ['+PONG\r\n', '$5\r\nhello\r\n', '*2\r\n:1\r\n:2\r\n']);
  assert.deepEqual(
    client.replies.map((r) => r.inChunk),
    [true, false, true],
    'the one that spanned reads was joined',
  );
  assert.deepEqual(client.flushes, [1, 3]);
  assert.equal(own.answered, true);
  assert.deepEqual(client.lost, []);
  assert.deepEqual(client.faults, []);
});

test('fillGeneration: -1 before the first answer, then CLIENT TRACKING ON REDIRECT through sendInternal', async () => {
  const setupped = await setup();
  const { own, client, tracking } = setupped;
  assert.equal(own.fillGeneration(), -1, 'the first reply may be Redis refusing the connection');
  assert.equal(client.internal.length, 0);
  assert.equal(ownerOf(own), null);
  await answerOnce(setupped);
  assert.equal(own.fillGeneration(), 1);
  assert.equal(client.internal.length, 1);
  assert.deepEqual(client.internal[0].bytes, trackingRequest(5));
  const owner = ownerOf(own);
  assert.ok(owner !== null && owner.alive);
  assert.equal(own.stillTracked(1), true);
  // already tracked for this generation: nothing sent again
  assert.equal(own.fillGeneration(), 1);
  client.internal[0].onReply(b('+OK\r\n'));
  assert.equal(own.fillGeneration(), 1);
  assert.equal(client.internal.length, 1);
  assert.equal(own.fillOwner, owner);
  // the link came back: tracked again for the new generation, the old entries die
  tracking.redirectId = 6;
  tracking.generation = 2;
  assert.equal(own.fillGeneration(), 2);
  assert.equal(client.internal.length, 2);
  assert.deepEqual(client.internal[1].bytes, trackingRequest(6));
  assert.equal(owner.alive, false);
  const renewed = ownerOf(own);
  assert.ok(renewed !== null && renewed !== owner && renewed.alive);
  assert.equal(own.stillTracked(1), false);
  assert.equal(own.stillTracked(2), true);
});

test('NOPERM to its CLIENT TRACKING: no fill until userChanged(); other errors retry at the next fill', async () => {
  const setupped = await setup();
  const { own, client } = setupped;
  await answerOnce(setupped);
  assert.equal(own.fillGeneration(), 1);
  const owner = own.fillOwner!;
  client.internal[0].onReply(NOPERM);
  assert.equal(owner.alive, false);
  assert.equal(own.fillOwner, null);
  assert.equal(own.stillTracked(1), false, 'a GET sent meanwhile does not fill');
  assert.equal(own.fillGeneration(), -1);
  assert.equal(own.fillGeneration(), -1);
  assert.equal(client.internal.length, 1, 'not asked again');
  own.userChanged();
  assert.equal(own.fillGeneration(), 1);
  assert.equal(client.internal.length, 2);
  // NOAUTH (before AUTH): tried again at the next fill
  client.internal[1].onReply(b('-NOAUTH Authentication required.\r\n'));
  assert.equal(own.stillTracked(1), false);
  assert.equal(own.fillGeneration(), 1);
  assert.equal(client.internal.length, 3);
  // an error to the request of an older generation changes nothing
  setupped.tracking.generation = 2;
  assert.equal(own.fillGeneration(), 2);
  client.internal[2].onReply(NOPERM);
  assert.equal(own.stillTracked(2), true);
  assert.equal(own.fillGeneration(), 2);
  assert.equal(client.internal.length, 4);
});

test('pause() kills the FillOwner; what came meanwhile arrives after resume()', async () => {
  const setupped = await setup();
  const { own, client, s } = setupped;
  await answerOnce(setupped);
  assert.equal(own.fillGeneration(), 1);
  const owner = own.fillOwner!;
  own.pause();
  assert.equal(owner.alive, false);
  assert.equal(own.fillOwner, null);
  assert.equal(own.stillTracked(1), false);
  send(own, 'GET k\r\n');
  await s.gets('GET k\r\n');
  await s.send('$1\r\nv\r\n');
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(client.replies.length, 1, 'not read while paused');
  own.resume();
  await until('the reply after resume', () => client.replies.length === 2);
  assert.equal(client.texts[1], '$1\r\nv\r\n');
  assert.equal(own.fillGeneration(), 1, 'tracked again at the next fill');
  assert.equal(client.internal.length, 2);
});

test('yieldTracking: entries die, and with turnOff the proxy switches its tracking off first', async () => {
  const setupped = await setup();
  const { own, client } = setupped;
  own.yieldTracking(true);
  assert.equal(client.internal.length, 0, 'nothing to yield yet');
  await answerOnce(setupped);
  own.fillGeneration();
  const owner = own.fillOwner!;
  own.yieldTracking(true);
  assert.equal(owner.alive, false);
  assert.deepEqual(client.internal[1].bytes, TRACKING_OFF);
  assert.equal(own.stillTracked(1), false);
  own.fillGeneration();
  own.yieldTracking(false);
  assert.equal(client.internal.length, 3, 'no OFF sent without turnOff');
});

test('without tracking to follow, every fill is allowed (NO_TRACKING_NEEDED), nothing sent', async () => {
  const setupped = await setup(null);
  const { own, client } = setupped;
  assert.equal(own.fillGeneration(), NO_TRACKING_NEEDED);
  await answerOnce(setupped);
  assert.equal(own.fillGeneration(), NO_TRACKING_NEEDED);
  assert.equal(own.stillTracked(NO_TRACKING_NEEDED), true);
  assert.equal(client.internal.length, 0);
  assert.equal(own.fillOwner, null);
});

test('relayRaw() passes on bytes that are no RESP; without it they are a fault', async () => {
  const setupped = await setup();
  const { own, client, s } = setupped;
  await answerOnce(setupped);
  own.relayRaw();
  send(own, 'SYNC\r\n');
  await s.gets('SYNC\r\n');
  await s.send(b('+FULLRESYNC x 0\r\n$4\r\nREDIS\u0000\u00ff'));
  await s.send(b('no frames here\n'));
  await until('the raw bytes', () => client.texts.join('').length === '+PONG\r\n+FULLRESYNC x 0\r\n$4\r\nREDIS\u0000\u00ffno frames here\n'.length);
  assert.equal(client.texts.join(''), '+PONG\r\n+FULLRESYNC x 0\r\n$4\r\nREDIS\u0000\u00ffno frames here\n');
  assert.deepEqual(client.faults, []);

  const other = await setup();
  send(other.own, 'GET k\r\n');
  await other.s.gets('GET k\r\n');
  await other.s.send('hello\r\n');
  await until('a fault', () => other.client.faults.length === 1);
  assert.match(other.client.faults[0], /bad reply from Redis/);
  assert.deepEqual(other.client.replies, []);
});

test('a server that closes: onUpstreamLost once, with a reason, and the fill owner dies', async () => {
  const setupped = await setup();
  const { own, client, s } = setupped;
  await answerOnce(setupped);
  own.fillGeneration();
  const owner = own.fillOwner!;
  s.close();
  await until('the loss', () => client.lost.length === 1);
  assert.ok(client.lost[0].length > 0);
  assert.match(client.lost[0], /connection to Redis/);
  assert.equal(owner.alive, false);
  assert.equal(own.stillTracked(1), false);
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(client.lost.length, 1);
});

test('close(): the connection ends, and the client is not told it was lost', async () => {
  const setupped = await setup();
  const { own, client, s } = setupped;
  await answerOnce(setupped);
  own.fillGeneration();
  const owner = own.fillOwner!;
  own.close();
  assert.equal(owner.alive, false);
  await until('the fake to see it close', () => s.ended);
  await new Promise((r) => setTimeout(r, 30));
  assert.deepEqual(client.lost, []);
});

test('a Redis that cannot be reached: onUpstreamLost says so', async () => {
  // a port that was just free
  const port = await new Promise<number>((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(p));
    });
  });
  const client = new RecordingClient();
  const own = new OwnConnection({ addr: parseAddress(`127.0.0.1:${port}`), tracking: null }, client);
  stops.push(() => own.close());
  await until('the loss', () => client.lost.length === 1);
  assert.match(client.lost[0], /unreachable \(ECONNREFUSED\)/);
  assert.equal(own.answered, false);
});
