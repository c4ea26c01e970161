import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import { ClientSession, type SessionContext } from '../session/session.js';
import { encodeError } from '../resp/encode.js';

/** a refused client whose error cannot be written (it does not read) is cut after this */
const REFUSED_CLOSE_MS = 1000;

/**
 * Every plain client socket reads into this one buffer (Node's `onread`), instead of into
 * a fresh allocation per read: a read is handled whole, synchronously, before the next one
 * of any client lands (see ClientSession.onClientRead).
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

type SocketHandle = object;

/**
 * The accepted connection, re-wrapped so that it reads into READ_BUFFER and hands each read
 * to `onRead`. Node's server has no onread option of its own, so the handle moves from the
 * socket the server made (never started reading: pauseOnConnect) to one made with it.
 * null (the server's socket untouched) if that cannot be done.
 */
function readingInPlace(socket: net.Socket, onRead: (n: number, buf: Buffer) => void): net.Socket | null {
  const holder = socket as unknown as { _handle: SocketHandle | null };
  const handle = holder._handle;
  if (!handle) return null;
  const opts = {
    handle,
    allowHalfOpen: true,
    readable: true,
    writable: true,
    onread: {
      buffer: READ_BUFFER,
      callback: (n: number, buf: Buffer): boolean => {
        onRead(n, buf);
        return true;
      },
    },
  };
  let reading: net.Socket;
  try {
    reading = new net.Socket(opts as net.SocketConstructorOpts);
  } catch {
    return null;
  }
  // (the handle option is Node's own, not a public one: check that it took)
  if ((reading as unknown as { _handle: SocketHandle | null })._handle !== handle) return null;
  holder._handle = null;
  // The server's socket stays, without its handle, until the client is gone: it is what the
  // server counts, so server.close() still waits for every client.
  reading.once('close', () => socket.destroy());
  return reading;
}

/** Accepts clients and keeps the set of live sessions. */
export class Listener {
  readonly sessions = new Set<ClientSession>();
  clientsTotal = 0;
  clientsRejected = 0;
  /** clients closed for passing their output buffer limit, over the listener's life */
  outputLimitDisconnects = 0;
  private readonly server: net.Server;
  private readonly log: Logger;
  private lastRejectWarning = 0;
  private readonly ctx: Omit<SessionContext, 'onClose'>;
  maxClients: number;

  private sweeper: NodeJS.Timeout | null = null;
  /** plain sockets read into READ_BUFFER (TLS sockets decrypt into buffers of their own) */
  private readonly inPlaceReads: boolean;

  constructor(ctx: Omit<SessionContext, 'onClose'>, maxClients: number, log: Logger, tlsOptions?: tls.TlsOptions) {
    this.ctx = ctx;
    this.maxClients = maxClients;
    this.log = log;
    this.server = tlsOptions
      ? tls.createServer({ ...tlsOptions, allowHalfOpen: true }, (socket) => this.accept(socket))
      : net.createServer({ noDelay: true, allowHalfOpen: true, pauseOnConnect: true }, (socket) => this.accept(socket));
    this.inPlaceReads = !tlsOptions;
    if (tlsOptions) this.server.on('tlsClientError', (err) => log.debug({ err: err.message }, 'TLS handshake with a client failed'));
    this.server.on('error', (err) => log.error({ err }, 'listener error'));
  }

  /** One coarse timer for every session's idle and backend timeouts, and only when one is set. */
  setTimeouts(idleMs: number, backendMs: number): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    if (idleMs <= 0 && backendMs <= 0) return;
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const s of this.sessions) s.sweep(now, idleMs, backendMs);
    }, 250);
    this.sweeper.unref();
  }

  listen(port: number, host: string): Promise<net.AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as net.AddressInfo);
      });
    });
  }

  /** Listen on a Unix socket (the proxy's own in-process clients, such as --http-get). */
  listenPath(path: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(path, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  private accept(socket: net.Socket): void {
    const client = socket.remoteAddress !== undefined ? `${socket.remoteAddress}:${socket.remotePort}` : 'local';
    if (this.sessions.size >= this.maxClients) {
      this.clientsRejected++;
      const now = Date.now();
      if (now - this.lastRejectWarning > 10_000) {
        this.lastRejectWarning = now;
        this.log.warn({ client, maxClients: this.maxClients }, 'refusing clients: --max-clients reached');
      } else {
        this.log.debug({ client }, 'client refused: --max-clients reached');
      }
      // As Redis does: the error, then the connection closed, whether or not the client
      // reads it or closes its side (else it would hold its descriptor until it leaves).
      // What it sends is read and dropped: unread bytes would turn the close into a reset,
      // which can destroy the error before the client reads it.
      socket.on('error', () => socket.destroy());
      socket.resume();
      socket.end(encodeError('ERR max number of clients reached'));
      setTimeout(() => socket.destroy(), REFUSED_CLOSE_MS).unref();
      return;
    }
    this.clientsTotal++;
    let session: ClientSession | null = null;
    const reading = this.inPlaceReads ? readingInPlace(socket, (n, buf) => session?.onClientRead(n, buf)) : null;
    if (this.inPlaceReads && reading === null) socket.resume(); // (not re-wrapped: read as it is)
    try {
      session = new ClientSession(reading ?? socket, {
        ...this.ctx,
        onClose: (s) => {
          if (!this.sessions.delete(s)) return;
          this.outputLimitDisconnects += s.outputLimitHits;
          this.log.debug({ client, clients: this.sessions.size }, 'client disconnected');
        },
      }, client);
    } catch (err) {
      (reading ?? socket).destroy();
      throw err;
    }
    this.sessions.add(session);
    this.log.debug({ client, clients: this.sessions.size }, 'client connected');
  }

  /** Stop accepting; existing sessions continue. */
  stopAccepting(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
