// CEILING reference target: the fastest a Node.js cache hit can plausibly be.
// A plain net server that answers GET from a Map of pre-encoded replies and
// stores on SET — nothing else (no upstream, no eviction, no TTL, no metrics).
// Anything that is not GET/SET gets an error reply.
//
//   node --import tsx bench/reference/ceiling.ts --port 7000

import net from 'node:net';
import { arg, isMain, listen, runAsChild } from '../lib/server-skeleton.js';

const NIL = Buffer.from('$-1\r\n', 'latin1');
const OK = Buffer.from('+OK\r\n', 'latin1');
const ERR_UNKNOWN = Buffer.from('-ERR unknown command (ceiling server supports only GET and SET)\r\n', 'latin1');
const ERR_PROTO = Buffer.from('-ERR protocol error (ceiling server)\r\n', 'latin1');

/** key (latin1 string) -> complete encoded bulk-string reply */
export type CeilingStore = Map<string, Buffer>;

function readInt(buf: Buffer, pos: number, end: number): number {
  let n = 0;
  for (let i = pos; i < end; i++) n = n * 10 + (buf[i] - 48);
  return n;
}

/** Is buf[s, s+3) "get"/"set" case-insensitively? returns 1 for GET, 2 for SET, 0 otherwise */
function verb(buf: Buffer, s: number, len: number): number {
  if (len !== 3) return 0;
  const a = buf[s] | 0x20;
  const b = buf[s + 1] | 0x20;
  const c = buf[s + 2] | 0x20;
  if (b !== 0x65 || c !== 0x74) return 0; // "et"
  if (a === 0x67) return 1; // g
  if (a === 0x73) return 2; // s
  return 0;
}

export function handleConnection(sock: net.Socket, store: CeilingStore): void {
  sock.setNoDelay(true);
  let pending: Buffer | null = null;
  sock.on('data', (chunk: Buffer) => {
    const buf: Buffer = pending === null ? chunk : Buffer.concat([pending, chunk]);
    pending = null;
    const len = buf.length;
    const out: Buffer[] = [];
    let pos = 0;
    while (pos < len) {
      const start = pos;
      if (buf[pos] !== 0x2a /* * */) {
        out.push(ERR_PROTO);
        sock.end(Buffer.concat(out));
        return;
      }
      let nl = buf.indexOf(13, pos);
      if (nl < 0 || nl + 1 >= len) break;
      const argc = readInt(buf, pos + 1, nl);
      pos = nl + 2;
      // parse up to 3 argument spans
      let v = 0;
      let ks = 0;
      let ke = 0;
      let vs = 0;
      let ve = 0;
      let complete = true;
      for (let i = 0; i < argc; i++) {
        if (pos >= len) {
          complete = false;
          break;
        }
        nl = buf.indexOf(13, pos);
        if (nl < 0 || nl + 1 >= len) {
          complete = false;
          break;
        }
        const n = readInt(buf, pos + 1, nl);
        const s = nl + 2;
        const e = s + n;
        if (e + 2 > len) {
          complete = false;
          break;
        }
        if (i === 0) v = verb(buf, s, n);
        else if (i === 1) {
          ks = s;
          ke = e;
        } else if (i === 2) {
          vs = s;
          ve = e;
        }
        pos = e + 2;
      }
      if (!complete) {
        pos = start;
        break;
      }
      if (v === 1 && argc === 2) {
        out.push(store.get(buf.toString('latin1', ks, ke)) ?? NIL);
      } else if (v === 2 && argc === 3) {
        const n = ve - vs;
        const header = `$${n}\r\n`;
        const reply = Buffer.allocUnsafe(header.length + n + 2);
        reply.write(header, 0, 'latin1');
        buf.copy(reply, header.length, vs, ve);
        reply[reply.length - 2] = 13;
        reply[reply.length - 1] = 10;
        store.set(buf.toString('latin1', ks, ke), reply);
        out.push(OK);
      } else {
        out.push(ERR_UNKNOWN);
      }
    }
    if (pos < len) pending = buf.subarray(pos);
    if (out.length === 1) sock.write(out[0]);
    else if (out.length > 1) sock.write(Buffer.concat(out));
  });
  sock.on('error', () => sock.destroy());
}

export function startCeiling(port: number, host = '127.0.0.1'): Promise<net.Server> {
  const store: CeilingStore = new Map();
  return listen(net.createServer((sock) => handleConnection(sock, store)), port, host);
}

if (isMain(import.meta.url)) {
  const port = Number(arg('--port', '7000'));
  const host = arg('--host', '127.0.0.1');
  runAsChild('ceiling', async () => {
    await startCeiling(port, host);
    return `ceiling listening on ${host}:${port}`;
  });
}
