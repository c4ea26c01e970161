// RELAY reference target: the naive proxy. Each client connection gets its own
// upstream Redis connection and bytes are piped both ways with socket.pipe —
// no parsing, no batching across clients, no caching. A proxy that does real
// work should still beat this on pass-through traffic.
//
//   node --import tsx bench/reference/relay.ts --port 7001 --upstream 127.0.0.1:6379

import net from 'node:net';
import { pathToFileURL } from 'node:url';

export function startRelay(port: number, upstreamPort: number, upstreamHost = '127.0.0.1', host = '127.0.0.1'): Promise<net.Server> {
  const server = net.createServer((client) => {
    const upstream = net.connect({ port: upstreamPort, host: upstreamHost });
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.pipe(upstream);
    upstream.pipe(client);
    const kill = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', kill);
    upstream.on('error', kill);
    client.on('close', kill);
    upstream.on('close', kill);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const port = Number(arg('--port', '7001'));
  const [uh, up] = arg('--upstream', '127.0.0.1:6379').split(':');
  startRelay(port, Number(up), uh).then(
    () => process.stderr.write(`relay listening on 127.0.0.1:${port} -> ${uh}:${up}\n`),
    (e: unknown) => {
      process.stderr.write(`relay: ${(e as Error).message}\n`);
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
