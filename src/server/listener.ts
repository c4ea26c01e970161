import net from 'node:net';
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
  private readonly maxClients: number;

  constructor(ctx: Omit<SessionContext, 'onClose'>, maxClients: number, log: Logger) {
    this.ctx = ctx;
    this.maxClients = maxClients;
    this.server = net.createServer({ noDelay: true, allowHalfOpen: true }, (socket) => this.accept(socket));
    this.server.on('error', (err) => log.error({ err }, 'listener error'));
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
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
