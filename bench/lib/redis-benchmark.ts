// Run redis-benchmark against one port and parse its --csv output.

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
  maxMs: number;
  requests: number;
  wallMs: number;
  /** CPU seconds the redis-benchmark process used (from our cutime/cstime) */
  generatorCpuS: number;
}

/** CSV: "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms" */
export function parseRbCsv(text: string): Omit<RbResult, 'requests' | 'wallMs' | 'generatorCpuS'> {
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
    '--csv',
    ...spec.command,
  ];
  const cpu0 = childrenCpuSeconds();
  const t0 = Date.now();
  const r = await runCapture('redis-benchmark', 'redis-benchmark', args, spec.timeoutMs);
  const wallMs = Date.now() - t0;
  const cpu1 = childrenCpuSeconds();
  if (r.timedOut) throw new Error(`redis-benchmark timed out after ${spec.timeoutMs} ms`);
  if (r.code !== 0) throw new Error(`redis-benchmark exited ${r.code}: ${r.stderr.slice(0, 300)}`);
  return { ...parseRbCsv(r.stdout), requests: spec.requests, wallMs, generatorCpuS: cpu1 - cpu0 };
}
