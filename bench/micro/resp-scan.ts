// Micro benchmark of the harness's own hot paths (and a template for new ones):
// how fast bench/lib/resp.ts counts pipelined replies, i.e. how much CPU the load
// generator spends per reply, next to a Map lookup of a pre-encoded reply (what
// the ceiling server does per GET).
//
//   node --import tsx bench/micro/resp-scan.ts [--json]

import { scanReplies, valueFor } from '../lib/resp.js';
import { bench, report, sink } from './timer.js';

const one = Buffer.concat([Buffer.from('$100\r\n'), valueFor(1, 100), Buffer.from('\r\n')]);
const batch16 = Buffer.concat(Array.from({ length: 16 }, () => one));
const big = Buffer.concat([Buffer.from('$10240\r\n'), valueFor(1, 10240), Buffer.from('\r\n')]);
const ok16 = Buffer.from('+OK\r\n'.repeat(16));

const map = new Map<string, Buffer>();
for (let i = 0; i < 10_000; i++) map.set(`key:${String(i).padStart(12, '0')}`, one);
const keys = [...map.keys()];
let k = 0;

report('bench/lib/resp.ts scanReplies, ceiling-style lookups', [
  bench('scan 1 bulk reply (100 B)', () => sink(scanReplies(one, 0).replies)),
  bench('scan 16 bulk replies (100 B)', () => sink(scanReplies(batch16, 0).replies), { opsPerCall: 16 }),
  bench('scan 16 +OK replies', () => sink(scanReplies(ok16, 0).replies), { opsPerCall: 16 }),
  bench('scan 1 bulk reply (10 KB)', () => sink(scanReplies(big, 0).replies)),
  bench('Map.get pre-encoded reply', () => {
    sink(map.get(keys[k++ % keys.length]));
  }),
]);
