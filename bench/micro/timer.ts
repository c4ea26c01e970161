// A tiny timing helper for micro benchmarks (no dependencies).
//
//   import { bench, report, sink } from './timer.js';
//   const rows = [
//     bench('decode 16 GETs', () => { sink(decode(buf)); }),
//     bench('cache lookup', () => { sink(cache.get(key)); }),
//   ];
//   report('decoder', rows);
//
// Each case is warmed up, then timed in samples of enough iterations to last
// ~`sampleMs`; the median ns/op over the samples is reported with min/max.
// Bounded: at most `maxMs` per case, whatever the function costs.

import { performance } from 'node:perf_hooks';

export interface BenchOptions {
  /** warm-up time before sampling (JIT) */
  warmupMs?: number;
  /** target duration of one sample */
  sampleMs?: number;
  /** number of samples */
  samples?: number;
  /** hard cap for the whole case */
  maxMs?: number;
  /** operations performed by one call of fn (e.g. 16 for a batch of 16 commands) */
  opsPerCall?: number;
}

export interface BenchResult {
  name: string;
  /** calls per sample */
  iterations: number;
  samples: number;
  nsPerOp: number;
  minNsPerOp: number;
  maxNsPerOp: number;
  opsPerSec: number;
}

let sinkValue: unknown;
/** Keep a result alive so the JIT cannot drop the work that produced it. */
export function sink(v: unknown): void {
  sinkValue = v;
}
export function sunk(): unknown {
  return sinkValue;
}

export function bench(name: string, fn: () => void, opts: BenchOptions = {}): BenchResult {
  const warmupMs = opts.warmupMs ?? 200;
  const sampleMs = opts.sampleMs ?? 50;
  const samples = opts.samples ?? 15;
  const maxMs = opts.maxMs ?? 10_000;
  const opsPerCall = opts.opsPerCall ?? 1;
  const start = performance.now();

  // warm up and estimate the cost of one call
  let calls = 0;
  let batch = 1;
  while (performance.now() - start < warmupMs && calls < 1e9) {
    for (let i = 0; i < batch; i++) fn();
    calls += batch;
    batch = Math.min(batch * 2, 1 << 20);
  }
  const perCallMs = Math.max((performance.now() - start) / Math.max(calls, 1), 1e-6);
  const iterations = Math.max(1, Math.round(sampleMs / perCallMs));

  const perOp: number[] = [];
  for (let s = 0; s < samples && performance.now() - start < maxMs; s++) {
    const t0 = performance.now();
    for (let i = 0; i < iterations; i++) fn();
    const dt = performance.now() - t0;
    perOp.push((dt * 1e6) / (iterations * opsPerCall));
  }
  perOp.sort((a, b) => a - b);
  const med = perOp.length ? perOp[perOp.length >> 1] : Number.NaN;
  return {
    name,
    iterations,
    samples: perOp.length,
    nsPerOp: med,
    minNsPerOp: perOp[0] ?? Number.NaN,
    maxNsPerOp: perOp[perOp.length - 1] ?? Number.NaN,
    opsPerSec: 1e9 / med,
  };
}

function fmtNs(ns: number): string {
  if (!Number.isFinite(ns)) return '—';
  if (ns < 1000) return `${ns.toFixed(1)} ns`;
  if (ns < 1e6) return `${(ns / 1000).toFixed(2)} µs`;
  return `${(ns / 1e6).toFixed(2)} ms`;
}

/** Print a small table; with `--json` on the command line, print JSON instead. */
export function report(title: string, rows: BenchResult[]): void {
  if (process.argv.includes('--json')) {
    process.stdout.write(JSON.stringify({ title, node: process.version, rows }, null, 2) + '\n');
    return;
  }
  const w = Math.max(...rows.map((r) => r.name.length), 4);
  process.stdout.write(`${title} (node ${process.version})\n`);
  process.stdout.write(`${'case'.padEnd(w)}  ${'ns/op'.padStart(10)}  ${'min..max'.padStart(21)}  ${'ops/s'.padStart(14)}\n`);
  for (const r of rows) {
    process.stdout.write(
      `${r.name.padEnd(w)}  ${fmtNs(r.nsPerOp).padStart(10)}  ${`${fmtNs(r.minNsPerOp)}..${fmtNs(r.maxNsPerOp)}`.padStart(21)}  ${Math.round(r.opsPerSec).toLocaleString('en-US').padStart(14)}\n`,
    );
  }
}
