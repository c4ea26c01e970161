// What the phases of `npm run bench` share: options, the processes started, the load
// generator, and the runs recorded so far. Built by run.ts, phase by phase.

import type { LoadResult, LoadSpec } from '../loadgen.js';
import type { LoadgenClient } from './loadgen-client.js';
import type { Options } from './options.js';
import type { Managed } from './procs.js';
import type { RunRecord } from './report.js';
import type { MiniClient } from './resp.js';
import type { Ctx, ProxyOptions, Target } from './targets.js';
import type { Workload } from './workloads.js';

/** The processes: direct Redis, every target, and how each RedisProxy was started (to restart it). */
export interface Started {
  redis: Target;
  redisProc: Managed;
  targets: Map<string, Target>;
  proxyOpts: Map<string, ProxyOptions>;
  /** dist/cli.js, or null when it does not build */
  cli: string | null;
  /** true when the staleness phase will run */
  stalenessOn: boolean;
}

export interface Bench extends Started {
  opts: Options;
  ctx: Ctx;
  log: (msg: string) => void;
  /** wall clock at start (ms), for the time budget */
  t0: number;
  /** the workloads selected for this run */
  workloads: Workload[];
  notes: string[];
  runs: RunRecord[];
  loadgen: LoadgenClient;
  /** a connection to Redis for INFO and the like */
  control: MiniClient;
  /** `workload|target` pairs whose keyspace was read through the target (cache filled) */
  warmed: Set<string>;
  /** `workload|target` pairs that had their unrecorded calibration run */
  probed: Set<string>;
  /**
   * RedisProxy targets started or restarted since they last settled: their JIT is cold, and
   * their first ~2 s under load cost up to 2× the CPU per request of a warm process, so their
   * next calibration run is followed by SETTLE_SECONDS of unrecorded load (see runOnce).
   */
  fresh: Set<string>;
  /** length of a measured run; shrinks to keep the whole run inside its time budget */
  runSeconds: number;
}

/** One load generator run, with the harness's default time-out. */
export function lg(b: Pick<Bench, 'loadgen'>, spec: Partial<LoadSpec>): Promise<LoadResult> {
  return b.loadgen.run({ timeoutMs: 120_000, ...spec });
}
