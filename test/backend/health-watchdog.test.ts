import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HealthWatchdog, UNRESPONSIVE_MS, type WatchedLink } from '../../src/backend/health-watchdog.js';
import { UNRESPONSIVE_MS as FROM_LINK } from '../../src/backend/invalidation-link.js';
import type { BackendAddress } from '../../src/config/config.js';
import { sleep } from '../helpers/index.js';
import { FakeCache, FakeConnection, capturingLogger } from './fakes.js';

// The watchdog against a fake connection that can hold its answers back (a frozen Redis),
// on short intervals.

function fakeLink(): WatchedLink & { up: boolean } {
  return {
    up: true,
    get trouble() {
      return this.up ? null : 'invalidation link to Redis is down';
    },
    addr: { display: '127.0.0.1:6379' } as BackendAddress,
  };
}

function setup() {
  const link = fakeLink();
  const cache = new FakeCache();
  const { log, lines } = capturingLogger();
  const dog = new HealthWatchdog(link, { cache, log, intervalMs: 5, unresponsiveMs: 60 });
  const conn = new FakeConnection(() => 'PONG');
  return { link, cache, lines, dog, conn };
}

test('the default patience is UNRESPONSIVE_MS, still importable from the link', () => {
  assert.equal(FROM_LINK, UNRESPONSIVE_MS);
  assert.equal(UNRESPONSIVE_MS, 3000);
});

test('PINGs answered in time: healthy, and the cache is left alone', async () => {
  const s = setup();
  s.dog.attach(s.conn);
  s.dog.up();
  await s.conn.sends(5);
  assert.equal(s.conn.count('PING'), s.conn.sent.length, 'only PINGs');
  assert.equal(s.dog.healthy, true);
  assert.equal(s.dog.trouble, null);
  assert.deepEqual(s.cache.ready, []);
  s.dog.detach();
});

test('a PING unanswered past its patience: unhealthy and the cache not ready; its answer at last: both back', async () => {
  const s = setup();
  s.dog.attach(s.conn);
  s.dog.up();
  await s.conn.sends(2);
  s.conn.hold = true;
  await s.cache.changed();
  assert.deepEqual(s.cache.ready, [false]);
  assert.equal(s.dog.unresponsive, true);
  assert.equal(s.dog.healthy, false);
  assert.match(s.dog.trouble ?? '', /has not answered the link's PING for over 0.06 s/);
  const asked = s.conn.sent.length;
  await sleep(30);
  assert.equal(s.conn.sent.length, asked, 'one PING at a time: none while one is unanswered');
  s.conn.release();
  await s.cache.changed();
  assert.deepEqual(s.cache.ready, [false, true]);
  assert.equal(s.dog.healthy, true);
  await s.conn.sends(asked + 2);
  assert.deepEqual(
    s.lines.map((l) => l.msg),
    ['Redis stopped answering the invalidation link: cache emptied and bypassed until it answers', 'Redis answers the invalidation link again'],
  );
  s.dog.detach();
});

test('no PING before the link is up nor after detach; a lost connection forgets unresponsiveness', async () => {
  const s = setup();
  s.dog.attach(s.conn);
  await sleep(30);
  assert.equal(s.conn.sent.length, 0);
  s.dog.up();
  await s.conn.sends(1);
  s.conn.hold = true;
  await s.cache.changed();
  assert.equal(s.dog.unresponsive, true);
  s.link.up = false;
  s.dog.detach();
  s.conn.close();
  assert.equal(s.dog.unresponsive, false);
  assert.equal(s.dog.trouble, 'invalidation link to Redis is down', "the link's own trouble");
  const sent = s.conn.sent.length;
  await sleep(100);
  assert.equal(s.conn.sent.length, sent);
  assert.deepEqual(s.cache.ready, [false], 'the link, not the watchdog, says when the cache may serve again');
});

test('without a cache it only judges reachability', async () => {
  const { log, lines } = capturingLogger();
  const dog = new HealthWatchdog(fakeLink(), { cache: null, log, intervalMs: 5, unresponsiveMs: 30 });
  const conn = new FakeConnection(() => 'PONG');
  conn.hold = true;
  dog.attach(conn);
  dog.up();
  await conn.sends(1);
  for (let i = 0; i < 250 && dog.healthy; i++) await sleep(20);
  assert.equal(dog.healthy, false);
  assert.deepEqual(lines.map((l) => l.msg), ['Redis stopped answering']);
  dog.detach();
});
