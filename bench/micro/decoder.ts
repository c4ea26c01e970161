// Micro benchmark of the two parsers on the proxy's hot path, on fixed workloads:
//   - RequestDecoder: 1M pipelined `GET key:N` multibulk requests, fed in 16 KB chunks
//     (the size of a socket read), drained with next() after each push;
//   - ReplyScanner: 1M `$100` bulk replies, fed in 16 KB chunks, one scan() per reply.
// One line per case: best of a few rounds after a warm-up round.
//
//   node --import tsx bench/micro/decoder.ts [--json]

import { performance } from 'node:perf_hooks';
import { DecodeStatus, RequestDecoder } from '../../src/resp/request-decoder.js';
import { ReplyScanner } from '../../src/resp/reply-scanner.js';

const N = 1_000_000;
const CHUNK = 16 * 1024;
const ROUNDS = 3;

function chunks(buf: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
  return out;
}

// 1M GET requests, encoded once
const reqParts: Buffer[] = [];
for (let i = 0; i < N; i++) {
  const key = `key:${i}`;
  reqParts.push(Buffer.from(`*2\r\n$3\r\nGET\r\n$${key.length}\r\n${key}\r\n`, 'latin1'));
}
const requests = Buffer.concat(reqParts);
reqParts.length = 0;
const requestChunks = chunks(requests, CHUNK);

// 1M `$100` replies
const oneReply = Buffer.concat([Buffer.from('$100\r\n'), Buffer.alloc(100, 0x76), Buffer.from('\r\n')]);
const replies = Buffer.alloc(oneReply.length * N);
for (let i = 0; i < N; i++) oneReply.copy(replies, i * oneReply.length);
const replyChunks = chunks(replies, CHUNK);

function decodeAll(): number {
  const d = new RequestDecoder({ maxBulkLen: 512 * 1024 * 1024 });
  let n = 0;
  for (const c of requestChunks) {
    d.push(c);
    while (d.next() === DecodeStatus.Request) n++;
  }
  return n;
}

function scanAll(): number {
  const sc = new ReplyScanner();
  let n = 0;
  for (const c of replyChunks) {
    let pos = 0;
    for (;;) {
      const end = sc.scan(c, pos);
      if (end < 0) break;
      n++;
      pos = end;
    }
  }
  return n;
}

interface Row {
  name: string;
  ops: number;
  bytes: number;
  bestMs: number;
  opsPerSec: number;
  mbPerSec: number;
}

function measure(name: string, bytes: number, fn: () => number): Row {
  const got = fn(); // warm-up round, and a correctness check
  if (got !== N) throw new Error(`${name}: expected ${N} operations, counted ${got}`);
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    fn();
    best = Math.min(best, performance.now() - t0);
  }
  return { name, ops: N, bytes, bestMs: best, opsPerSec: (N / best) * 1000, mbPerSec: bytes / 1e6 / (best / 1000) };
}

const rows = [
  measure(`RequestDecoder: ${N.toLocaleString('en-US')} pipelined GET key:N, 16 KB chunks`, requests.length, decodeAll),
  measure(`ReplyScanner: ${N.toLocaleString('en-US')} $100 replies, 16 KB chunks`, replies.length, scanAll),
];

if (process.argv.includes('--json')) {
  process.stdout.write(JSON.stringify({ title: 'decoder', node: process.version, rows }, null, 2) + '\n');
} else {
  for (const r of rows) {
    process.stdout.write(
      `${r.name}: ${r.bestMs.toFixed(1)} ms, ${Math.round(r.opsPerSec).toLocaleString('en-US')} ops/s, ${r.mbPerSec.toFixed(0)} MB/s (best of ${ROUNDS})\n`,
    );
  }
}
