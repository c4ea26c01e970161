import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { startRedis, startAdminProxy, eventually, type RedisServer, type AdminProxy } from '../helpers/index.js';
import { client, scrape } from './ops-helpers.js';

// /metrics scraped with a real HTTP client while traffic flows; /readyz follows Redis.

describe('/metrics', () => {
  let redis: RedisServer;
  let p: AdminProxy;
  let c: Redis;
  let direct: Redis;
  before(async () => {
    redis = await startRedis();
    p = await startAdminProxy(redis.port, { until: 'readyz', args: ['--ttl', '3600'] });
    c = client(p.proxy.port);
    direct = client(redis.port);
    await Promise.all([c.ping(), direct.ping()]);
  });
  after(async () => {
    c.disconnect();
    direct.disconnect();
    await p.proxy.stop();
    await redis.stop();
  });

  test('is Prometheus text with every documented family, and the process metrics', async () => {
    const res = await fetch(p.url('/metrics'));
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const body = await res.text();
    for (const family of [
      'redisproxy_build_info', 'redisproxy_clients_connected', 'redisproxy_clients_accepted_total', 'redisproxy_clients_rejected_total',
      'redisproxy_commands_total', 'redisproxy_command_duration_seconds', 'redisproxy_errors_total',
      'redisproxy_cache_hits_total', 'redisproxy_cache_misses_total', 'redisproxy_cache_fills_total', 'redisproxy_cache_fills_discarded_total',
      'redisproxy_cache_evictions_total', 'redisproxy_cache_expirations_total', 'redisproxy_cache_invalidations_total', 'redisproxy_cache_flushes_total',
      'redisproxy_cache_entries', 'redisproxy_cache_bytes', 'redisproxy_cache_hit_ratio', 'redisproxy_cache_ready',
      'redisproxy_cache_capacity_keys', 'redisproxy_cache_max_bytes', 'redisproxy_cache_ttl_seconds',
      'redisproxy_backend_connections', 'redisproxy_link_state', 'redisproxy_link_connects_total', 'redisproxy_redis_up',
      'redisproxy_http_get_requests_total', 'redisproxy_config_reloads_total',
      'process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds',
    ]) {
      assert.match(body, new RegExp(`^# TYPE ${family} `, 'm'), `${family} is exposed`);
    }
    const m = await scrape(p);
    assert.equal(m.get('redisproxy_link_state{state="up"}'), 1);
    assert.equal(m.get('redisproxy_link_state{state="down"}'), 0);
    assert.equal(m.get('redisproxy_redis_up'), 1);
    assert.equal(m.get('redisproxy_cache_ttl_seconds'), 3600);
    assert.equal(m.get('redisproxy_errors_total{kind="output-limit"}'), 0);
  });

  test('a GET answered from the cache moves the hit counter and the hit ratio', async () => {
    await c.set('m:hit', 'v');
    assert.equal(await c.get('m:hit'), 'v'); // fills
    const before = await scrape(p);
    assert.equal(await c.get('m:hit'), 'v'); // hit
    const after = await scrape(p);
    assert.equal(after.get('redisproxy_cache_hits_total')! - before.get('redisproxy_cache_hits_total')!, 1);
    assert.ok(after.get('redisproxy_cache_hit_ratio')! > 0);
    assert.ok(after.get('redisproxy_cache_entries')! >= 1);
  });

  test('commands are counted by name, and replies in the latency histogram by source', async () => {
    await c.set('m:lat', 'v');
    await c.get('m:lat');
    const before = await scrape(p);
    await c.get('m:lat'); // from the cache
    await c.set('m:lat', 'w'); // from Redis
    await c.call('NOSUCHCOMMAND').catch(() => undefined);
    const after = await scrape(p);
    const moved = (k: string) => (after.get(k) ?? 0) - (before.get(k) ?? 0);
    assert.equal(moved('redisproxy_commands_total{command="get"}'), 1);
    assert.equal(moved('redisproxy_commands_total{command="set"}'), 1);
    assert.equal(moved('redisproxy_commands_total{command="unknown"}'), 1, 'names Redis does not know share one label');
    assert.ok(![...after.keys()].some((k) => k.includes('nosuchcommand')));
    assert.equal(moved('redisproxy_command_duration_seconds_count{source="cache"}'), 1);
    assert.equal(moved('redisproxy_command_duration_seconds_count{source="redis"}'), 2);
    assert.equal(
      after.get('redisproxy_command_duration_seconds_bucket{le="+Inf",source="redis"}'),
      after.get('redisproxy_command_duration_seconds_count{source="redis"}'),
      'the +Inf bucket holds every observation',
    );
  });

  test('a direct write on Redis moves the invalidation counter', async () => {
    await c.set('m:inv', 'old');
    await c.get('m:inv');
    const before = (await scrape(p)).get('redisproxy_cache_invalidations_total')!;
    await direct.set('m:inv', 'new');
    await eventually('invalidation counted', async () => (await scrape(p)).get('redisproxy_cache_invalidations_total')! > before, 2000, 10);
    assert.equal(await c.get('m:inv'), 'new');
  });

  test('counters move while traffic flows, and client connections are counted', async () => {
    const before = await scrape(p);
    const extra = client(p.proxy.port);
    await extra.ping();
    const traffic = (async () => {
      for (let i = 0; i < 200; i++) await extra.get(`m:t${i % 10}`);
    })();
    const during = await scrape(p);
    await traffic;
    const after = await scrape(p);
    assert.ok(during.get('redisproxy_clients_connected')! >= 2, 'both clients counted while connected');
    assert.ok(after.get('redisproxy_clients_accepted_total')! > before.get('redisproxy_clients_accepted_total')!);
    assert.ok(after.get('redisproxy_cache_fills_total')! > before.get('redisproxy_cache_fills_total')!, 'fills moved');
    assert.ok(after.get('redisproxy_cache_hits_total')! >= before.get('redisproxy_cache_hits_total')! + 150, 'repeated keys are hits');
    assert.ok(after.get('redisproxy_backend_connections')! >= 3, 'two sessions and the link');
    extra.disconnect();
    await eventually('disconnect counted', async () => (await scrape(p)).get('redisproxy_clients_connected') === 1, 2000, 10);
  });
});

describe('/readyz follows Redis', () => {
  let redis: RedisServer;
  let p: AdminProxy;
  before(async () => {
    redis = await startRedis();
    p = await startAdminProxy(redis.port, { until: 'readyz' });
  });
  after(async () => {
    await p.proxy.stop();
    await redis.stop();
  });

  test('503 while Redis is stopped, 200 again once it is back; the link state and reconnects show it', async () => {
    assert.equal((await fetch(p.url('/readyz'))).status, 200);
    assert.equal((await fetch(p.url('/healthz'))).status, 200);
    const connects = (await scrape(p)).get('redisproxy_link_connects_total')!;
    await redis.stop();
    await eventually('/readyz 503', async () => (await fetch(p.url('/readyz'))).status === 503, 3000, 10);
    const res = await fetch(p.url('/readyz'));
    assert.match(await res.text(), /^not ready: /);
    assert.equal((await fetch(p.url('/healthz'))).status, 200, 'the process itself is healthy');
    const down = await scrape(p);
    assert.equal(down.get('redisproxy_redis_up'), 0);
    assert.equal(down.get('redisproxy_link_state{state="up"}'), 0);
    assert.equal(down.get('redisproxy_cache_ready'), 0);
    await redis.restart();
    await eventually('/readyz 200 again', async () => (await fetch(p.url('/readyz'))).status === 200, 10_000, 10);
    const up = await scrape(p);
    assert.ok(up.get('redisproxy_link_connects_total')! > connects, 'the reconnect is counted');
    assert.equal(up.get('redisproxy_link_state{state="up"}'), 1);
  });

  test('a frozen Redis (SIGSTOP) turns /readyz 503 within a few seconds and the cache stops serving; SIGCONT brings both back', async () => {
    const c = client(p.proxy.port);
    try {
      await c.set('frozen:k', 'v');
      assert.equal(await c.get('frozen:k'), 'v');
      assert.equal((await fetch(p.url('/readyz'))).status, 200);
      redis.freeze();
      try {
        await eventually('/readyz 503 while Redis is frozen', async () => (await fetch(p.url('/readyz'))).status === 503, 6000, 10);
        assert.match(await (await fetch(p.url('/readyz'))).text(), /has not answered the link's PING/);
        const m = await scrape(p);
        assert.equal(m.get('redisproxy_redis_up'), 0);
        assert.equal(m.get('redisproxy_cache_ready'), 0, 'no cache hit while invalidations may be held up');
      } finally {
        redis.thaw();
      }
      await eventually('/readyz 200 after SIGCONT', async () => (await fetch(p.url('/readyz'))).status === 200, 5000, 10);
      assert.equal((await scrape(p)).get('redisproxy_cache_ready'), 1);
      assert.equal(await c.get('frozen:k'), 'v');
    } finally {
      c.disconnect();
    }
  });
});
