import net from 'node:net';
import tls from 'node:tls';
import { ClientSession } from '../session/session.js';
import { encodeError } from '../resp/encode.js';
/** a refused client whose error cannot be written (it does not read) is cut after this */
const REFUSED_CLOSE_MS = 1000;
/**
 * Every plain client socket reads into this one buffer (Node's `onread`), instead of into
 * a fresh allocation per read: a read is handled whole, synchronously, before the next one
 * of any client lands (see ClientSession.onClientRead).
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);
/**
 * The accepted connection, re-wrapped so that it reads into READ_BUFFER and hands each read
 * to `onRead`. Node's server has no onread option of its own, so the handle moves from the
 * socket the server made (never started reading: pauseOnConnect) to one made with it.
 * null (the server's socket untouched) if that cannot be done.
 */
function readingInPlace(socket, onRead) {
    const holder = socket;
    const handle = holder._handle;
    if (!handle)
        return null;
    const opts = {
        handle,
        allowHalfOpen: true,
        readable: true,
        writable: true,
        onread: {
            buffer: READ_BUFFER,
            callback: (n, buf) => {
                onRead(n, buf);
                return true;
            },
        },
    };
    let reading;
    try {
        reading = new net.Socket(opts);
    }
    catch {
        return null;
    }
    // (the handle option is Node's own, not a public one: check that it took)
    if (reading._handle !== handle)
        return null;
    holder._handle = null;
    // The server's socket stays, without its handle, until the client is gone: it is what the
    // server counts, so server.close() still waits for every client.
    reading.once('close', () => socket.destroy());
    return reading;
}
/** Accepts clients and keeps the set of live sessions. */
export class Listener {
    sessions = new Set();
    clientsTotal = 0;
    clientsRejected = 0;
    /** clients closed for passing their output buffer limit, over the listener's life */
    outputLimitDisconnects = 0;
    server;
    log;
    lastRejectWarning = 0;
    ctx;
    maxClients;
    sweeper = null;
    /** plain sockets read into READ_BUFFER (TLS sockets decrypt into buffers of their own) */
    inPlaceReads;
    constructor(ctx, maxClients, log, tlsOptions) {
        this.ctx = ctx;
        this.maxClients = maxClients;
        this.log = log;
        this.server = tlsOptions
            ? tls.createServer({ ...tlsOptions, allowHalfOpen: true }, (socket) => this.accept(socket))
            : net.createServer({ noDelay: true, allowHalfOpen: true, pauseOnConnect: true }, (socket) => this.accept(socket));
        this.inPlaceReads = !tlsOptions;
        if (tlsOptions)
            this.server.on('tlsClientError', (err) => log.debug({ err: err.message }, 'TLS handshake with a client failed'));
        this.server.on('error', (err) => log.error({ err }, 'listener error'));
    }
    /** One coarse timer for every session's idle and backend timeouts, and only when one is set. */
    setTimeouts(idleMs, backendMs) {
        if (this.sweeper)
            clearInterval(this.sweeper);
        this.sweeper = null;
        if (idleMs <= 0 && backendMs <= 0)
            return;
        this.sweeper = setInterval(() => {
            const now = Date.now();
            for (const s of this.sessions)
                s.sweep(now, idleMs, backendMs);
        }, 250);
        this.sweeper.unref();
    }
    listen(port, host) {
        return new Promise((resolve, reject) => {
            this.server.once('error', reject);
            this.server.listen(port, host, () => {
                this.server.off('error', reject);
                resolve(this.server.address());
            });
        });
    }
    /** Listen on a Unix socket (the proxy's own in-process clients, such as --http-get). */
    listenPath(path) {
        return new Promise((resolve, reject) => {
            this.server.once('error', reject);
            this.server.listen(path, () => {
                this.server.off('error', reject);
                resolve();
            });
        });
    }
    accept(socket) {
        const client = socket.remoteAddress !== undefined ? `${socket.remoteAddress}:${socket.remotePort}` : 'local';
        if (this.sessions.size >= this.maxClients) {
            this.clientsRejected++;
            const now = Date.now();
            if (now - this.lastRejectWarning > 10_000) {
                this.lastRejectWarning = now;
                this.log.warn({ client, maxClients: this.maxClients }, 'refusing clients: --max-clients reached');
            }
            else {
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
        let session = null;
        const reading = this.inPlaceReads ? readingInPlace(socket, (n, buf) => session?.onClientRead(n, buf)) : null;
        if (this.inPlaceReads && reading === null)
            socket.resume(); // (not re-wrapped: read as it is)
        try {
            session = new ClientSession(reading ?? socket, {
                ...this.ctx,
                onClose: (s) => {
                    if (!this.sessions.delete(s))
                        return;
                    this.outputLimitDisconnects += s.outputLimitHits;
                    this.log.debug({ client, clients: this.sessions.size }, 'client disconnected');
                },
            });
        }
        catch (err) {
            (reading ?? socket).destroy();
            throw err;
        }
        this.sessions.add(session);
        this.log.debug({ client, clients: this.sessions.size }, 'client connected');
    }
    /** Stop accepting; existing sessions continue. */
    stopAccepting() {
        if (this.sweeper)
            clearInterval(this.sweeper);
        return new Promise((resolve) => this.server.close(() => resolve()));
    }
}
//# sourceMappingURL=listener.js.map