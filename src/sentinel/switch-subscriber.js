import { EventEmitter } from 'node:events';
import { connectToRedis } from '../backend/connect.js';
import { encodeCommand } from '../resp/encode.js';
import { RedisErrorReply, asString, decodeReply } from '../resp/reply-value.js';
import { addressOf, connectFailure, keyOf, refusal } from './sentinel-options.js';
const CHANNEL = '+switch-master';
/**
 * A RESP2 subscriber to one sentinel's `+switch-master` channel. It emits
 * 'switch-master' (the message: "<name> <old-ip> <old-port> <new-ip> <new-port>") and, once,
 * 'close' (error). A PING every `pingMs` finds a sentinel that stopped answering without
 * closing the socket (frozen, partitioned).
 *
 *   connect ─▶ [AUTH] ─▶ SUBSCRIBE ─▶ confirmed: open() resolves ─▶ messages, pongs ─▶ close
 */
export class SwitchSubscriber extends EventEmitter {
    socket;
    display;
    buf = Buffer.alloc(0);
    confirmed = false;
    closed = false;
    answeredSincePing = true;
    pinger = null;
    constructor(socket, hp) {
        super();
        this.socket = socket;
        this.display = keyOf(hp);
    }
    /** Resolves once the subscription is confirmed; rejects (SentinelAuthError for a refused password or channel) otherwise. */
    static open(hp, access, timeoutMs, pingMs) {
        const socket = connectToRedis(addressOf(hp, access), access.tlsOptions);
        const sub = new SwitchSubscriber(socket, hp);
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => sub.end(new Error(`sentinel ${sub.display}: no subscription within ${timeoutMs} ms`)), timeoutMs);
            const onClose = (err) => {
                clearTimeout(timer);
                reject(err);
            };
            sub.once('close', onClose);
            sub.once('subscribed', () => {
                clearTimeout(timer);
                sub.off('close', onClose);
                sub.pinger = setInterval(() => sub.ping(), pingMs);
                sub.pinger.unref();
                resolve(sub);
            });
            socket.once(access.tls ? 'secureConnect' : 'connect', () => {
                const auth = access.password === null ? [] : [access.username ? ['AUTH', access.username, access.password] : ['AUTH', access.password]];
                socket.write(Buffer.concat([...auth.map(encodeCommand), encodeCommand(['SUBSCRIBE', CHANNEL])]));
            });
            socket.on('data', (chunk) => sub.onData(chunk));
            socket.on('error', (e) => sub.end(new Error(`sentinel ${sub.display} is unreachable (${connectFailure(e)})`)));
            socket.on('end', () => sub.end(new Error(`sentinel ${sub.display} closed the connection`)));
            socket.on('close', () => sub.end(new Error(`sentinel ${sub.display} closed the connection`)));
        });
    }
    close() {
        this.end(new Error('closed'));
    }
    ping() {
        if (!this.answeredSincePing) {
            this.end(new Error(`sentinel ${this.display} stopped answering`));
            return;
        }
        this.answeredSincePing = false;
        this.socket.write(encodeCommand(['PING']));
    }
    onData(chunk) {
        this.answeredSincePing = true;
        this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
        let pos = 0;
        while (!this.closed) {
            let d;
            try {
                d = decodeReply(this.buf, pos);
            }
            catch (e) {
                this.end(e);
                return;
            }
            if (d === null)
                break;
            pos = d.end;
            const v = d.value;
            if (v instanceof RedisErrorReply) {
                // the only commands that can fail are AUTH and SUBSCRIBE (NOAUTH, NOPERM)
                this.end(refusal(this.display, v.message) ?? new Error(`sentinel ${this.display} answered ${v.message}`));
                return;
            }
            if (!Array.isArray(v))
                continue; // +OK to AUTH
            const kind = asString(v[0] ?? '');
            if (kind === 'subscribe' && !this.confirmed) {
                this.confirmed = true;
                this.emit('subscribed');
            }
            else if (kind === 'message' && asString(v[1] ?? '') === CHANNEL) {
                this.emit('switch-master', asString(v[2] ?? ''));
            }
        }
        this.buf = pos >= this.buf.length ? Buffer.alloc(0) : this.buf.subarray(pos);
    }
    end(err) {
        if (this.closed)
            return;
        this.closed = true;
        if (this.pinger !== null)
            clearInterval(this.pinger);
        this.socket.destroy();
        this.emit('close', err);
    }
}
//# sourceMappingURL=switch-subscriber.js.map