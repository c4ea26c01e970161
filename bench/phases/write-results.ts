// The last phase (and the Ctrl-C path): results JSON, latest.md and latest.svg.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Bench } from '../lib/bench.js';
import { which } from '../lib/procs.js';
import { checklist } from '../lib/checklist.js';
import { markdown } from '../lib/markdown.js';
import { summarize, type MemoryResult, type Results, type StalenessReport } from '../lib/report.js';
import { svg } from '../lib/svg.js';
import type { LargeValuesResult } from './large-values.js';
import type { SlowReadersResult } from './slow-readers.js';

/** What the phases after the workloads measured. */
export interface Extras {
  memory: MemoryResult | null;
  staleness: StalenessReport | null;
  largeValues: LargeValuesResult | null;
  slowReaders: SlowReadersResult | null;
}

/** Writes everything gathered so far; returns the JSON file's path. */
export function writeResults(b: Bench, extras: Extras, startedAt: Date, loadStart: number[], partial: boolean): string {
  const summaries = summarize(b.runs);
  const { opts, targets } = b;
  const res: Results = {
    meta: {
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      wallSeconds: (Date.now() - b.t0) / 1000,
      mode: opts.quick ? 'quick' : 'full',
      reps: opts.reps,
      runSeconds: opts.runSeconds,
      host: {
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model ?? '?',
        loadavgStart: loadStart,
        loadavgEnd: os.loadavg(),
        memTotalMB: Math.round(os.totalmem() / 1024 / 1024),
      },
      versions: versions(),
      git: gitDescription(b.ctx.repoRoot),
      delayMs: opts.delayMs,
      delayRelayAddedRttUs: addedRtt(summaries),
      notes: partial ? [...b.notes, 'PARTIAL RESULTS: the run was interrupted.'] : b.notes,
    },
    targets: [...targets.values()].map((t) => ({ id: t.id, label: t.label, kind: t.kind, ok: t.ok, note: t.note, detail: t.detail })),
    workloads: b.workloads.map((w) => ({ id: w.id, title: w.title, targets: w.targets.filter((t) => targets.has(t)), baseline: w.baseline, twemproxy: w.twemproxy, compare: w.compare })),
    runs: b.runs,
    summaries,
    memory: extras.memory,
    staleness: extras.staleness,
    largeValues: extras.largeValues,
    slowReaders: extras.slowReaders,
    checklist: [],
  };
  res.checklist = checklist(res);
  fs.mkdirSync(opts.outDir, { recursive: true });
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const jsonPath = path.join(opts.outDir, `${stamp}.json`);
  fs.writeFileSync(jsonPath, JSON.stringify(res, null, 2) + '\n');
  fs.writeFileSync(path.join(opts.outDir, 'latest.md'), markdown(res));
  fs.writeFileSync(path.join(opts.outDir, 'latest.svg'), svg(res, res.workloads));
  return jsonPath;
}

/** stdout + stderr of a short command ('' when it cannot run). */
function tryExec(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'pipe'] });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
}

function versions(): Record<string, string> {
  const redis = /v=([\d.]+)/.exec(tryExec('redis-server', ['--version']))?.[1] ?? '?';
  const nc = /nutcracker-([\d.]+)/.exec(tryExec(which('nutcracker') ?? 'nutcracker', ['-V']))?.[1] ?? 'missing';
  return { node: process.version, redis, 'redis-benchmark': /([\d.]+)/.exec(tryExec('redis-benchmark', ['--version']))?.[1] ?? '?', nutcracker: nc };
}

function gitDescription(repoRoot: string): string {
  const head = tryExec('git', ['-C', repoRoot, 'rev-parse', '--short', 'HEAD']) || 'unknown';
  const dirty = tryExec('git', ['-C', repoRoot, 'status', '--porcelain', '--', 'src']);
  return `${head}${dirty ? ' (src/ has uncommitted changes)' : ''}`;
}

function addedRtt(summaries: ReturnType<typeof summarize>): number | null {
  const a = summaries.find((s) => s.workload === 'wan-lat-c1' && s.target === 'redis-wan')?.p50Us;
  // direct Redis on loopback in the same workload, else in the local latency row
  const b = (summaries.find((s) => s.workload === 'wan-lat-c1' && s.target === 'redis') ?? summaries.find((s) => s.workload === 'lat-hit-c1' && s.target === 'redis'))?.p50Us;
  return a !== undefined && a !== null && b !== undefined && b !== null ? a - b : null;
}
