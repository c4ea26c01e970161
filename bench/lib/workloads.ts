// The workload matrix: what runs against which targets, with which tool.

import type { LoadSpec } from '../loadgen.js';
import { BENCH_USER } from './targets.js';

export const KEYS = 10_000;
export const VALUE = 100;
export const BIG_VALUE = 10 * 1024;
export const HUGE_VALUE = 100 * 1024;
/** 1,000 keys of 100 KB: 100 MB in Redis and as much in a proxy's cache */
export const HUGE_KEYS = 1000;
/** requests per run of the tail rows (measured after an unrecorded warm-up run) */
export const TAIL_REQUESTS = 400_000;

export interface Keyspace {
  prefix: string;
  /** value size in bytes */
  size: number;
  /** number of keys (default KEYS) */
  keys?: number;
}

/** Keyspaces (prefix -> value size). Keys are prefix + 12 digits, like redis-benchmark's __rand_int__. */
export const KEYSPACES: Record<'hot' | 'big' | 'huge' | 'set', Keyspace> = {
  hot: { prefix: 'key:', size: VALUE },
  big: { prefix: 'big:', size: BIG_VALUE },
  huge: { prefix: 'huge:', size: HUGE_VALUE, keys: HUGE_KEYS },
  set: { prefix: 's:', size: VALUE },
};
export type KeyspaceName = keyof typeof KEYSPACES;

export type Compare = 'ceiling' | 'relay';

export interface RbWorkload {
  tool: 'redis-benchmark';
  clients: number;
  pipeline: number;
  command: string[];
  /** requests for the calibration/warm-up probe before the first repetition */
  probe: number;
  /** -r (default KEYS) */
  keyspace?: number;
}

export interface LgWorkload {
  tool: 'loadgen';
  spec: Partial<LoadSpec>;
  /** per-target key prefix (isolates keyspaces that are written, e.g. the mix) */
  prefixFor?: (targetId: string) => string;
  /** length of the unrecorded warm-up run in full mode (default 300 ms; quick mode caps it at 300 ms) */
  probeMs?: number;
  /** a measured run is this many requests (after the warm-up run) instead of --seconds */
  requests?: number;
  /** nil replies are normal (keys not written yet), not a failure */
  nilsExpected?: boolean;
}

export interface Workload {
  id: string;
  title: string;
  /** which targets, in round-robin order */
  targets: string[];
  /** baseline for "vs direct" and "vs twemproxy" columns */
  baseline: string;
  twemproxy: string;
  /** extra reference column(s) that matter for this workload */
  compare: Compare[];
  /** keyspace that must be in every target's cache before measuring */
  warm: KeyspaceName | null;
  /** included in --quick */
  quick: boolean;
  /** report the proxy's hit ratio */
  hitRatio: boolean;
  /**
   * Writes happen in this workload. RedisProxy keeps its cache coherent with
   * CLIENT TRACKING, so writes of keys read through a caching proxy that is
   * connected are pushed to it. To keep the direct-Redis, twemproxy and
   * relay rows clean, caching proxies run only while they are the one measured.
   */
  isolate: boolean;
  /**
   * At least `reps` repetitions for these targets even when --reps is lower (they
   * alternate in the round-robin): for pairs reported as a ratio, e.g. tracking vs ttl.
   */
  minReps?: { reps: number; targets: string[] };
  run: RbWorkload | LgWorkload;
}

const LOCAL_ALL = ['redis', 'proxy', 'proxy-nocache', 'twemproxy', 'ceiling', 'relay'];
const LOCAL_MISS = ['redis', 'proxy-cap1', 'proxy-nocache', 'twemproxy', 'relay'];
// direct Redis on loopback too: the proxy with Redis far away is compared with it in the same run
const WAN = ['redis-wan', 'proxy-wan', 'twemproxy-wan', 'redis'];
const PAIR = ['redis', 'proxy', 'twemproxy'];
// "Cost of tracking": the same proxy with --coherence ttl (no CLIENT TRACKING), next to its
// tracking twin in the round-robin, in one hit and one miss workload.
const LOCAL_ALL_TTL = ['redis', 'proxy', 'proxy-ttl', 'proxy-nocache', 'twemproxy', 'ceiling', 'relay'];
// (the ceiling answers from its Map: beside the misses, the floor of a Node server that forwards nothing)
const LOCAL_MISS_TTL = ['redis', 'proxy-cap1', 'proxy-cap1-ttl', 'proxy-nocache', 'twemproxy', 'ceiling', 'relay'];

/** [tracking target, its --coherence ttl twin] per workload, for the "Cost of tracking" table */
export const TRACKING_COST: Array<{ workload: string; tracking: string; ttl: string }> = [
  { workload: 'get-hit-p16', tracking: 'proxy', ttl: 'proxy-ttl' },
  { workload: 'get-miss-p1', tracking: 'proxy-cap1', ttl: 'proxy-cap1-ttl' },
];
const SET_VALUE = 'x'.repeat(VALUE);
const CACHE_COST_REPS = { reps: 3, targets: ['proxy', 'proxy-nocache'] };

function rb(clients: number, pipeline: number, command: string[], probe: number, keyspace?: number): RbWorkload {
  return { tool: 'redis-benchmark', clients, pipeline, command, probe, ...(keyspace ? { keyspace } : {}) };
}

/** loadgen, GETs of the hot keyspace, uniform */
function lgGet(connections: number, pipeline: number): LgWorkload {
  return { tool: 'loadgen', spec: { connections, pipeline, getRatio: 1, distribution: 'uniform', keyspace: KEYS, keyPrefix: KEYSPACES.hot.prefix } };
}

/**
 * Authenticated clients (issue 14): the same GET hits with and without `AUTH bench ...` first,
 * over 100 keys of the hot keyspace (the ACL user's own cache partition fills in the warm-up
 * run). The proxy's authenticated row against its open twin is the ratio that matters.
 */
function lgAuth(connectPerRequest: boolean, auth: boolean): LgWorkload {
  const connections = connectPerRequest ? 16 : 50;
  return {
    tool: 'loadgen',
    spec: { connections, pipeline: 1, getRatio: 1, distribution: 'uniform', keyspace: 100, keyPrefix: KEYSPACES.hot.prefix, connectPerRequest, auth: auth ? [...BENCH_USER] : [] },
  };
}

const GET_HOT = ['GET', 'key:__rand_int__'];
/** 10 random keys of the (warmed) hot keyspace: every one cached */
const MGET_HOT = ['MGET', ...Array.from({ length: 10 }, () => 'key:__rand_int__')];
/** 5 fixed hot keys (cached) and 5 random keys of a keyspace too large to repeat (missing) */
const MGET_HALF = ['MGET', ...[1, 2, 3, 4, 5].map((i) => `key:${String(i).padStart(12, '0')}`), ...Array.from({ length: 5 }, () => 'nokey:__rand_int__')];
const SET_NEW = ['SET', 's:__rand_int__', SET_VALUE];

/** What most workloads share: compared with direct Redis and twemproxy, in --quick, read-only. */
const DEFAULTS: Omit<Workload, 'id' | 'title' | 'targets' | 'run'> = {
  baseline: 'redis',
  twemproxy: 'twemproxy',
  compare: [],
  warm: null,
  quick: true,
  hitRatio: false,
  isolate: false,
};

function workload(w: Pick<Workload, 'id' | 'title' | 'targets' | 'run'> & Partial<Workload>): Workload {
  return { ...DEFAULTS, ...w };
}

const HIT = { compare: ['ceiling'] as Compare[], warm: 'hot' as const };
const MISS = { compare: ['relay'] as Compare[] };
const WRITE = { compare: ['relay'] as Compare[], isolate: true };
const WAN_DEFAULTS = { targets: WAN, baseline: 'redis-wan', twemproxy: 'twemproxy-wan', warm: 'hot' as const };

export const WORKLOADS: Workload[] = [
  workload({ id: 'get-hit-p1', title: 'GET all hits, 50 clients, -P 1', targets: LOCAL_ALL, ...HIT, run: rb(50, 1, GET_HOT, 20_000) }),
  workload({
    id: 'get-hit-p16', title: 'GET all hits, 50 clients, -P 16', targets: LOCAL_ALL_TTL, ...HIT,
    minReps: { reps: 2, targets: ['proxy', 'proxy-ttl'] },
    run: rb(50, 16, GET_HOT, 160_000),
  }),
  workload({
    id: 'get-miss-p1', title: 'GET all misses (proxy --capacity 1), 50 clients, -P 1', targets: LOCAL_MISS_TTL, ...MISS,
    minReps: { reps: 2, targets: ['proxy-cap1', 'proxy-cap1-ttl'] },
    run: rb(50, 1, GET_HOT, 20_000),
  }),
  workload({ id: 'get-miss-p16', title: 'GET all misses (proxy --capacity 1), 50 clients, -P 16', targets: LOCAL_MISS, ...MISS, run: rb(50, 16, GET_HOT, 160_000) }),
  // ("writes pay nothing for the cache": the cache-on and --capacity 0 proxies alternate 3 times even in --quick)
  workload({ id: 'set-p1', title: 'SET 100 B, 50 clients, -P 1', targets: LOCAL_ALL, ...WRITE, minReps: CACHE_COST_REPS, run: rb(50, 1, SET_NEW, 20_000) }),
  workload({ id: 'set-p16', title: 'SET 100 B, 50 clients, -P 16', targets: LOCAL_ALL, ...WRITE, minReps: CACHE_COST_REPS, run: rb(50, 16, SET_NEW, 160_000) }),
  workload({
    id: 'mix-zipf', title: '90/10 GET/SET, Zipf(0.99) keys, 50 clients, -P 1', targets: LOCAL_ALL, ...WRITE, compare: ['ceiling', 'relay'], hitRatio: true,
    run: {
      tool: 'loadgen',
      spec: { connections: 50, pipeline: 1, getRatio: 0.9, distribution: 'zipf', zipfS: 0.99, keyspace: KEYS, valueSize: VALUE },
      prefixFor: (t) => `mix:${t}:`,
      nilsExpected: true,
      // a (re)started proxy's cache starts cold; let the mix reach steady state first
      probeMs: 1500,
    },
  }),
  workload({ id: 'lat-hit-c1', title: '1 client, no pipelining, GET hits (latency)', targets: LOCAL_ALL, ...HIT, run: lgGet(1, 1) }),
  workload({ id: 'lat-miss-c1', title: '1 client, no pipelining, GET misses (latency; proxy --capacity 1)', targets: LOCAL_MISS, ...MISS, run: lgGet(1, 1) }),
  workload({ id: 'get-hit-10k', title: 'GET all hits, 10 KB values, 50 clients, -P 1', targets: LOCAL_ALL, ...HIT, warm: 'big', run: rb(50, 1, ['GET', 'big:__rand_int__'], 10_000) }),
  workload({ id: 'get-hit-10k-p16', title: 'GET all hits, 10 KB values, 50 clients, -P 16', targets: PAIR, warm: 'big', run: rb(50, 16, ['GET', 'big:__rand_int__'], 40_000) }),
  workload({ id: 'get-hit-100k', title: 'GET all hits, 100 KB values (1,000 keys), 50 clients, -P 1', targets: PAIR, warm: 'huge', run: rb(50, 1, ['GET', 'huge:__rand_int__'], 2_000, HUGE_KEYS) }),
  workload({ id: 'get-hit-100k-p16', title: 'GET all hits, 100 KB values (1,000 keys), 50 clients, -P 16', targets: PAIR, warm: 'huge', run: rb(50, 16, ['GET', 'huge:__rand_int__'], 8_000, HUGE_KEYS) }),
  workload({ id: 'get-hit-1000c', title: 'GET all hits, 1,000 connections, -P 1', targets: LOCAL_ALL, ...HIT, quick: false, run: rb(1000, 1, GET_HOT, 30_000) }),
  workload({ id: 'wan-lat-c1', title: 'Redis across a network (+0.5 ms each way): 1 client GET hits (latency); direct Redis on loopback for scale', ...WAN_DEFAULTS, run: lgGet(1, 1) }),
  workload({ id: 'wan-get-hit', title: 'Redis across a network (+0.5 ms each way): GET hits, 50 clients, -P 1; direct Redis on loopback for scale', ...WAN_DEFAULTS, run: lgGet(50, 1) }),
  workload({
    id: 'read-zipf', title: 'GET only, Zipf(0.99) keys, 50 clients, -P 1 (read-only skewed: Redis offload)', targets: PAIR, warm: 'hot', hitRatio: true,
    run: { tool: 'loadgen', spec: { connections: 50, pipeline: 1, getRatio: 1, distribution: 'zipf', zipfS: 0.99, keyspace: KEYS, keyPrefix: KEYSPACES.hot.prefix } },
  }),
  workload({ id: 'mget-hit-p1', title: 'MGET of 10 keys, all cached, 50 clients, -P 1', targets: PAIR, warm: 'hot', hitRatio: true, run: rb(50, 1, MGET_HOT, 20_000) }),
  workload({ id: 'mget-half-p1', title: 'MGET of 10 keys, half cached, 50 clients, -P 1', targets: PAIR, warm: 'hot', hitRatio: true, run: rb(50, 1, MGET_HALF, 20_000, 100_000_000) }),
  workload({ id: 'auth-cpr-open', title: 'GET hits, a connection per request (16 at once), no AUTH (the twin of auth-cpr)', targets: ['redis', 'proxy'], warm: 'hot', run: lgAuth(true, false) }),
  workload({ id: 'auth-cpr', title: 'GET hits, a connection per request (16 at once), each AUTH as an ACL user first', targets: ['redis', 'proxy'], warm: 'hot', run: lgAuth(true, true) }),
  workload({ id: 'auth-long-open', title: 'GET hits, 50 long-lived clients, -P 1, no AUTH (the twin of auth-long)', targets: ['redis', 'proxy'], warm: 'hot', run: lgAuth(false, false) }),
  workload({ id: 'auth-long', title: 'GET hits, 50 long-lived clients, -P 1, authenticated as an ACL user', targets: ['redis', 'proxy'], warm: 'hot', run: lgAuth(false, true) }),
  workload({ id: 'tail-hit', title: `Tails: GET hits, 50 clients, -P 1, ${TAIL_REQUESTS.toLocaleString('en-US')} requests per run`, targets: PAIR, warm: 'hot', run: { ...lgGet(50, 1), requests: TAIL_REQUESTS } }),
  workload({
    id: 'tail-set', title: `Tails: pass-through SET 100 B, 50 clients, -P 1, ${TAIL_REQUESTS.toLocaleString('en-US')} requests per run`, targets: ['redis', 'proxy', 'proxy-nocache', 'twemproxy'], isolate: true,
    run: { tool: 'loadgen', spec: { connections: 50, pipeline: 1, getRatio: 0, distribution: 'uniform', keyspace: KEYS, keyPrefix: KEYSPACES.set.prefix, valueSize: VALUE }, requests: TAIL_REQUESTS },
  }),
];
