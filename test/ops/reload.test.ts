import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { getFreePort, sleep, startRedis, startAdminProxy, eventually, proxyStats, type RedisServer, type AdminProxy } from '../helpers/index.js';
import { client, scrape, spawnCli } from './ops-helpers.js';

// SIGHUP reads the config file again; live settings change without dropping clients,
// observed through behaviour (expiry, eviction), not through the logs alone.

describe('SIGHUP reload', () => {
  let dir = '';
  let cfg = '';
  let redis: RedisServer;
  let p: AdminProxy;
  let c: Redis;
  let reloads = 0;

  const write = (text: string) => writeFileSync(cfg, text);
  /** SIGHUP, then wait for the reload's outcome in the log (count-based, so each reload is awaited once) */
  const hup = async (outcome: RegExp = /configuration reloaded|reload failed/g) => {
    reloads++;
    process.kill(p.proxy.pid, 'SIGHUP');
    await eventually(`reload #${reloads}`, () => (p.proxy.output().match(outcome) ?? []).length >= reloads, 3000, 10);
  };
  const clientId = async () => Number(await c.client('ID'));

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'redisproxy-reload-'));
    cfg = path.join(dir, 'proxy.yaml');
    const admin = await getFreePort();
    write(`admin-port: ${admin}\nttl: 3600\ncapacity: 10\n`);
    redis = await startRedis();
    p = await startAdminProxy(redis.port, { until: 'readyz', adminPort: admin, args: ['--config', cfg] });
    c = client(p.proxy.port);
    await c.ping();
  });
  after(async () => {
    c.disconnect();
    await p.proxy.stop();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a shorter ttl applies at once: entries filled after it expire, the connected client stays', async () => {
    const id = await clientId();
    await c.set('r:ttl', 'v');
    await c.get('r:ttl');
    assert.equal((await proxyStats(p.admin)).cache.entries, 1);
    write(`admin-port: ${p.admin}\nttl: 0.2\ncapacity: 10\n`);
    await hup();
    assert.equal((await proxyStats(p.admin)).cache.entries, 0, 'entries filled under the longer ttl are dropped');
    assert.equal(await c.get('r:ttl'), 'v'); // fills under the new ttl
    const hits = (await proxyStats(p.admin)).cache.hits;
    assert.equal(await c.get('r:ttl'), 'v');
    assert.equal((await proxyStats(p.admin)).cache.hits, hits + 1, 'served from the cache within the ttl');
    const expirations = (await proxyStats(p.admin)).cache.expirations;
    await sleep(300);
    assert.equal(await c.get('r:ttl'), 'v');
    assert.equal((await proxyStats(p.admin)).cache.expirations, expirations + 1, 'the entry expired after 0.2 s');
    assert.equal(await clientId(), id, 'same connection before and after the reload');
    assert.equal((await scrape(p)).get('redisproxy_cache_ttl_seconds'), 0.2);
  });

  test('a smaller capacity evicts the least recently used entries at once', async () => {
    write(`admin-port: ${p.admin}\nttl: 3600\ncapacity: 10\n`);
    await hup();
    for (let i = 0; i < 6; i++) {
      await c.set(`r:cap${i}`, String(i));
      await c.get(`r:cap${i}`);
    }
    const before = await proxyStats(p.admin);
    assert.ok(before.cache.entries >= 6);
    write(`admin-port: ${p.admin}\nttl: 3600\ncapacity: 2\n`);
    await hup();
    const after = await proxyStats(p.admin);
    assert.equal(after.cache.entries, 2);
    assert.equal(after.cache.evictions - before.cache.evictions, before.cache.entries - 2);
    // the two most recent are still served from the cache
    await c.get('r:cap5');
    await c.get('r:cap4');
    assert.equal((await proxyStats(p.admin)).cache.hits, after.cache.hits + 2);
    assert.equal((await scrape(p)).get('redisproxy_cache_capacity_keys'), 2);
  });

  test('settings that cannot change live are named as needing a restart; the rest still apply', async () => {
    write(`admin-port: ${p.admin}\nadmin-bind: 127.0.0.2\nttl: 3600\ncapacity: 5\ncoherence: ttl\n`);
    await hup();
    await p.proxy.waitForOutput(/changed settings need a restart to take effect: coherence, admin-bind/);
    assert.equal((await scrape(p)).get('redisproxy_cache_capacity_keys'), 5);
    assert.equal(await c.ping(), 'PONG', 'still serving on the old port');
  });

  test('a bad file logs an error and keeps the running configuration', async () => {
    const before = await scrape(p);
    write(`admin-port: ${p.admin}\nttl: -1\ncapacity: 1\n`);
    await hup();
    assert.match(p.proxy.output(), /"reason":"[^"]*proxy\.yaml: ttl: \\"-1\\" is not a number of seconds > 0","msg":"reload failed: keeping the running configuration"/);
    write('capacity: [\n');
    await hup();
    const after = await scrape(p);
    assert.equal(after.get('redisproxy_cache_capacity_keys'), before.get('redisproxy_cache_capacity_keys'));
    assert.equal(after.get('redisproxy_config_reloads_total{result="error"}'), 2);
    assert.equal(await c.ping(), 'PONG');
  });

});

describe('SIGHUP reload of log settings', () => {
  test('the log level and format change live: debug lines appear, as readable text', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'redisproxy-reload-log-'));
    const cfg = path.join(dir, 'proxy.yaml');
    const redis = await startRedis();
    const port = await getFreePort();
    writeFileSync(cfg, `addr: 127.0.0.1:${redis.port}\nport: ${port}\nlog-level: info\nlog-format: json\n`);
    const proxy = await spawnCli(['--config', cfg], /"msg":"invalidation link up/);
    try {
      const first = client(port);
      await first.ping();
      first.disconnect();
      await sleep(100);
      assert.ok(!proxy.output().includes('client connected'), 'no debug lines at info');
      writeFileSync(cfg, `addr: 127.0.0.1:${redis.port}\nport: ${port}\nlog-level: debug\nlog-format: text\n`);
      proxy.child.kill('SIGHUP');
      await proxy.waitFor(/^\d\d:\d\d:\d\d INFO  configuration reloaded: log-level, log-format changed /m);
      const second = client(port);
      await second.ping();
      second.disconnect();
      await proxy.waitFor(/^\d\d:\d\d:\d\d DEBUG client connected client=127\.0\.0\.1:\d+ clients=1$/m);
    } finally {
      await proxy.stop();
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
