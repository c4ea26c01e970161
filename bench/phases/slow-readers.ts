// Memory under load (issue 19): 50 clients each pipeline N cached GETs at once and read
// the replies slowly (one read every 50 ms); the proxy's peak RSS against a bound that
// follows from how it limits output.
//
// The bound: a RedisProxy client session stops reading its socket while the client's
// socket has more queued than its write high-water mark (Node's default, 16 KiB on Node 20). So what
// it holds per client is at most the replies to one read of requests (64 KiB, its read
// buffer) plus that mark: 64 KiB / 36 B per GET x 108 B per reply + 16 KiB, ~210 KB. The
// bound is the RSS before the load + clients x that + 64 MiB for V8's young generation and
// garbage not yet collected (the same allowance as test/faults/limits.test.ts).

import net from 'node:net';
import { getDefaultHighWaterMark } from 'node:stream';
import { lg, type Bench } from '../lib/bench.js';
import { rssBytes, sleep, stopManaged } from '../lib/procs.js';
import { encodeCommand } from '../lib/resp.js';
import { startProxy } from '../lib/targets.js';
import { KEYS, KEYSPACES } from '../lib/workloads.js';
import { proxyOptions } from './start-targets.js';

export const SLOW_CLIENTS = 50;
const READ_BUFFER = 64 * 1024;
// the proxy runs on this same node: its sockets' write high-water mark is this default
const HIGH_WATER = getDefaultHighWaterMark(false);
const GC_SLACK = 64 * 1024 * 1024;
const READ_EVERY_MS = 50;

export interface SlowReadersResult {
  clients: number;
  getsPerClient: number;
  rssBeforeBytes: number;
  peakRssBytes: number;
  boundBytes: number;
  /** how the bound was computed, for the report */
  boundText: string;
  seconds: number;
  failure: string | null;
}

export async function slowReaders(b: Bench): Promise<SlowReadersResult> {
  const n = b.opts.quick ? 30_000 : 300_000;
  const po = proxyOptions(b.cli, 'proxy-slow', 'RedisProxy, slow readers', 200_000, b.redis.port);
  const t = await startProxy(b.ctx, po);
  const empty = { clients: SLOW_CLIENTS, getsPerClient: n, rssBeforeBytes: Number.NaN, peakRssBytes: Number.NaN, boundBytes: Number.NaN, boundText: '', seconds: 0 };
  if (!t.ok || !t.proc) return { ...empty, failure: `RedisProxy did not start: ${t.note}` };
  const pid = t.proc.pid;
  try {
    // cache the hot keyspace, then let the process settle
    await lg(b, { port: t.port, connections: 8, pipeline: 32, durationMs: 0, maxRequests: KEYS, keyPrefix: KEYSPACES.hot.prefix, keyspace: KEYS, distribution: 'sequential', getRatio: 1 });
    await sleep(1000);
    const get = encodeCommand(['GET', `${KEYSPACES.hot.prefix}000000000000`]);
    const reply = KEYSPACES.hot.size + String(KEYSPACES.hot.size).length + 5;
    const perClient = Math.ceil(READ_BUFFER / get.length) * reply + HIGH_WATER;
    const rss0 = rssBytes(pid);
    const bound = rss0 + SLOW_CLIENTS * perClient + GC_SLACK;
    const boundText =
      `RSS before ${mb(rss0)} + ${SLOW_CLIENTS} clients × (${Math.ceil(READ_BUFFER / get.length)} replies of ${reply} B to one 64 KiB read + ${(HIGH_WATER / 1024).toFixed(0)} KiB high-water mark = ${(perClient / 1024).toFixed(0)} KiB) + 64 MiB GC allowance = ${mb(bound)}`;
    // one request buffer (n GETs of one cached key) shared by every client
    const requests = Buffer.concat(Array.from({ length: n }, () => get));
    let peak = rss0;
    const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(pid))), 50);
    const t0 = Date.now();
    try {
      await Promise.all(Array.from({ length: SLOW_CLIENTS }, () => slowClient(t.port, requests, n * reply, b.opts.quick ? 60_000 : 300_000)));
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, rssBytes(pid));
    return { ...empty, rssBeforeBytes: rss0, peakRssBytes: peak, boundBytes: bound, boundText, seconds: (Date.now() - t0) / 1000, failure: null };
  } catch (e) {
    return { ...empty, failure: (e as Error).message };
  } finally {
    await stopManaged(t.proc);
  }
}

const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(0)} MiB`;

/** PING (so the session serves hits), then all the GETs at once; reads one chunk every READ_EVERY_MS until `bytes` arrived. */
function slowClient(port: number, requests: Buffer, bytes: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    let got = -1; // -1: waiting for +PONG
    let tick: NodeJS.Timeout | undefined;
    const done = (e?: Error): void => {
      clearInterval(tick);
      clearTimeout(timer);
      s.destroy();
      if (e) reject(e);
      else resolve();
    };
    const timer = setTimeout(() => done(new Error(`slow reader: ${got} of ${bytes} reply bytes after ${timeoutMs / 1000} s`)), timeoutMs);
    s.on('error', done);
    s.on('connect', () => s.write('*1\r\n$4\r\nPING\r\n'));
    s.on('data', (chunk: Buffer) => {
      if (got < 0) {
        got = chunk.length - 7; // +PONG\r\n, then possibly replies already
        s.pause();
        s.write(requests);
        tick = setInterval(() => s.resume(), READ_EVERY_MS);
      } else {
        got += chunk.length;
        s.pause();
      }
      if (got >= bytes) done();
    });
  });
}
