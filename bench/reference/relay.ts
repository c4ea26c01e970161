// RELAY reference target: the naive proxy. Each client connection gets its own
// upstream Redis connection and bytes are piped both ways with socket.pipe —
// no parsing, no batching across clients, no caching. A proxy that does real
// work should still beat this on pass-through traffic.
//
//   node --import tsx bench/reference/relay.ts --port 7001 --upstream 127.0.0.1:6379

import type net from 'node:net';
import { isMain, relayArgs, runAsChild, startRelayServer } from '../lib/server-skeleton.js';

export function startRelay(port: number, upstreamPort: number, upstreamHost = '127.0.0.1', host = '127.0.0.1'): Promise<net.Server> {
  return startRelayServer({ port, host, upstreamPort, upstreamHost }, (client, upstream) => {
    client.pipe(upstream);
    upstream.pipe(client);
  });
}

if (isMain(import.meta.url)) {
  const o = relayArgs(7001);
  runAsChild('relay', async () => {
    await startRelay(o.port, o.upstreamPort, o.upstreamHost);
    return `relay listening on 127.0.0.1:${o.port} -> ${o.upstreamHost}:${o.upstreamPort}`;
  });
}
