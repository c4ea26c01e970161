import { connectToRedis } from '../backend/connect.js';
import { ReplyProtocolError } from '../resp/reply-scanner.js';
import { Fifo } from '../io/fifo.js';
import { ReplyReader } from './reply-reader.js';
// One pipelined connection that only ever carries clients' AUTH commands: Redis checks the
// credentials (its rules, its rate of checking, its ACL LOG), the client gets Redis's reply
// as it came, and no client needs a connection of its own to authenticate. Nothing else is
// sent on it, so what user it happens to be authenticated as (the last successful AUTH)
// changes nothing. Opened at the first check, again after a loss.
//
//   client A: AUTH app pw ─┐                        ┌─▶ A: +OK
//   client B: AUTH bob x  ─┼─▶ [A][B] ─▶ Redis ─────┴─▶ B: -WRONGPASS ...
//
// A check whose connection is lost before its reply is sent once more on the next one (a
// DELUSER closes the connections of the user the verifier last authenticated as); a
// second loss answers null, and the client's connection is closed as a lost one would be.
const CHECK_TIMEOUT_MS = 5000;
export class AuthVerifier {
    addr;
    tls;
    log;
    socket = null;
    reader = new ReplyReader((buf, start, end) => this.onReply(Buffer.from(buf.subarray(start, end))));
    inFlight = new Fifo();
    timer = null;
    stopped = false;
    /** checks sent so far (for tests and /stats) */
    checks = 0;
    constructor(addr, tls, log) {
        this.addr = addr;
        this.tls = tls;
        this.log = log;
    }
    /** Send `command` (an AUTH) to Redis; `then` gets Redis's reply frame, or null. */
    check(command, then) {
        if (this.stopped) {
            then(null);
            return;
        }
        this.send({ command, then, tries: 0 });
    }
    stop() {
        this.stopped = true;
        this.socket?.destroy();
    }
    send(c) {
        c.tries++;
        this.checks++;
        const socket = this.socket ?? this.connect();
        this.inFlight.push(c);
        socket.write(c.command);
        this.timer ??= setTimeout(() => this.timedOut(), CHECK_TIMEOUT_MS);
    }
    connect() {
        const socket = connectToRedis(this.addr, this.tls);
        this.socket = socket;
        this.reader.reset();
        socket.on('data', (chunk) => {
            try {
                this.reader.read(chunk);
            }
            catch (err) {
                this.log.warn({ reason: err instanceof ReplyProtocolError ? err.message : String(err) }, 'bad reply on the AUTH check connection: closing it');
                socket.destroy();
            }
        });
        socket.on('error', () => undefined);
        socket.on('close', () => this.onClose(socket));
        return socket;
    }
    onReply(frame) {
        const c = this.inFlight.shift();
        if (c === undefined)
            throw new ReplyProtocolError('a reply arrived with no AUTH pending');
        if (this.timer)
            clearTimeout(this.timer);
        this.timer = this.inFlight.length > 0 ? setTimeout(() => this.timedOut(), CHECK_TIMEOUT_MS) : null;
        c.then(frame);
    }
    timedOut() {
        this.timer = null;
        this.log.warn({ timeoutMs: CHECK_TIMEOUT_MS }, 'Redis did not answer an AUTH check in time: closing the check connection');
        // (no second try: Redis is not answering)
        for (const c of this.inFlight.drain()) {
            c.tries = 2;
            this.inFlight.push(c);
        }
        this.socket?.destroy();
    }
    onClose(socket) {
        if (socket !== this.socket)
            return;
        this.socket = null;
        if (this.timer)
            clearTimeout(this.timer);
        this.timer = null;
        const unanswered = [...this.inFlight.drain()];
        for (const c of unanswered) {
            if (c.tries < 2 && !this.stopped)
                this.send(c);
            else
                c.then(null);
        }
    }
}
//# sourceMappingURL=auth-verifier.js.map