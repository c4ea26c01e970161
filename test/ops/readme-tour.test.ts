import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { REDIS_CLI, REPO_ROOT, redisCli, sleep, startRedis, startAdminProxy, proxyStats } from '../helpers/index.js';

// The README's "A tour with redis-cli", step by step, so the tour cannot drift from
// what the proxy does. redis-cli runs without a terminal here, so values print bare
// ("hello") where the README shows the interactive form ("\"hello\"").

/** One redis-cli session (one connection) fed `lines` on stdin, as an interactive user would type them. */
function session(port: number, lines: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(REDIS_CLI, ['-h', '127.0.0.1', '-p', String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    child.stdin.end(lines.map((l) => `${l}\n`).join(''));
  });
}

test('the README tour: one session hits the cache, a direct write is seen, HTTP reads, expiry, PTTL in MONITOR', { timeout: 30_000 }, async () => {
  const readme = readFileSync(`${REPO_ROOT}/README.md`, 'utf8');
  assert.match(readme, /## A tour with redis-cli/);
  const redis = await startRedis();
  const p = await startAdminProxy(redis.port, { until: 'readyz', args: ['--http-get'] });
  const monitor = spawn(REDIS_CLI, ['-h', '127.0.0.1', '-p', String(redis.port), 'MONITOR'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let monitored = '';
  monitor.stdout.setEncoding('utf8').on('data', (d: string) => (monitored += d));
  try {
    await sleep(100); // MONITOR is on
    assert.equal(await session(p.proxy.port, ['SET greeting hello', 'GET greeting', 'GET greeting']), 'OK\nhello\nhello\n');
    const s = await proxyStats(p.admin);
    assert.equal(s.cache.entries, 1);
    assert.equal(s.cache.hits, 1);
    assert.equal(s.cache.misses, 1);
    assert.equal(s.cache.fills, 1);
    assert.equal(s.link?.state, 'up');
    const metrics = await (await fetch(p.url('/metrics'))).text();
    assert.match(metrics, /^redisproxy_cache_hits_total 1$/m);

    assert.equal(await redisCli(redis.port, ['SET', 'greeting', 'bonjour']), 'OK\n');
    assert.equal(await redisCli(p.proxy.port, ['GET', 'greeting']), 'bonjour\n');

    const res = await fetch(p.url('/v1/keys/greeting'));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/octet-stream');
    assert.equal(await res.text(), 'bonjour');
    assert.equal((await fetch(p.url('/v1/keys/no-such-key'))).status, 404);

    assert.equal(await session(p.proxy.port, ['SET session:1 token PX 1500', 'GET session:1']), 'OK\ntoken\n');
    await sleep(1600);
    assert.equal(await session(p.proxy.port, ['GET session:1']), '\n', 'nil after the key expired');

    assert.match(monitored, /"GET" "greeting"\n[^\n]*"PTTL" "greeting"/, 'each forwarded GET is followed by a PTTL');
    // the README: the link's once-a-second PING shows in MONITOR, its ACL LIST does not
    assert.match(monitored, /"PING"/);
    assert.doesNotMatch(monitored, /"ACL"/);
  } finally {
    monitor.kill();
    await p.proxy.stop();
    await redis.stop();
  }
});
