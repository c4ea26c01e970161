// Run redis-benchmark against one port and parse its report (the summary and the latency
// distribution, which has the p99.9 that --csv leaves out).

import fs from 'node:fs';
import { runCapture, ticksPerSecond } from './procs.js';

export interface RbSpec {
  port: number;
  clients: number;
  pipeline: number;
  requests: number;
  /** -r: keyspace for __rand_int__ */
  keyspace: number;
  /** the command, e.g. ['GET', 'key:__rand_int__'] */
  command: string[];
  timeoutMs: number;
}

export interface RbResult {
  test: string;
  rps: number;
  avgMs: number;
  minMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  /** from the latency-by-percentile distribution: the first step at or past 99.9% */
  p999Ms: number;
  maxMs: number;
  requests: number;
  wallMs: number;
  /** CPU seconds the redis-benchmark process used (from our cutime/cstime) */
  generatorCpuS: number;
}

/** CSV: "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms" */
export function parseRbCsv(text: string): Omit<RbResult, 'requests' | 'wallMs' | 'generatorCpuS' | 'p999Ms'> {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.startsWith('"'));
  const header = lines.find((l) => l.startsWith('"test"'));
  const row = lines.find((l) => !l.startsWith('"test"'));
  if (!header || !row) throw new Error(`no CSV rows in redis-benchmark output: ${text.slice(0, 300)}`);
  const cols = splitCsv(header);
  const vals = splitCsv(row);
  const get = (name: string): number => {
    const i = cols.indexOf(name);
    return i >= 0 ? Number(vals[i]) : Number.NaN;
  };
  return {
    test: vals[0],
    rps: get('rps'),
    avgMs: get('avg_latency_ms'),
    minMs: get('min_latency_ms'),
    p50Ms: get('p50_latency_ms'),
    p95Ms: get('p95_latency_ms'),
    p99Ms: get('p99_latency_ms'),
    maxMs: get('max_latency_ms'),
  };
}

/**
 * The human report (no --csv): "throughput summary: N requests per second", the "latency
 * summary (msec)" header and values, and "99.902% <= 4.471 milliseconds" lines of the
 * percentile distribution.
 */
export function parseRbReport(text: string): Omit<RbResult, 'requests' | 'wallMs' | 'generatorCpuS'> {
  // (the live progress lines end in \r, not \n)
  const lines = text.split(/\r\n|\r|\n/);
  const title = /^====== (.*) ======$/.exec(lines.find((l) => l.startsWith('====== ')) ?? '')?.[1] ?? '';
  const rpsLine = lines.find((l) => l.includes('throughput summary:'));
  const rps = rpsLine ? Number(/throughput summary:\s*([\d.]+)/.exec(rpsLine)?.[1]) : Number.NaN;
  const head = lines.findIndex((l) => /^\s*avg\s+min\s+p50/.test(l));
  if (head < 0 || !rpsLine) throw new Error(`no summary in redis-benchmark output: ${text.slice(-300)}`);
  const cols = lines[head].trim().split(/\s+/);
  const vals = (lines[head + 1] ?? '').trim().split(/\s+/).map(Number);
  const get = (name: string): number => {
    const i = cols.indexOf(name);
    return i >= 0 && i < vals.length ? vals[i] : Number.NaN;
  };
  let p999Ms = Number.NaN;
  for (const l of lines) {
    const m = /^([\d.]+)% <= ([\d.]+) milliseconds/.exec(l);
    if (m && Number(m[1]) >= 99.9) {
      p999Ms = Number(m[2]);
      break;
    }
  }
  return { test: title, rps, avgMs: get('avg'), minMs: get('min'), p50Ms: get('p50'), p95Ms: get('p95'), p99Ms: get('p99'), p999Ms, maxMs: get('max') };
}

function splitCsv(line: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"]|"")*)"|([^,]+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line)) !== null) out.push((m[1] ?? m[2] ?? '').replace(/""/g, '"'));
  return out;
}

/** CPU seconds of all reaped children of this process (cutime + cstime). */
export function childrenCpuSeconds(): number {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[13]) + Number(rest[14])) / ticksPerSecond();
  } catch {
    return Number.NaN;
  }
}

export async function runRedisBenchmark(spec: RbSpec): Promise<RbResult> {
  const args = [
    '-h', '127.0.0.1',
    '-p', String(spec.port),
    '-c', String(spec.clients),
    '-P', String(spec.pipeline),
    '-n', String(spec.requests),
    '-r', String(spec.keyspace),
    ...spec.command,
  ];
  const cpu0 = childrenCpuSeconds();
  const t0 = Date.now();
  const r = await runCapture('redis-benchmark', 'redis-benchmark', args, spec.timeoutMs);
  const wallMs = Date.now() - t0;
  const cpu1 = childrenCpuSeconds();
  if (r.timedOut) throw new Error(`redis-benchmark timed out after ${spec.timeoutMs} ms`);
  if (r.code !== 0) throw new Error(`redis-benchmark exited ${r.code}: ${r.stderr.slice(0, 300)}`);
  return { ...parseRbReport(r.stdout), requests: spec.requests, wallMs, generatorCpuS: cpu1 - cpu0 };
}
