// The bench reads redis-benchmark's human report (for the p99.9 that --csv leaves out):
// parsed here from a real run against a real redis-server.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startRedis, type RedisServer } from '../helpers/index.js';
import { parseRbReport } from '../../bench/lib/redis-benchmark.js';

const run = promisify(execFile);
let redis: RedisServer;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis.stop();
});

test('a redis-benchmark report gives ops/s, p50 ≤ p99 ≤ p99.9 ≤ max, and the command as its title', async () => {
  const { stdout } = await run('redis-benchmark', ['-h', '127.0.0.1', '-p', String(redis.port), '-c', '4', '-n', '3000', '-P', '1', 'MGET', 'a', 'b']);
  const r = parseRbReport(stdout);
  assert.equal(r.test, 'MGET a b');
  assert.ok(r.rps > 0, `rps ${r.rps}`);
  for (const [name, v] of Object.entries({ p50: r.p50Ms, p99: r.p99Ms, p999: r.p999Ms, max: r.maxMs })) assert.ok(Number.isFinite(v) && v > 0, `${name} ${v}`);
  assert.ok(r.p50Ms <= r.p99Ms && r.p99Ms <= r.p999Ms && r.p999Ms <= r.maxMs, JSON.stringify(r));
});

test('the p99.9 is the first step of the distribution at or past 99.9%', () => {
  const report = [
    'GET: rps=0.0 (overall: -nan) avg_msec=-nan (overall: -nan)\r====== GET ======',
    'Latency by percentile distribution:',
    '99.805% <= 4.255 milliseconds (cumulative count 19961)',
    '99.902% <= 4.471 milliseconds (cumulative count 19981)',
    '99.951% <= 4.575 milliseconds (cumulative count 19991)',
    '100.000% <= 5.295 milliseconds (cumulative count 20000)',
    'Summary:',
    '  throughput summary: 30120.48 requests per second',
    '  latency summary (msec):',
    '          avg       min       p50       p95       p99       max',
    '        0.941     0.320     0.927     1.607     2.807     5.295',
  ].join('\n');
  const r = parseRbReport(report);
  assert.deepEqual(
    { test: r.test, rps: r.rps, p50: r.p50Ms, p99: r.p99Ms, p999: r.p999Ms, max: r.maxMs },
    { test: 'GET', rps: 30120.48, p50: 0.927, p99: 2.807, p999: 4.471, max: 5.295 },
  );
  assert.throws(() => parseRbReport('ERR something\n'), /no summary/);
});
