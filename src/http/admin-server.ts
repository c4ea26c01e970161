import http from 'node:http';
import type { Logger } from 'pino';

// The admin listener observes the proxy; it never steers it.

export interface AdminSources {
  stats(): Record<string, unknown>;
  /** null when ready, else why not */
  notReadyReason(): string | null;
}

export class AdminServer {
  private readonly server: http.Server;

  constructor(sources: AdminSources, log: Logger) {
    this.server = http.createServer((req, res) => {
      const url = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405).end();
        return;
      }
      if (url === '/healthz') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      } else if (url === '/readyz') {
        const why = sources.notReadyReason();
        res.writeHead(why === null ? 200 : 503, { 'content-type': 'text/plain' }).end(why === null ? 'ready\n' : `not ready: ${why}\n`);
      } else if (url === '/stats') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(sources.stats(), null, 2) + '\n');
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      }
    });
    this.server.on('error', (err) => log.error({ err }, 'admin listener error'));
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve((this.server.address() as { port: number }).port));
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
