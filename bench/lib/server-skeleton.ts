// The skeleton shared by the small servers of bench/ (the naive relay, the delay relay, the
// ceiling server): listening, the relay's connection pairing, and running as a child
// process of the harness.

import net from 'node:net';
import { pathToFileURL } from 'node:url';

export interface RelayOptions {
  port: number;
  host?: string;
  upstreamPort: number;
  upstreamHost?: string;
}

export function listen(server: net.Server, port: number, host = '127.0.0.1'): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

/**
 * A relay: each client connection gets its own upstream connection, and `join` moves the
 * bytes both ways. Either side failing or closing closes both.
 */
export function startRelayServer(o: RelayOptions, join: (client: net.Socket, upstream: net.Socket) => void): Promise<net.Server> {
  const server = net.createServer((client) => {
    const upstream = net.connect({ port: o.upstreamPort, host: o.upstreamHost ?? '127.0.0.1' });
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    join(client, upstream);
    const kill = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', kill);
    upstream.on('error', kill);
    client.on('close', kill);
    upstream.on('close', kill);
  });
  return listen(server, o.port, o.host);
}

/** `--name value` from the command line. */
export function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

/** --port and --upstream host:port, as every relay takes them. */
export function relayArgs(defaultPort: number): RelayOptions {
  const [upstreamHost, up] = arg('--upstream', '127.0.0.1:6379').split(':');
  return { port: Number(arg('--port', String(defaultPort))), upstreamPort: Number(up), upstreamHost };
}

/** true when the module at `moduleUrl` is the script node was started with. */
export function isMain(moduleUrl: string): boolean {
  return process.argv[1] !== undefined && moduleUrl === pathToFileURL(process.argv[1]).href;
}

/**
 * Runs a server as the harness's child: `start` resolves with a line to print once it
 * listens; exit 1 if it fails, 0 on SIGTERM, and when the harness is gone.
 */
export function runAsChild(name: string, start: () => Promise<string>): void {
  start().then(
    (banner) => process.stderr.write(`${banner}\n`),
    (e: unknown) => {
      process.stderr.write(`${name}: ${(e as Error).message}\n`);
      process.exit(1);
    },
  );
  process.on('SIGTERM', () => process.exit(0));
  // do not outlive the harness if it is killed without a chance to clean up
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) process.exit(0);
  }, 1000).unref();
}
