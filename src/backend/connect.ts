import net from 'node:net';
import tls from 'node:tls';
import type { BackendAddress } from '../config/config.js';

export interface TlsClientOptions {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** skip certificate verification (tests with self-signed certs only) */
  insecure?: boolean;
}

/** Open a socket to the backing Redis (plain or TLS), tuned for request/reply traffic. */
export function connectToRedis(addr: BackendAddress, tlsOptions?: TlsClientOptions): net.Socket {
  let socket: net.Socket;
  if (addr.tls) {
    socket = tls.connect({
      host: addr.host,
      port: addr.port,
      servername: net.isIP(addr.host) ? undefined : addr.host,
      ca: tlsOptions?.ca,
      cert: tlsOptions?.cert,
      key: tlsOptions?.key,
      rejectUnauthorized: !tlsOptions?.insecure,
    });
  } else {
    socket = net.connect({ host: addr.host, port: addr.port });
  }
  socket.setNoDelay(true);
  socket.setKeepAlive(true, 10_000);
  return socket;
}

/** "cannot reach Redis at host:port (ECONNREFUSED)" without secrets. */
export function describeConnectError(addr: BackendAddress, err: Error & { code?: string }): string {
  return `Redis at ${addr.host}:${addr.port} is unreachable (${err.code ?? err.message})`;
}
