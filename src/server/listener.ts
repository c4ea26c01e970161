import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import { ClientSession, type SessionContext } from './client-session.js';
import { encodeError } from '../resp/encode.js';

/** Accepts clients and keeps the set of live sessions. */
export class Listener {
  readonly sessions = new Set<ClientSession>();
  clientsTotal = 0;
  clientsRejected = 0;
  private readonly server: net.Server;
  private readonly ctx: Omit<SessionContext, 'onClose'>;
  maxClients: number;

  private sweeper: NodeJS.Timeout | null = null;

  constructor(ctx: Omit<SessionContext, 'onClose'>, maxClients: number, log: Logger, tlsOptions?: tls.TlsOptions) {
    this.ctx = ctx;
    this.maxClients = maxClients;
    this.server = tlsOptions
      ? tls.createServer({ ...tlsOptions, allowHalfOpen: true }, (socket) => this.accept(socket))
      : net.createServer({ noDelay: true, allowHalfOpen: true }, (socket) => this.accept(socket));
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

  private accept(socket: net.Socket): void {
    if (this.sessions.size >= this.maxClients) {
      this.clientsRejected++;
      socket.end(encodeError('ERR max number of clients reached'));
      return;
    }
    this.clientsTotal++;
    const session = new ClientSession(socket, { ...this.ctx, onClose: (s) => this.sessions.delete(s) });
    this.sessions.add(session);
  }

  /** Stop accepting; existing sessions continue. */
  stopAccepting(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
