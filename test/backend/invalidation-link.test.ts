import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { InvalidationLink, type LinkPart } from '../../src/backend/invalidation-link.js';
import { ControlConnection, type RespRequester } from '../../src/backend/control-connection.js';
import { parseAddress } from '../../src/config/address.js';
import type { BackendAddress } from '../../src/config/config.js';
import { sleep, startRedis, withTimeout, type RedisServer } from '../helpers/index.js';
import { FakeCache, capturingLogger } from './fakes.js';

// The link against a real redis-server (its whole job is Redis's tracking, which a fake
// would only imitate); the cache and the parts on it are recorders.

let redis: RedisServer;
let addr: BackendAddress;
const links: InvalidationLink[] = [];
const conns: ControlConnection[] = [];

before(async () => {
  redis = await startRedis();
  addr = parseAddress(`127.0.0.1:${redis.port}`);
});
after(async () => {
  for (const l of links) l.stop();
  for (const c of conns) c.close();
  await redis.stop();
});

function newLink(cache: FakeCache | null, coherence: 'tracking' | 'ttl' = 'tracking') {
  const { log, lines } = capturingLogger();
  const link = new InvalidationLink({ addr, cache, coherence, log });
  links.push(link);
  return { link, lines };
}

function waitFor<T extends unknown[]>(link: InvalidationLink, event: 'up' | 'tracking' | 'down', ms = 5000): Promise<T> {
  return withTimeout(once(link, event) as Promise<T>, ms, `link '${event}'`);
}

/** A connection of its own whose reads Redis reports to the link with that id. */
async function redirectedReader(redirectId: number): Promise<ControlConnection> {
  const c = await ControlConnection.open(addr);
  conns.push(c);
  assert.equal(await c.send(['CLIENT', 'TRACKING', 'ON', 'REDIRECT', String(redirectId)]), 'OK');
  return c;
}

async function until(cond: () => boolean, cache: FakeCache, what: string): Promise<void> {
  while (!cond()) await cache.changed(5000).catch(() => assert.fail(what));
}

async function clientLine(id: number): Promise<string> {
  const list = await redis.cli('CLIENT', 'LIST', 'ID', String(id));
  return list.trim();
}

/** Records what the link asks of its parts, in order. */
function recorder(events: string[], name = 'part'): LinkPart {
  return {
    attach: (conn: RespRequester) => {
      events.push(`${name}:attach`);
      assert.ok(conn);
    },
    up: () => void events.push(`${name}:up`),
    detach: () => void events.push(`${name}:detach`),
  };
}

test('up under its own CLIENT ID with tracking on; a key read through a connection redirected to it is dropped from the cache when written', async () => {
  const cache = new FakeCache();
  const { link } = newLink(cache);
  const tracking = waitFor<[number]>(link, 'tracking');
  link.start();
  const [generation] = await tracking;
  assert.equal(link.state, 'up');
  assert.equal(link.up, true);
  assert.equal(generation, link.generation);
  assert.deepEqual(cache.ready, [true]);
  const id = link.redirectId;
  assert.equal(typeof id, 'number');
  const line = await clientLine(id!);
  assert.match(line, /name=redisproxy-invalidation/);
  assert.match(line, /flags=\S*t/, 'tracking on for the link itself');

  const reader = await redirectedReader(id!);
  await reader.send(['GET', 'link:k']);
  await redis.cli('SET', 'link:k', 'v');
  await until(() => cache.invalidated.includes('link:k'), cache, 'invalidation of link:k');
  await redis.cli('FLUSHALL');
  await until(() => cache.emptied > 0, cache, 'FLUSHALL empties the cache');
});

test('a lost connection: down and not ready, then back by itself under a new id and generation; parts detached and attached again', async () => {
  const cache = new FakeCache();
  const events: string[] = [];
  const { link, lines } = newLink(cache);
  link.use(recorder(events, 'a'));
  link.use(recorder(events, 'b'));
  link.on('up', () => events.push('up'));
  link.on('down', () => events.push('down'));
  const first = waitFor(link, 'tracking');
  link.start();
  await first;
  const [gen1, id1] = [link.generation, link.redirectId];
  assert.deepEqual(events, ['a:attach', 'b:attach', 'a:up', 'b:up', 'up']);

  const down = waitFor<[string]>(link, 'down');
  const again = waitFor(link, 'tracking', 10_000);
  await redis.cli('CLIENT', 'KILL', 'ID', String(id1));
  const [reason] = await down;
  assert.match(reason, /closed/);
  await again;
  assert.ok(link.generation > gen1, 'a new generation');
  assert.notEqual(link.redirectId, id1, 'a new id');
  assert.equal(link.connects, 2);
  assert.deepEqual(cache.ready, [true, false, true]);
  assert.deepEqual(events.slice(5), ['a:detach', 'b:detach', 'down', 'a:attach', 'b:attach', 'a:up', 'b:up', 'up']);
  assert.ok(lines.some((l) => /invalidation link lost/.test(l.msg)));
});

test('a part that rejects keeps the link from going up; the connection is retried', async () => {
  const cache = new FakeCache();
  const { link } = newLink(cache);
  let attaches = 0;
  link.use({
    attach: async () => {
      if (++attaches === 1) throw new Error('not yet');
    },
    detach: () => undefined,
  });
  const down = waitFor<[string]>(link, 'down');
  const up = waitFor(link, 'up');
  link.start();
  assert.deepEqual(await down, ['not yet']);
  assert.equal(link.lastError, 'not yet');
  assert.notEqual(link.state, 'up');
  await up;
  assert.equal(attaches, 2);
  assert.equal(link.connects, 1);
  assert.deepEqual(cache.ready, [false, true]);
});

test('stop() is at once: down, not ready, not retried, and what is written afterwards reaches the cache no more', async () => {
  const cache = new FakeCache();
  const events: string[] = [];
  const { link } = newLink(cache);
  link.use(recorder(events));
  const up = waitFor(link, 'tracking');
  link.start();
  await up;
  const reader = await redirectedReader(link.redirectId!);
  await reader.send(['GET', 'stop:k']);
  link.on('down', () => events.push('down'));
  link.stop();
  // all of this before any I/O: a Sentinel switch can start the next link right away
  assert.equal(link.state, 'down');
  assert.equal(link.redirectId, null);
  assert.deepEqual(cache.ready, [true, false]);
  assert.deepEqual(events.slice(-2), ['part:detach', 'down']);
  await redis.cli('SET', 'stop:k', 'v');
  await sleep(300);
  assert.deepEqual(cache.invalidated, []);
  assert.equal(link.connects, 1, 'not reconnected');
  assert.equal(link.state, 'down');
});

test('stopped while still connecting, it never comes up', async () => {
  const cache = new FakeCache();
  const { link } = newLink(cache);
  let ups = 0;
  link.on('up', () => ups++);
  link.start();
  link.stop();
  await sleep(300);
  assert.equal(ups, 0);
  assert.equal(link.state, 'down');
  assert.deepEqual(cache.ready, [false]);
});

test('two links to one Redis: their own ids and generations, and each hears only of keys read through connections redirected to it', async () => {
  const cacheA = new FakeCache();
  const cacheB = new FakeCache();
  const a = newLink(cacheA).link;
  const b = newLink(cacheB).link;
  const ups = [waitFor(a, 'tracking'), waitFor(b, 'tracking')];
  a.start();
  b.start();
  await Promise.all(ups);
  assert.notEqual(a.redirectId, b.redirectId);
  assert.notEqual(a.generation, b.generation, 'no connection tracked for one can pass for tracked by the other');
  const readerA = await redirectedReader(a.redirectId!);
  const readerB = await redirectedReader(b.redirectId!);
  await readerA.send(['GET', 'two:a']);
  await readerB.send(['GET', 'two:b']);
  await redis.cli('MSET', 'two:a', '1', 'two:b', '2');
  await until(() => cacheA.invalidated.includes('two:a'), cacheA, 'A hears of two:a');
  await until(() => cacheB.invalidated.includes('two:b'), cacheB, 'B hears of two:b');
  await sleep(100);
  assert.deepEqual(cacheA.invalidated, ['two:a']);
  assert.deepEqual(cacheB.invalidated, ['two:b']);
});

test('without a cache it tracks nothing and only says Redis is reachable; with ttl coherence it is up as ttl-only', async () => {
  const { link, lines } = newLink(null);
  let tracked = false;
  link.on('tracking', () => (tracked = true));
  const up = waitFor(link, 'up');
  link.start();
  await up;
  assert.equal(link.state, 'up');
  assert.equal(link.redirectId, null);
  assert.equal(tracked, false);
  assert.ok(lines.some((l) => l.msg === 'Redis is reachable'));
  const list = await redis.cli('CLIENT', 'LIST');
  const health = list.split('\n').find((l) => l.includes('name=redisproxy-health'));
  assert.ok(health, 'named for what it does');
  assert.doesNotMatch(health, /flags=\S*t/);

  const cache = new FakeCache();
  const ttl = newLink(cache, 'ttl').link;
  const ttlUp = waitFor(ttl, 'up');
  ttl.start();
  await ttlUp;
  assert.equal(ttl.state, 'ttl-only');
  assert.equal(ttl.up, true);
  assert.equal(ttl.redirectId, null);
  assert.deepEqual(cache.ready, [true]);
});
