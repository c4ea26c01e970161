// Micro benchmark of ReplyCache.lookup, the work a cached GET costs besides parsing:
// 1M hits over 100k cached keys, and 1M misses on keys never cached.
// One line per case: best of a few rounds after a warm-up round.
//
//   node --import tsx bench/micro/cache.ts [--json]

import { performance } from 'node:perf_hooks';
import { ReplyCache } from '../../src/cache/reply-cache.js';

const N = 1_000_000;
const KEYS = 100_000;
const ROUNDS = 3;

const cache = new ReplyCache({ capacity: KEYS, ttlMs: 3_600_000 });
cache.setReady(true);
const value = `$100\r\n${'v'.repeat(100)}\r\n`; // replies are kept as latin1 strings
const hitKeys: string[] = [];
const missKeys: string[] = [];
for (let i = 0; i < KEYS; i++) {
  const key = `key:${String(i).padStart(12, '0')}`;
  hitKeys.push(key);
  missKeys.push(`nokey:${String(i).padStart(12, '0')}`);
  const ticket = cache.beginFill(key, 'default', 0);
  if (ticket === null) throw new Error('fill refused');
  if (!cache.completeFill(ticket, value, null)) {
    throw new Error('fill not stored');
  }
}
if (cache.size !== KEYS) throw new Error(`cache holds ${cache.size} keys, expected ${KEYS}`);

function lookups(keys: string[], expectHit: boolean): () => number {
  return () => {
    let hits = 0;
    for (let i = 0; i < N; i++) {
      if (cache.lookup(keys[i % KEYS], 'default', 0) !== undefined) hits++;
    }
    if (hits !== (expectHit ? N : 0)) throw new Error(`${hits} hits of ${N}, expected ${expectHit ? N : 0}`);
    return hits;
  };
}

interface Row {
  name: string;
  ops: number;
  bestMs: number;
  opsPerSec: number;
}

function measure(name: string, fn: () => number): Row {
  fn(); // warm-up round (and correctness check)
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    fn();
    best = Math.min(best, performance.now() - t0);
  }
  return { name, ops: N, bestMs: best, opsPerSec: (N / best) * 1000 };
}

const rows = [
  measure(`ReplyCache.lookup: ${N.toLocaleString('en-US')} hits over ${KEYS.toLocaleString('en-US')} keys`, lookups(hitKeys, true)),
  measure(`ReplyCache.lookup: ${N.toLocaleString('en-US')} misses`, lookups(missKeys, false)),
];

if (process.argv.includes('--json')) {
  process.stdout.write(JSON.stringify({ title: 'cache', node: process.version, rows }, null, 2) + '\n');
} else {
  for (const r of rows) {
    process.stdout.write(`${r.name}: ${r.bestMs.toFixed(1)} ms, ${Math.round(r.opsPerSec).toLocaleString('en-US')} ops/s (best of ${ROUNDS})\n`);
  }
}
