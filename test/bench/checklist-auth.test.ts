// The bench's checklist decides issue 14's target from one run's two rows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checklist } from '../../bench/lib/checklist.js';
import type { Summary } from '../../bench/lib/report.js';

function row(workload: string, target: string, opsPerSec: number): Summary {
  return {
    workload, target, reps: 3, opsPerSec, opsMin: opsPerSec, opsMax: opsPerSec, p50Us: null, p99Us: null, p999Us: null, maxUs: null,
    eldP99Ms: null, eldMaxMs: null, targetCpuPerM: null, targetUserCpuPerM: null, redisCpuPerM: null, generatorCpuPct: null,
    statsHitRatio: null, absorbedGetRatio: null, errors: 0, failures: [], foreignCores: null,
  };
}

const itemOf = (summaries: Summary[]) => checklist({ summaries, memory: null, staleness: null, largeValues: null, slowReaders: null }).find((i) => i.id === 'auth-cpr');

test('the issue-14 row is met at 0.9× the open twin and not below', () => {
  assert.equal(itemOf([row('auth-cpr', 'proxy', 900), row('auth-cpr-open', 'proxy', 1000)])?.status, 'MET');
  assert.equal(itemOf([row('auth-cpr', 'proxy', 890), row('auth-cpr-open', 'proxy', 1000)])?.status, 'NOT MET');
});

test('the issue-14 row says n/a when a twin is missing, and never compares with direct Redis', () => {
  assert.equal(itemOf([row('auth-cpr', 'proxy', 900), row('auth-cpr-open', 'redis', 1000)])?.status, 'n/a');
});

test("the issue-14 row shows direct Redis's own ratio of the same two workloads beside it, without deciding by it", () => {
  const item = itemOf([row('auth-cpr', 'proxy', 850), row('auth-cpr-open', 'proxy', 1000), row('auth-cpr', 'redis', 840), row('auth-cpr-open', 'redis', 1000)]);
  assert.equal(item?.status, 'NOT MET');
  assert.match(item?.measured ?? '', /direct Redis in this run, the same two: 840 vs 1,000 ops\/s = 0\.84×/);
});
