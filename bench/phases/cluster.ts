// Redis Cluster (issue 15): a cluster of 3 masters (and 3 replicas) driven directly by
// `redis-benchmark --cluster` (Redis's own cluster-aware mode) against the proxy in front of
// it (`redis-benchmark` on the proxy's port, cluster-unaware), SET then cached GET at -P 1 and
// -P 16, ratios in one run. Runs on its own (it starts and stops its cluster):
//
//   npm run build && node --import tsx bench/phases/cluster.ts [--requests N] [--json out.json]
//
// The GETs through the proxy are cache hits after the first read of each of the 10,000 keys.

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { parseRbCsv } from '../lib/redis-benchmark.js';
import { startCluster } from '../../test/helpers/cluster.js';
import { startProxy } from '../../test/helpers/proxy.js';
import { startRedis } from '../../test/helpers/redis.js';
import { RawClient } from '../../test/helpers/raw-client.js';
import { cmd } from '../../test/helpers/resp.js';
import { keyHashSlot } from '../../src/cluster/key-slot.js';
import type { RedisCluster } from '../../test/helpers/cluster.js';

export interface ClusterBenchRow {
  target: 'cluster-direct' | 'proxy';
  test: 'SET' | 'GET';
  pipeline: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
}

const KEYSPACE = 10_000;
const CLIENTS = 50;

function rb(port: number, cluster: boolean, pipeline: number, requests: number): Promise<ClusterBenchRow[]> {
  const args = ['-p', String(port), ...(cluster ? ['--cluster'] : []), '-t', 'set,get', '-r', String(KEYSPACE), '-n', String(requests), '-c', String(CLIENTS), '-P', String(pipeline), '--csv'];
  return new Promise((resolve, reject) => {
    execFile('redis-benchmark', args, { timeout: 300_000, maxBuffer: 1 << 20 }, (err, stdout) => {
      if (err) return reject(err);
      const lines = stdout.split(/\r?\n/).filter((l) => l.startsWith('"'));
      const header = lines.find((l) => l.startsWith('"test"')) ?? '';
      const rows = lines.filter((l) => !l.startsWith('"test"')).map((l) => parseRbCsv(`${header}\n${l}`));
      resolve(
        rows.map((r) => ({
          target: cluster ? 'cluster-direct' : 'proxy',
          test: r.test.startsWith('SET') ? 'SET' : 'GET',
          pipeline,
          rps: r.rps,
          p50Ms: r.p50Ms,
          p99Ms: r.p99Ms,
        })),
      );
    });
  });
}

export interface Staleness {
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Where a key's direct writes go: the port of the master owning its slot. */
type OwnerOf = (key: string) => number;

/**
 * Staleness of direct writes: a key read (and cached) through the proxy is written directly on
 * its master; the ms from that SET's reply until the proxy serves the new value, per key. The
 * same probe runs against one Redis behind its own proxy, so the two can be compared.
 */
async function staleness(ownerOf: OwnerOf, ports: number[], proxyPort: number, samples: number): Promise<Staleness> {
  const c = await RawClient.connect(proxyPort);
  const direct = new Map<number, RawClient>();
  for (const port of ports) direct.set(port, await RawClient.connect(port));
  const ms: number[] = [];
  try {
    for (let i = 0; i < samples; i++) {
      const key = `stale:${i}`;
      c.write(cmd('SET', key, 'old') + cmd('GET', key) + cmd('GET', key));
      await c.readFrames(3);
      const d = direct.get(ownerOf(key))!;
      d.write(cmd('SET', key, 'new'));
      await d.readFrame();
      const t0 = performance.now();
      for (;;) {
        c.write(cmd('GET', key));
        if ((await c.readFrame()).toString() === '$3\r\nnew\r\n') break;
      }
      ms.push(performance.now() - t0);
    }
  } finally {
    c.destroy();
    for (const d of direct.values()) d.destroy();
  }
  ms.sort((a, b) => a - b);
  const at = (q: number): number => Number(ms[Math.min(ms.length - 1, Math.floor(q * ms.length))].toFixed(3));
  return { samples, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: at(1) };
}

async function clusterStaleness(cluster: RedisCluster, proxyPort: number, samples: number): Promise<Staleness> {
  const masters = (await cluster.nodes()).filter((n) => n.role === 'master' && n.slots.length > 0);
  const ownerOf = (key: string): number => {
    const slot = keyHashSlot(Buffer.from(key));
    return masters.find((m) => m.slots.some(([a, b]) => slot >= a && slot <= b))!.port;
  };
  return staleness(ownerOf, masters.map((m) => m.port), proxyPort, samples);
}

/** The same probe against one Redis behind a proxy of its own: the floor the cluster is held to. */
async function singleStaleness(samples: number): Promise<Staleness> {
  const redis = await startRedis({ args: ['--save', '', '--appendonly', 'no'] });
  const proxy = await startProxy({ redisPort: redis.port, args: ['--capacity', '200000', '--ttl', '3600', '--log-level', 'warn'] });
  try {
    return await staleness(() => redis.port, [redis.port], proxy.port, samples);
  } finally {
    await proxy.stop();
    await redis.stop();
  }
}

export async function clusterBench(requests: number): Promise<{ rows: ClusterBenchRow[]; staleness: Staleness; singleStaleness: Staleness }> {
  const cluster = await startCluster({ args: ['--save', '', '--appendonly', 'no'] });
  const proxy = await startProxy({ redisPort: cluster.ports[0], args: ['--capacity', '200000', '--ttl', '3600', '--log-level', 'warn'], timeoutMs: 20_000 });
  try {
    // (the proxy reads the topology and opens its links; the first GETs of each key fill)
    await new Promise((r) => setTimeout(r, 2000));
    const rows: ClusterBenchRow[] = [];
    for (const pipeline of [1, 16]) {
      const n = pipeline === 1 ? requests : requests * 4;
      // interleaved: direct, proxy, direct, proxy (the second pair is the one reported: warm)
      for (let rep = 0; rep < 2; rep++) {
        const direct = await rb(cluster.ports[0], true, pipeline, n);
        const viaProxy = await rb(proxy.port, false, pipeline, n);
        if (rep === 1) rows.push(...direct, ...viaProxy);
      }
    }
    // one Redis's probe right after the cluster's, so both see about the same machine
    const st = await clusterStaleness(cluster, proxy.port, 300);
    return { rows, staleness: st, singleStaleness: await singleStaleness(300) };
  } finally {
    await proxy.stop();
    await cluster.stop();
  }
}

function table(rows: ClusterBenchRow[]): string {
  const out = ['| test | -P | cluster direct (redis-benchmark --cluster) ops/s | proxy ops/s | proxy / direct | p99 ms direct | p99 ms proxy |', '|---|---|---|---|---|---|---|'];
  for (const pipeline of [1, 16]) {
    for (const test of ['SET', 'GET'] as const) {
      const d = rows.find((r) => r.target === 'cluster-direct' && r.test === test && r.pipeline === pipeline);
      const p = rows.find((r) => r.target === 'proxy' && r.test === test && r.pipeline === pipeline);
      if (!d || !p) continue;
      out.push(`| ${test === 'GET' ? 'GET (cached at the proxy)' : 'SET'} | ${pipeline} | ${Math.round(d.rps)} | ${Math.round(p.rps)} | ${(p.rps / d.rps).toFixed(2)} | ${d.p99Ms} | ${p.p99Ms} |`);
    }
  }
  return out.join('\n');
}

if (process.argv[1]?.endsWith('cluster.ts')) {
  const argv = process.argv.slice(2);
  const at = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const requests = Number(at('--requests') ?? 100_000);
  const { rows, staleness: st, singleStaleness: one } = await clusterBench(requests);
  console.log(table(rows));
  console.log(`\nstaleness of direct writes on the masters, through the proxy's cache (${st.samples} keys): p50 ${st.p50Ms} ms, p99 ${st.p99Ms} ms, max ${st.maxMs} ms`);
  console.log(`the same against one Redis behind the proxy, in the same run (${one.samples} keys): p50 ${one.p50Ms} ms, p99 ${one.p99Ms} ms, max ${one.maxMs} ms`);
  const json = at('--json');
  if (json) fs.writeFileSync(json, JSON.stringify({ date: new Date().toISOString(), requests, clients: CLIENTS, keyspace: KEYSPACE, rows, staleness: st, singleStaleness: one }, null, 2));
  process.exit(0);
}
