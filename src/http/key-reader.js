import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Listener } from '../server/listener.js';
import { RedisErrorReply } from '../resp/reply-value.js';
import { ControlConnection } from '../backend/control-connection.js';
const TEXT = 'text/plain; charset=utf-8';
const DEFAULT_TIMEOUT_MS = 5000;
export class KeyReader {
    ctx;
    addr;
    log;
    timeoutMs;
    listener = null;
    dir = null;
    starting = null;
    conn = null;
    /** the client `conn` resolved to, once it has */
    client = null;
    closed = false;
    constructor(ctx, addr, log, 
    /** how long a read may take, in ms; 0 = the default (5 s) */
    timeoutMs) {
        this.ctx = ctx;
        this.addr = addr;
        this.log = log;
        this.timeoutMs = timeoutMs;
    }
    /** Sessions this reader holds (0 or 1), for the backend connection count. */
    get sessions() {
        return this.listener?.sessions.size ?? 0;
    }
    async get(key) {
        if (this.closed)
            return text(503, 'shutting down');
        const ms = this.timeoutMs() || DEFAULT_TIMEOUT_MS;
        let client;
        try {
            client = await withDeadline(this.connection(), ms);
        }
        catch (err) {
            this.reset();
            return err instanceof Timeout ? text(504, 'Redis did not answer in time') : text(502, message(err, this.addr));
        }
        let reply;
        try {
            reply = await withDeadline(client.send(['GET', key]), ms);
        }
        catch (err) {
            // the reply may still come: this connection can no longer be trusted to pair replies
            this.reset(client);
            return err instanceof Timeout ? text(504, 'Redis did not answer in time') : text(502, message(err, this.addr));
        }
        if (Buffer.isBuffer(reply))
            return { status: 200, body: reply, contentType: 'application/octet-stream' };
        if (reply === null)
            return text(404, 'no such key');
        if (reply instanceof RedisErrorReply) {
            const m = reply.message;
            if (m.startsWith('ERR RedisProxy:')) {
                // Redis is unreachable or the session lost it: start afresh next time
                this.reset(client);
                return text(502, m.slice('ERR '.length));
            }
            if (m.startsWith('WRONGTYPE'))
                return text(409, m);
            if (m.startsWith('NOPERM'))
                return text(403, m);
            return text(502, m);
        }
        return text(502, 'unexpected reply to GET');
    }
    close() {
        this.closed = true;
        this.reset();
        void this.listener?.stopAccepting();
        for (const s of this.listener?.sessions ?? [])
            s.close();
        if (this.dir)
            rmSync(this.dir, { recursive: true, force: true });
    }
    connection() {
        if (this.conn === null) {
            const conn = this.open();
            this.conn = conn;
            conn.then((c) => {
                if (this.conn === conn)
                    this.client = c;
                else
                    c.close();
            }, () => {
                if (this.conn === conn)
                    this.conn = null;
            });
        }
        return this.conn;
    }
    async open() {
        const socketPath = await this.start();
        const client = await ControlConnection.openPath(socketPath);
        client.on('close', () => this.reset(client));
        // The handshake the proxy's own connections make: the --addr user, then its database.
        const { username, password, db } = this.addr;
        const steps = [];
        if (password !== null)
            steps.push(username !== null ? ['AUTH', username, password] : ['AUTH', password]);
        if (db !== 0)
            steps.push(['SELECT', String(db)]);
        // also proves the session authenticated, so that its first GET may use the cache
        steps.push(['CLIENT', 'SETNAME', 'redisproxy-http-get']);
        const replies = await Promise.all(steps.map((s) => client.send(s)));
        const failed = replies.find((r) => r instanceof RedisErrorReply);
        if (failed) {
            client.close();
            throw new Error(failed.message.replace(/^ERR RedisProxy: /, ''));
        }
        return client;
    }
    start() {
        this.starting ??= (async () => {
            this.dir = mkdtempSync(path.join(tmpdir(), 'redisproxy-'));
            const socketPath = path.join(this.dir, 'http-get.sock');
            this.listener = new Listener(this.ctx, 64, this.log);
            await this.listener.listenPath(socketPath);
            return socketPath;
        })();
        return this.starting;
    }
    /**
     * Close `client` (default: the current connection, even while it is being opened);
     * if it is the current one, the next read opens a new one.
     */
    reset(client) {
        if (client !== undefined && client !== this.client) {
            client.close();
            return;
        }
        const current = this.conn;
        this.conn = null;
        this.client = null;
        if (client)
            client.close();
        else
            current?.then((c) => c.close(), () => undefined);
    }
}
function text(status, body) {
    return { status, body: Buffer.from(`${body}\n`), contentType: TEXT };
}
function message(err, addr) {
    const m = err instanceof Error ? err.message : String(err);
    return addr.password ? m.split(addr.password).join('***') : m;
}
class Timeout extends Error {
}
function withDeadline(p, ms) {
    let timer;
    const deadline = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Timeout()), ms);
    });
    return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}
//# sourceMappingURL=key-reader.js.map