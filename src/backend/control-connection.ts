import net from 'node:net';
import { EventEmitter } from 'node:events';
import type { BackendAddress } from '../config/config.js';
import { connectToRedis, type TlsClientOptions } from './connect.js';
import { encodeCommand } from '../resp/encode.js';
import { decodeReply, type RespValue } from '../resp/reply-value.js';
import { decodeInvalidation } from '../resp/invalidation-push.js';

// A small request/reply client for the proxy's own connections to Redis (command
// metadata, the invalidation link). Not on the clients' path, so promises are fine here.
// Push messages (RESP3 `>`) are emitted as 'push' events instead of answering a request.

/**
 * What the link's parts need of its connection: a request and its answer, answers in the
 * order asked (see LinkPart). Small enough for a unit test to fake.
 */
export interface RespRequester {
  send(args: (string | Buffer)[]): Promise<RespValue>;
}

interface Waiter {
  resolve: (v: RespValue) => void;
  reject: (e: Error) => void;
}

export class ControlConnection extends EventEmitter implements RespRequester {
  private readonly socket: net.Socket;
  private buf: Buffer = Buffer.alloc(0);
  private readonly waiters: Waiter[] = [];
  private closedError: Error | null = null;

  /** A RESP client over a socket that is already connected (TCP, TLS or a Unix socket). */
  constructor(socket: net.Socket) {
    super();
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    // 'end' comes with the read that found EOF; 'close' only in a later loop phase, after
    // client requests read in the same turn. The invalidation link must be known dead
    // before any of those is answered from the cache.
    socket.on('end', () => this.fail(new Error('connection closed')));
    socket.on('close', () => this.fail(new Error('connection closed')));
  }

  /** Connect a Unix socket path and wrap it. */
  static openPath(socketPath: string): Promise<ControlConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(socketPath);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new ControlConnection(socket));
      });
    });
  }

  static open(addr: BackendAddress, tlsOptions?: TlsClientOptions, timeoutMs = 5000): Promise<ControlConnection> {
    return new Promise((resolve, reject) => {
      const socket = connectToRedis(addr, tlsOptions);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect timeout after ${timeoutMs} ms`));
      }, timeoutMs);
      const onError = (err: Error) => {
        clearTimeout(timer);
        reject(err);
      };
      socket.once('error', onError);
      socket.once(addr.tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        socket.off('error', onError);
        resolve(new ControlConnection(socket));
      });
    });
  }

  get id(): string {
    return `${this.socket.localAddress}:${this.socket.localPort}`;
  }

  send(args: (string | Buffer)[]): Promise<RespValue> {
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.socket.write(encodeCommand(args));
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    let pos = 0;
    for (;;) {
      if (this.buf[pos] === 0x3e && this.listenerCount('invalidate') > 0) {
        // tracking's invalidations, read straight into key strings (see invalidation-push.ts)
        const inv = decodeInvalidation(this.buf, pos);
        if (inv === null) break;
        if (inv !== undefined) {
          pos = inv.end;
          this.emit('invalidate', inv.keys);
          continue;
        }
      }
      let d;
      try {
        d = decodeReply(this.buf, pos);
      } catch (err) {
        this.fail(err as Error);
        this.socket.destroy();
        return;
      }
      if (d === null) break;
      pos = d.end;
      if (d.push) {
        this.emit('push', d.value);
        continue;
      }
      const w = this.waiters.shift();
      if (w) w.resolve(d.value);
    }
    this.buf = pos >= this.buf.length ? Buffer.alloc(0) : this.buf.subarray(pos);
  }

  private fail(err: Error): void {
    if (this.closedError) return;
    this.closedError = err;
    for (const w of this.waiters.splice(0)) w.reject(err);
    this.emit('close', err);
  }
}
