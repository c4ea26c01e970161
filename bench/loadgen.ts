// A small closed-loop Redis load generator: raw sockets, pre-encoded commands,
// a fixed number of requests in flight per connection (the pipeline depth), and
// per-request latency recorded in an HDR histogram (nanosecond units).
//
// Three ways to use it:
//   - library:   import { runLoad } from './loadgen.js'
//   - CLI:       node --import tsx bench/loadgen.ts --port 6379 --connections 50 --duration 3
//   - IPC child: bench/run.ts fork()s it once and sends { id, spec } messages, so
//                the load generator lives on its own event loop (and its own core).

import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import * as hdr from 'hdr-histogram-js';
import { encodeCommand, scanReplies, valueFor } from './lib/resp.js';

export type Distribution = 'uniform' | 'zipf' | 'sequential';

export interface LoadSpec {
  host: string;
  port: number;
  connections: number;
  /** requests kept in flight per connection (1 = no pipelining) */
  pipeline: number;
  /** stop issuing after this long (ms); 0 = no time limit (use maxRequests) */
  durationMs: number;
  /** stop issuing after this many requests in total; 0 = no count limit */
  maxRequests: number;
  /** hard cap for the whole run, including connecting and draining */
  timeoutMs: number;
  keyPrefix: string;
  /** number of distinct keys: prefix + 12-digit zero-padded index in [keyOffset, keyOffset+keyspace) */
  keyspace: number;
  keyOffset: number;
  distribution: Distribution;
  /** Zipf exponent (YCSB uses 0.99) */
  zipfS: number;
  /** fraction of GETs; the rest are SETs (1 = GET only, 0 = SET only) */
  getRatio: number;
  /** SET value size in bytes */
  valueSize: number;
  seed: number;
  /**
   * Send one PING per connection and wait for it before the clock starts, so a
   * proxy has finished setting up each connection (RedisProxy, for example, does
   * not cache a connection's first requests until it has learnt its state).
   */
  pingFirst: boolean;
  /** AUTH arguments ([user,] password) each connection sends first, before the clock starts (instead of the PING); [] for none */
  auth: string[];
  /**
   * Each request on a connection of its own (PHP-FPM, CGI, serverless): connect, AUTH (if
   * any, waiting for its reply), GET, close; its latency counts all of it. `connections`
   * such loops run at once; GETs only.
   */
  connectPerRequest: boolean;
}

export interface LatencySummaryUs {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export interface LoadResult {
  requests: number;
  gets: number;
  sets: number;
  nils: number;
  errors: number;
  elapsedMs: number;
  opsPerSec: number;
  latencyUs: LatencySummaryUs;
  connectMs: number;
  timedOut: boolean;
  failure: string | null;
}

export const defaultSpec: LoadSpec = {
  host: '127.0.0.1',
  port: 6379,
  connections: 50,
  pipeline: 1,
  durationMs: 3000,
  maxRequests: 0,
  timeoutMs: 60_000,
  keyPrefix: 'key:',
  keyspace: 10_000,
  keyOffset: 0,
  distribution: 'uniform',
  zipfS: 0.99,
  getRatio: 1,
  valueSize: 100,
  seed: 42,
  pingFirst: true,
  auth: [],
  connectPerRequest: false,
};

// ---------------------------------------------------------------------------
// Pre-encoded command tables. Keys have a fixed width, so every GET (and every
// SET with a fixed value size) for one prefix has the same encoded length and a
// whole keyspace lives in one contiguous Buffer: command i = slice(i*L, (i+1)*L).

interface CommandTable {
  buf: Buffer;
  stride: number;
  count: number;
}

const tableCache = new Map<string, CommandTable>();

function bulk(s: string): string {
  return `$${Buffer.byteLength(s, 'latin1')}\r\n${s}\r\n`;
}

function buildTable(kind: 'GET' | 'SET', prefix: string, offset: number, count: number, valueSize: number): CommandTable {
  const cacheKey = `${kind}|${prefix}|${offset}|${count}|${valueSize}`;
  const hit = tableCache.get(cacheKey);
  if (hit) return hit;
  const sampleKey = prefix + '0'.repeat(12);
  const head = kind === 'GET' ? `*2\r\n$3\r\nGET\r\n` : `*3\r\n$3\r\nSET\r\n`;
  const keyPart = bulk(sampleKey);
  const valuePart = kind === 'SET' ? `$${valueSize}\r\n`.length + valueSize + 2 : 0;
  const stride = head.length + keyPart.length + valuePart;
  const buf = Buffer.allocUnsafe(stride * count);
  for (let i = 0; i < count; i++) {
    const idx = offset + i;
    const key = prefix + String(idx).padStart(12, '0');
    let p = i * stride;
    p += buf.write(head, p, 'latin1');
    p += buf.write(bulk(key), p, 'latin1');
    if (kind === 'SET') {
      p += buf.write(`$${valueSize}\r\n`, p, 'latin1');
      p += valueFor(idx, valueSize).copy(buf, p);
      p += buf.write('\r\n', p, 'latin1');
    }
    if (p !== (i + 1) * stride) throw new Error('key width mismatch while encoding');
  }
  const t: CommandTable = { buf, stride, count };
  // keep the cache small: big tables (1M keys) are rebuilt when needed
  if (tableCache.size > 16) tableCache.clear();
  tableCache.set(cacheKey, t);
  return t;
}

// ---------------------------------------------------------------------------
// Seeded randomness: precomputed streams so the hot loop is table lookups.

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STREAM = 1 << 18;

/** Sampled key indexes (0-based within the keyspace) in a cyclic stream. */
function keyStream(dist: Distribution, keyspace: number, s: number, seed: number): Uint32Array {
  const out = new Uint32Array(STREAM);
  const rnd = mulberry32(seed);
  if (dist === 'zipf') {
    const cdf = new Float64Array(keyspace);
    let sum = 0;
    for (let i = 0; i < keyspace; i++) {
      sum += 1 / Math.pow(i + 1, s);
      cdf[i] = sum;
    }
    for (let i = 0; i < keyspace; i++) cdf[i] /= sum;
    for (let j = 0; j < STREAM; j++) {
      const u = rnd();
      let lo = 0;
      let hi = keyspace - 1;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (cdf[mid] < u) lo = mid + 1;
        else hi = mid;
      }
      out[j] = lo;
    }
  } else {
    for (let j = 0; j < STREAM; j++) out[j] = Math.floor(rnd() * keyspace);
  }
  return out;
}

/** 1 = GET, 0 = SET, in a cyclic stream. */
function opStream(getRatio: number, seed: number): Uint8Array {
  const out = new Uint8Array(STREAM);
  const rnd = mulberry32(seed ^ 0x5bd1e995);
  for (let j = 0; j < STREAM; j++) out[j] = rnd() < getRatio ? 1 : 0;
  return out;
}

function newHistogram(): hdr.Histogram {
  return hdr.build({
    bitBucketSize: 64,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 120_000_000_000, // 120 s in ns
    numberOfSignificantValueDigits: 3,
    useWebAssembly: false,
  });
}

// ---------------------------------------------------------------------------

export async function runLoad(partial: Partial<LoadSpec>): Promise<LoadResult> {
  const spec: LoadSpec = { ...defaultSpec, ...partial };
  if (spec.durationMs <= 0 && spec.maxRequests <= 0) throw new Error('need durationMs or maxRequests');
  if (spec.connectPerRequest) return runConnectPerRequest(spec);
  const getTable = spec.getRatio > 0 ? buildTable('GET', spec.keyPrefix, spec.keyOffset, spec.keyspace, 0) : null;
  const setTable = spec.getRatio < 1 ? buildTable('SET', spec.keyPrefix, spec.keyOffset, spec.keyspace, spec.valueSize) : null;
  const sequential = spec.distribution === 'sequential';
  const keys = sequential ? null : keyStream(spec.distribution, spec.keyspace, spec.zipfS, spec.seed);
  const ops = spec.getRatio > 0 && spec.getRatio < 1 ? opStream(spec.getRatio, spec.seed) : null;
  const allGets = spec.getRatio >= 1;
  const hist = newHistogram();

  let issued = 0;
  let completed = 0;
  let gets = 0;
  let sets = 0;
  let nils = 0;
  let errors = 0;
  let stopIssuing = false;
  let lastReplyAt = 0;
  let failure: string | null = null;
  const maxReq = spec.maxRequests > 0 ? spec.maxRequests : Number.MAX_SAFE_INTEGER;
  let seqNext = 0;

  // one command: returns the buffer slice to send
  const nextCommand = (conn: number, cursor: number): Buffer => {
    let idx: number;
    if (sequential) {
      idx = seqNext++ % spec.keyspace;
    } else {
      idx = (keys as Uint32Array)[(cursor + conn * 7919) & (STREAM - 1)];
    }
    let isGet = allGets;
    if (ops !== null) isGet = ops[(cursor + conn * 104729) & (STREAM - 1)] === 1;
    if (isGet) {
      gets++;
      const t = getTable as CommandTable;
      return t.buf.subarray(idx * t.stride, (idx + 1) * t.stride);
    }
    sets++;
    const t = setTable as CommandTable;
    return t.buf.subarray(idx * t.stride, (idx + 1) * t.stride);
  };

  const sockets: net.Socket[] = [];
  const t0 = performance.now();

  // Connect everything first (bounded by the overall timeout), then start together.
  try {
    await Promise.all(
      Array.from({ length: spec.connections }, (_, i) =>
        new Promise<void>((resolve, reject) => {
          const s = net.connect({ host: spec.host, port: spec.port });
          s.setNoDelay(true);
          sockets[i] = s;
          const onErr = (e: Error): void => reject(e);
          s.once('error', onErr);
          s.once('connect', () => {
            s.off('error', onErr);
            resolve();
          });
        }),
      ),
    );
  } catch (e) {
    for (const s of sockets) s?.destroy();
    throw new Error(`connect to ${spec.host}:${spec.port} failed: ${(e as Error).message}`);
  }
  if (spec.pingFirst || spec.auth.length > 0) {
    const ping = spec.auth.length > 0 ? encodeCommand(['AUTH', ...spec.auth]) : Buffer.from('*1\r\n$4\r\nPING\r\n', 'latin1');
    try {
      await Promise.all(
        sockets.map(
          (s) =>
            new Promise<void>((resolve, reject) => {
              let acc = Buffer.alloc(0);
              const timer = setTimeout(() => reject(new Error('no PING reply within 10 s')), 10_000);
              const onData = (d: Buffer): void => {
                acc = Buffer.concat([acc, d]);
                const r = scanReplies(acc, 0, 1);
                if (r.replies === 1) {
                  clearTimeout(timer);
                  s.off('data', onData);
                  // (a PING may be refused: the ceiling server knows only GET and SET)
                  if (r.errors > 0 && spec.auth.length > 0) reject(new Error(`AUTH refused: ${acc.toString('latin1').trim()}`));
                  else if (r.end < acc.length) reject(new Error('unexpected bytes after the PING reply'));
                  else resolve();
                }
              };
              s.on('data', onData);
              s.once('error', reject);
              s.write(ping);
            }),
        ),
      );
    } catch (e) {
      for (const s of sockets) s.destroy();
      throw new Error(`PING before start failed on ${spec.host}:${spec.port}: ${(e as Error).message}`);
    }
  }
  const connectMs = performance.now() - t0;

  let startAt = 0;
  let deadline = Number.POSITIVE_INFINITY;

  const result = await new Promise<{ timedOut: boolean }>((resolve) => {
    let active = spec.connections;
    let finished = false;
    const finish = (timedOut: boolean): void => {
      if (finished) return;
      finished = true;
      clearTimeout(hardTimer);
      resolve({ timedOut });
    };
    const hardTimer = setTimeout(() => {
      failure ??= `timed out after ${spec.timeoutMs} ms`;
      finish(true);
    }, spec.timeoutMs);

    const connDone = (): void => {
      active--;
      if (active === 0) finish(false);
    };

    const primers: Array<() => void> = [];
    sockets.forEach((sock, ci) => {
      const sendTimes = new Float64Array(spec.pipeline);
      let head = 0; // index of the oldest in-flight request
      let inflight = 0;
      let cursor = ci * 31;
      let pending: Buffer | null = null;
      let done = false;

      const issue = (n: number, now: number): void => {
        const k = Math.min(n, maxReq - issued);
        if (k <= 0 || stopIssuing) return;
        issued += k;
        if (k === 1) {
          sock.write(nextCommand(ci, cursor++));
          sendTimes[(head + inflight) % spec.pipeline] = now;
          inflight++;
          return;
        }
        const parts: Buffer[] = new Array<Buffer>(k);
        for (let j = 0; j < k; j++) {
          parts[j] = nextCommand(ci, cursor++);
          sendTimes[(head + inflight) % spec.pipeline] = now;
          inflight++;
        }
        sock.write(Buffer.concat(parts));
      };

      const closeIfDone = (): void => {
        if (!done && inflight === 0 && (stopIssuing || issued >= maxReq)) {
          done = true;
          sock.end();
          connDone();
        }
      };

      sock.on('data', (chunk: Buffer) => {
        const now = performance.now();
        let data = chunk;
        if (pending !== null) {
          data = Buffer.concat([pending, chunk]);
          pending = null;
        }
        let r;
        try {
          r = scanReplies(data, 0, inflight);
        } catch (e) {
          failure ??= `bad reply: ${(e as Error).message}`;
          stopIssuing = true;
          sock.destroy();
          return;
        }
        if (r.end < data.length) pending = data.subarray(r.end);
        const n = r.replies;
        if (n > 0) {
          for (let j = 0; j < n; j++) {
            const lat = now - sendTimes[head];
            head = (head + 1) % spec.pipeline;
            hist.recordValue(Math.max(1, Math.round(lat * 1e6)));
          }
          inflight -= n;
          completed += n;
          nils += r.nils;
          errors += r.errors;
          lastReplyAt = now;
          if (now >= deadline) stopIssuing = true;
          if (!stopIssuing) issue(n, now);
        }
        closeIfDone();
      });
      sock.on('error', (e) => {
        failure ??= `socket error: ${e.message}`;
      });
      sock.on('close', () => {
        if (!done) {
          if (inflight > 0) failure ??= 'connection closed with requests in flight';
          done = true;
          connDone();
        }
      });
      primers.push(() => {
        issue(spec.pipeline, performance.now());
        closeIfDone();
      });
    });

    startAt = performance.now();
    if (spec.durationMs > 0) {
      deadline = startAt + spec.durationMs;
      // also stop issuing on a timer, in case no replies ever arrive
      setTimeout(() => {
        stopIssuing = true;
      }, spec.durationMs + 1).unref();
    }
    for (const prime of primers) prime();
  });

  for (const s of sockets) s.destroy();
  const elapsedMs = (lastReplyAt > startAt ? lastReplyAt : performance.now()) - startAt;
  const q = (p: number): number => hist.getValueAtPercentile(p) / 1000;
  const out: LoadResult = {
    requests: completed,
    gets,
    sets,
    nils,
    errors,
    elapsedMs,
    opsPerSec: elapsedMs > 0 ? (completed * 1000) / elapsedMs : 0,
    latencyUs: {
      p50: q(50),
      p90: q(90),
      p99: q(99),
      p999: q(99.9),
      max: hist.maxValue / 1000,
      mean: hist.mean / 1000,
    },
    connectMs,
    timedOut: result.timedOut,
    failure,
  };
  hist.destroy();
  return out;
}

/**
 * Connect-per-request clients: `connections` loops, each connect → [AUTH → its reply] → GET →
 * its reply → close, until the deadline (or maxRequests GETs in all). A request's latency
 * is from the connect to the GET's reply.
 */
async function runConnectPerRequest(spec: LoadSpec): Promise<LoadResult> {
  const table = buildTable('GET', spec.keyPrefix, spec.keyOffset, spec.keyspace, 0);
  const keys = keyStream(spec.distribution === 'sequential' ? 'uniform' : spec.distribution, spec.keyspace, spec.zipfS, spec.seed);
  const authCmd = spec.auth.length > 0 ? encodeCommand(['AUTH', ...spec.auth]) : null;
  const hist = newHistogram();
  const maxReq = spec.maxRequests > 0 ? spec.maxRequests : Number.MAX_SAFE_INTEGER;
  let issued = 0;
  let completed = 0;
  let nils = 0;
  let errors = 0;
  let failure: string | null = null;
  const t0 = performance.now();
  const deadline = spec.durationMs > 0 ? t0 + spec.durationMs : Number.POSITIVE_INFINITY;
  const hardDeadline = t0 + spec.timeoutMs;
  /** one request on a new connection; resolves false when it failed */
  const once = (cursor: number): Promise<boolean> =>
    new Promise((resolve) => {
      const start = performance.now();
      const idx = keys[cursor & (STREAM - 1)];
      const get = table.buf.subarray(idx * table.stride, (idx + 1) * table.stride);
      const s = net.connect({ host: spec.host, port: spec.port });
      s.setNoDelay(true);
      let acc: Buffer = Buffer.alloc(0);
      let authed = authCmd === null;
      const timer = setTimeout(() => end(false, 'no reply within 10 s'), 10_000);
      const end = (ok: boolean, why?: string): void => {
        clearTimeout(timer);
        s.destroy();
        if (!ok) failure ??= why ?? 'failed';
        resolve(ok);
      };
      s.on('error', (e) => end(false, `socket error: ${e.message}`));
      s.on('connect', () => s.write(authCmd ?? get));
      s.on('data', (d: Buffer) => {
        acc = acc.length === 0 ? d : Buffer.concat([acc, d]);
        const r = scanReplies(acc, 0, 1);
        if (r.replies === 0) return;
        if (!authed) {
          authed = true;
          if (r.errors > 0) return end(false, `AUTH refused: ${acc.toString('latin1').trim()}`);
          acc = acc.subarray(r.end);
          s.write(get);
          return;
        }
        nils += r.nils;
        errors += r.errors;
        completed++;
        hist.recordValue(Math.max(1, Math.round((performance.now() - start) * 1e6)));
        end(true);
      });
    });
  const loop = async (ci: number): Promise<void> => {
    for (let c = ci * 7919; ; c++) {
      const now = performance.now();
      if (now >= deadline || now >= hardDeadline || issued >= maxReq || failure !== null) return;
      issued++;
      if (!(await once(c))) return;
    }
  };
  await Promise.all(Array.from({ length: spec.connections }, (_, i) => loop(i)));
  const elapsedMs = performance.now() - t0;
  const q = (p: number): number => hist.getValueAtPercentile(p) / 1000;
  const out: LoadResult = {
    requests: completed,
    gets: completed,
    sets: 0,
    nils,
    errors,
    elapsedMs,
    opsPerSec: elapsedMs > 0 ? (completed * 1000) / elapsedMs : 0,
    latencyUs: { p50: q(50), p90: q(90), p99: q(99), p999: q(99.9), max: hist.maxValue / 1000, mean: hist.mean / 1000 },
    connectMs: 0,
    timedOut: performance.now() >= hardDeadline,
    failure,
  };
  hist.destroy();
  return out;
}

// ---------------------------------------------------------------------------
// CLI / IPC entry point

interface IpcRequest {
  id: number;
  spec: Partial<LoadSpec>;
}

function parseCli(argv: string[]): Partial<LoadSpec> {
  const spec: Partial<LoadSpec> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    const num = (): number => {
      i++;
      const n = Number(v);
      if (!Number.isFinite(n)) throw new Error(`${a} needs a number`);
      return n;
    };
    switch (a) {
      case '--host':
        spec.host = v;
        i++;
        break;
      case '--port':
      case '-p':
        spec.port = num();
        break;
      case '--connections':
      case '-c':
        spec.connections = num();
        break;
      case '--pipeline':
      case '-P':
        spec.pipeline = num();
        break;
      case '--duration':
        spec.durationMs = num() * 1000;
        break;
      case '--requests':
      case '-n':
        spec.maxRequests = num();
        break;
      case '--keys':
        spec.keyspace = num();
        break;
      case '--prefix':
        spec.keyPrefix = v;
        i++;
        break;
      case '--dist':
        spec.distribution = v as Distribution;
        i++;
        break;
      case '--zipf-s':
        spec.zipfS = num();
        break;
      case '--get-ratio':
        spec.getRatio = num();
        break;
      case '--value-size':
      case '-d':
        spec.valueSize = num();
        break;
      case '--seed':
        spec.seed = num();
        break;
      case '--no-ping':
        spec.pingFirst = false;
        break;
      case '--auth':
        // `--auth pw` or `--auth user:pw` (a password with a colon: give the user too)
        spec.auth = v.includes(':') ? [v.slice(0, v.indexOf(':')), v.slice(v.indexOf(':') + 1)] : [v];
        i++;
        break;
      case '--connect-per-request':
        spec.connectPerRequest = true;
        break;
      case '--help':
      case '-h':
        process.stdout.write(
          'usage: node --import tsx bench/loadgen.ts [--host H] [--port P] [-c conns] [-P depth]\n' +
            '       [--duration s | -n requests] [--keys N] [--prefix key:] [--dist uniform|zipf|sequential]\n' +
            '       [--get-ratio 0..1] [--value-size bytes] [--seed n] [--no-ping]\n' +
            '       [--auth [user:]password] [--connect-per-request]\nprints a JSON LoadResult\n',
        );
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${a}`);
    }
  }
  if (spec.maxRequests && spec.durationMs === undefined) spec.durationMs = 0;
  return spec;
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  if (typeof process.send === 'function') {
    // IPC mode: serve requests one at a time until the parent disconnects.
    process.on('message', (msg: IpcRequest) => {
      runLoad(msg.spec).then(
        (result) => process.send?.({ id: msg.id, result }),
        (e: unknown) => process.send?.({ id: msg.id, error: (e as Error).message ?? String(e) }),
      );
    });
    process.on('disconnect', () => process.exit(0));
    process.send({ ready: true });
  } else {
    runLoad(parseCli(process.argv.slice(2))).then(
      (r) => {
        process.stdout.write(JSON.stringify(r, null, 2) + '\n');
      },
      (e: unknown) => {
        process.stderr.write(`loadgen: ${(e as Error).message}\n`);
        process.exit(1);
      },
    );
  }
}
