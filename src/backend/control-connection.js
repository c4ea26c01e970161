import net from 'node:net';
import { EventEmitter } from 'node:events';
import { connectToRedis } from './connect.js';
import { encodeCommand } from '../resp/encode.js';
import { decodeReply } from '../resp/reply-value.js';
import { decodeInvalidation } from '../resp/invalidation-push.js';
export class ControlConnection extends EventEmitter {
    socket;
    buf = Buffer.alloc(0);
    waiters = [];
    closedError = null;
    /** A RESP client over a socket that is already connected (TCP, TLS or a Unix socket). */
    constructor(socket) {
        super();
        this.socket = socket;
        socket.on('data', (chunk) => this.onData(chunk));
        socket.on('error', (err) => this.fail(err));
        // 'end' comes with the read that found EOF; 'close' only in a later loop phase, after
        // client requests read in the same turn. The invalidation link must be known dead
        // before any of those is answered from the cache.
        socket.on('end', () => this.fail(new Error('connection closed')));
        socket.on('close', () => this.fail(new Error('connection closed')));
    }
    /** Connect a Unix socket path and wrap it. */
    static openPath(socketPath) {
        return new Promise((resolve, reject) => {
            const socket = net.connect(socketPath);
            socket.once('error', reject);
            socket.once('connect', () => {
                socket.off('error', reject);
                resolve(new ControlConnection(socket));
            });
        });
    }
    static open(addr, tlsOptions, timeoutMs = 5000) {
        return new Promise((resolve, reject) => {
            const socket = connectToRedis(addr, tlsOptions);
            const timer = setTimeout(() => {
                socket.destroy();
                reject(new Error(`connect timeout after ${timeoutMs} ms`));
            }, timeoutMs);
            const onError = (err) => {
                clearTimeout(timer);
                reject(err);
            };
            socket.once('error', onError);
            socket.once(addr.tls ? 'secureConnect' : 'connect', () => {
                clearTimeout(timer);
                socket.off('error', onError);
                resolve(new ControlConnection(socket));
            });
        });
    }
    get id() {
        return `${this.socket.localAddress}:${this.socket.localPort}`;
    }
    send(args) {
        if (this.closedError)
            return Promise.reject(this.closedError);
        return new Promise((resolve, reject) => {
            this.waiters.push({ resolve, reject });
            this.socket.write(encodeCommand(args));
        });
    }
    close() {
        this.socket.destroy();
    }
    onData(chunk) {
        this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
        let pos = 0;
        for (;;) {
            if (this.buf[pos] === 0x3e && this.listenerCount('invalidate') > 0) {
                // tracking's invalidations, read straight into key strings (see invalidation-push.ts)
                const inv = decodeInvalidation(this.buf, pos);
                if (inv === null)
                    break;
                if (inv !== undefined) {
                    pos = inv.end;
                    this.emit('invalidate', inv.keys);
                    continue;
                }
            }
            let d;
            try {
                d = decodeReply(this.buf, pos);
            }
            catch (err) {
                this.fail(err);
                this.socket.destroy();
                return;
            }
            if (d === null)
                break;
            pos = d.end;
            if (d.push) {
                this.emit('push', d.value);
                continue;
            }
            const w = this.waiters.shift();
            if (w)
                w.resolve(d.value);
        }
        this.buf = pos >= this.buf.length ? Buffer.alloc(0) : this.buf.subarray(pos);
    }
    fail(err) {
        if (this.closedError)
            return;
        this.closedError = err;
        for (const w of this.waiters.splice(0))
            w.reject(err);
        this.emit('close', err);
    }
}
//# sourceMappingURL=control-connection.js.map