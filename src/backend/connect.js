import net from 'node:net';
import tls from 'node:tls';
/** Open a socket to the backing Redis (plain or TLS), tuned for request/reply traffic. */
export function connectToRedis(addr, tlsOptions) {
    let socket;
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
    }
    else {
        socket = net.connect({ host: addr.host, port: addr.port });
    }
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 10_000);
    return socket;
}
/** "cannot reach Redis at host:port (ECONNREFUSED)" without secrets. */
export function describeConnectError(addr, err) {
    return `Redis at ${addr.host}:${addr.port} is unreachable (${err.code ?? err.message})`;
}
//# sourceMappingURL=connect.js.map