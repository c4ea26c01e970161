// Large values (issue 19): from one client that pipelines everything at once, as an
// auto-pipelining client library does, 600 SETs of 1 MiB values, then 600 GETs of them;
// the time of each batch through each target, against direct Redis. The GETs through the
// proxy are misses (its own SETs leave nothing cached) that fill 1 MiB entries.

import net from 'node:net';
import type { Bench } from '../lib/bench.js';
import { median } from '../lib/report.js';
import { ReplyCounter } from '../lib/reply-counter.js';
import type { Target } from '../lib/targets.js';
import { ensureCacheOnProxy } from './proxies.js';

export const LARGE_COUNT = 600;
export const LARGE_BYTES = 1024 * 1024;

export interface LargeValuesRow {
  target: string;
  /** ms per batch of LARGE_COUNT SETs, then GETs, one per repetition */
  setMs: number[];
  getMs: number[];
  setMedianMs: number;
  getMedianMs: number;
  failure: string | null;
}

export interface LargeValuesResult {
  count: number;
  valueBytes: number;
  rows: LargeValuesRow[];
}

const key = (i: number): string => `large:${String(i).padStart(6, '0')}`;

/** Writes `parts` (one command each) at once, resolves with the ms until `count` replies have arrived. */
function batch(port: number, commands: Buffer[][], expectBulk: number | null, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    const counter = new ReplyCounter(expectBulk);
    let t0 = 0;
    const timer = setTimeout(() => fail(new Error(`${counter.replies} of ${commands.length} replies after ${timeoutMs / 1000} s`)), timeoutMs);
    const fail = (e: Error): void => {
      clearTimeout(timer);
      s.destroy();
      reject(e);
    };
    s.setNoDelay(true);
    s.on('error', fail);
    s.on('close', () => fail(new Error(`connection closed after ${counter.replies} of ${commands.length} replies`)));
    s.on('connect', () => {
      t0 = performance.now();
      for (const parts of commands) for (const p of parts) s.write(p);
    });
    s.on('data', (chunk: Buffer) => {
      counter.push(chunk);
      if (counter.replies < commands.length) return;
      const ms = performance.now() - t0;
      clearTimeout(timer);
      s.removeAllListeners('close');
      s.destroy();
      if (counter.errors > 0) reject(new Error(`${counter.errors} error replies, first: ${counter.firstError}`));
      else if (counter.wrongLength > 0) reject(new Error(`${counter.wrongLength} values of the wrong length`));
      else resolve(ms);
    });
  });
}

function commands(verb: 'SET' | 'GET', value: Buffer): Buffer[][] {
  const out: Buffer[][] = [];
  for (let i = 0; i < LARGE_COUNT; i++) {
    const k = key(i);
    if (verb === 'GET') out.push([Buffer.from(`*2\r\n$3\r\nGET\r\n$${k.length}\r\n${k}\r\n`)]);
    else out.push([Buffer.from(`*3\r\n$3\r\nSET\r\n$${k.length}\r\n${k}\r\n$${value.length}\r\n`), value, Buffer.from('\r\n')]);
  }
  return out;
}

export async function largeValues(b: Bench): Promise<LargeValuesResult> {
  const proxy = await ensureCacheOnProxy(b);
  // twemproxy for scale in full runs only: each batch takes tens of seconds on a loaded machine
  const twem = b.opts.quick ? undefined : b.targets.get('twemproxy');
  const targets = [b.redis, proxy, twem].filter((t): t is Target => t !== undefined && t !== null && t.ok);
  const value = Buffer.alloc(LARGE_BYTES, 'v');
  const sets = commands('SET', value);
  const gets = commands('GET', value);
  const rows = new Map<string, LargeValuesRow>(targets.map((t) => [t.id, { target: t.id, setMs: [], getMs: [], setMedianMs: Number.NaN, getMedianMs: Number.NaN, failure: null }]));
  // Not measured: Redis's first batch allocates its 600 MiB (several times slower than the
  // batches that overwrite the same keys), which would land on whichever target goes first.
  try {
    const warm = await batch(b.redis.port, sets, null, 120_000);
    b.log(`  large values: warm-up ${LARGE_COUNT} SETs straight to Redis ${warm.toFixed(0)} ms (not counted)`);
  } catch (e) {
    b.log(`  large values: warm-up failed: ${(e as Error).message}`);
  }
  for (let rep = 0; rep < b.opts.reps; rep++) {
    for (const t of targets) {
      const row = rows.get(t.id)!;
      if (row.failure !== null) continue;
      try {
        row.setMs.push(await batch(t.port, sets, null, 120_000));
        row.getMs.push(await batch(t.port, gets, LARGE_BYTES, 120_000));
        b.log(`  large values ${t.id.padEnd(10)} ${LARGE_COUNT} SETs ${row.setMs.at(-1)!.toFixed(0)} ms, ${LARGE_COUNT} GETs ${row.getMs.at(-1)!.toFixed(0)} ms`);
      } catch (e) {
        row.failure = (e as Error).message;
        b.log(`  large values ${t.id}: FAILED ${row.failure}`);
      }
    }
  }
  // 600 MiB in Redis (and in the proxy's cache) would weigh on what follows
  for (let i = 0; i < LARGE_COUNT; i += 100) await b.control.command(['DEL', ...Array.from({ length: 100 }, (_, j) => key(i + j))]);
  for (const r of rows.values()) {
    r.setMedianMs = median(r.setMs);
    r.getMedianMs = median(r.getMs);
  }
  return { count: LARGE_COUNT, valueBytes: LARGE_BYTES, rows: [...rows.values()] };
}
