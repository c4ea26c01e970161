// Phase 1: start direct Redis and every target the selected workloads need.

import type { Started } from '../lib/bench.js';
import type { Options } from '../lib/options.js';
import { ensureNutcracker, ensureProxyBuilt, startNodeServer, startProxy, startRedis, startTwemproxy, type Ctx, type ProxyOptions, type Target } from '../lib/targets.js';
import type { Workload } from '../lib/workloads.js';

export async function startTargets(ctx: Ctx, opts: Options, workloads: Workload[], notes: string[]): Promise<Started> {
  const { log } = ctx;
  const needed = new Set(workloads.flatMap((w) => w.targets));
  for (const s of opts.skipTargets) needed.delete(s);
  const targets = new Map<string, Target>();
  const { target: redis, proc: redisProc } = await startRedis(ctx);
  targets.set('redis', redis);
  log(`redis-server on ${redis.port} (pid ${redisProc.pid})`);

  const stalenessOn = opts.staleness && !opts.skipTargets.includes('proxy');
  const wantProxy = [...needed].some((t) => t.startsWith('proxy')) || opts.memory || stalenessOn;
  const built = wantProxy ? await ensureProxyBuilt(ctx, opts.build) : { cli: null, note: 'not needed' };
  if (built.note) notes.push(`RedisProxy build: ${built.note}`);
  const nutcracker = needed.has('twemproxy') || needed.has('twemproxy-wan') ? await ensureNutcracker(ctx) : null;

  const want = (id: string): boolean => needed.has(id);
  // RedisProxy instances: remembered so they can be stopped and restarted (see Workload.isolate)
  const proxyOpts = new Map<string, ProxyOptions>();
  const proxy = (id: string, label: string, capacity: number, upstreamPort: number, coherence?: 'ttl'): Promise<Target> => {
    const po = proxyOptions(built.cli, id, label, capacity, upstreamPort, coherence);
    proxyOpts.set(id, po);
    return startProxy(ctx, po);
  };
  const starters: Array<Promise<Target>> = [];
  for (const [id, label, capacity, coherence] of LOCAL_PROXIES) if (want(id)) starters.push(proxy(id, label, capacity, redis.port, coherence));
  if (want('twemproxy')) starters.push(startTwemproxy(ctx, nutcracker, 'twemproxy', 'twemproxy', redis.port));
  if (want('ceiling'))
    starters.push(startNodeServer(ctx, { id: 'ceiling', label: 'ceiling (Node Map server)', kind: 'ceiling', script: 'bench/reference/ceiling.ts', args: [], ownStorage: true }));
  if (want('relay'))
    starters.push(startNodeServer(ctx, { id: 'relay', label: 'naive relay (socket.pipe)', kind: 'relay', script: 'bench/reference/relay.ts', args: ['--upstream', `127.0.0.1:${redis.port}`], ownStorage: false }));
  for (const t of await Promise.all(starters)) targets.set(t.id, t);

  if (want('redis-wan') || want('proxy-wan') || want('twemproxy-wan')) {
    const delay = await startNodeServer(ctx, {
      id: 'redis-wan',
      label: `direct Redis over delay relay (+${opts.delayMs} ms each way)`,
      kind: 'redis',
      script: 'bench/delay-relay.ts',
      args: ['--upstream', `127.0.0.1:${redis.port}`, '--delay-ms', String(opts.delayMs)],
      ownStorage: false,
    });
    targets.set('redis-wan', delay);
    const wan: Array<Promise<Target>> = [];
    if (want('proxy-wan')) wan.push(proxy('proxy-wan', 'RedisProxy, Redis over delay relay', 200_000, delay.port));
    if (want('twemproxy-wan')) wan.push(startTwemproxy(ctx, nutcracker, 'twemproxy-wan', 'twemproxy, Redis over delay relay', delay.port));
    for (const t of await Promise.all(wan)) targets.set(t.id, t);
  }
  for (const t of targets.values()) log(`${t.id.padEnd(14)} ${t.ok ? `port ${t.port}${t.proc ? ` pid ${t.proc.pid}` : ''}${t.adminPort ? ` admin ${t.adminPort}` : ''}` : `UNAVAILABLE: ${t.note}`}`);
  return { redis, redisProc, targets, proxyOpts, cli: built.cli, stalenessOn };
}

/** The RedisProxy instances on loopback: id, label, --capacity, --coherence. */
const LOCAL_PROXIES: Array<[string, string, number, 'ttl' | undefined]> = [
  ['proxy', 'RedisProxy (cache on)', 200_000, undefined],
  ['proxy-ttl', 'RedisProxy --coherence ttl (cache on, no tracking)', 200_000, 'ttl'],
  ['proxy-cap1', 'RedisProxy --capacity 1 (misses)', 1, undefined],
  ['proxy-cap1-ttl', 'RedisProxy --capacity 1 --coherence ttl (misses, no tracking)', 1, 'ttl'],
  ['proxy-nocache', 'RedisProxy --capacity 0 (cache off)', 0, undefined],
];

export function proxyOptions(cli: string | null, id: string, label: string, capacity: number, upstreamPort: number, coherence?: 'ttl'): ProxyOptions {
  return { id, label, cli, upstreamPort, capacity, ttlSeconds: 3600, withAdmin: true, ...(coherence ? { coherence } : {}) };
}
