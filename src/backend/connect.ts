import net from 'node:net';
import tls from 'node:tls';
import type { BackendAddress } from '../config/config.js';
import { UPSTREAM_READ_BUFFER } from '../io/upstream-read-buffer.js';

export interface TlsClientOptions {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** skip certificate verification (tests with self-signed certs only) */
  insecure?: boolean;
}

/**
 * Open a socket to the backing Redis (plain or TLS), tuned for request/reply traffic.
 * onRead: a plain socket reads into the shared UPSTREAM_READ_BUFFER and hands each read to
 * it (no 'data' events); a TLS socket still emits 'data'.
 */
export function connectToRedis(addr: BackendAddress, tlsOptions?: TlsClientOptions, onRead?: (n: number, buf: Buffer) => void): net.Socket {
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
    const onread = onRead && {
      buffer: UPSTREAM_READ_BUFFER,
      callback: (n: number, buf: Buffer): boolean => {
        onRead(n, buf);
        return true;
      },
    };
    socket = net.connect({ host: addr.host, port: addr.port, onread });
  }
  socket.setNoDelay(true);
  socket.setKeepAlive(true, 10_000);
  return socket;
}

/** "cannot reach Redis at host:port (ECONNREFUSED)" without secrets. */
export function describeConnectError(addr: BackendAddress, err: Error & { code?: string }): string {
  return `Redis at ${addr.host}:${addr.port} is unreachable (${err.code ?? err.message})`;
}
