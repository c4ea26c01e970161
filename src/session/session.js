import { NIL_RESP2, NIL_RESP3 } from '../resp/encode.js';
import { RequestBatch } from './request-batch.js';
import { WriteBatch } from '../io/write-batch.js';
import { AuthCheck } from './auth-check.js';
import { ConnState } from './conn-state.js';
import { Pending, PendingQueue } from './pending.js';
import { RequestRouter } from './requests.js';
import { RequestReader } from './request-reader.js';
import { ReplyPairer } from './replies.js';
import { OutputLimiter } from './output-limit.js';
const HALF_CLOSE_GRACE_MS = 10_000;
/** after its last reply is out, how long a finished session waits for the client to close before closing itself */
const FINISH_LINGER_MS = 1000;
export class ClientSession {
    client;
    remote;
    ctx;
    observer;
    /** request bytes for the upstream, sent in one write per client read */
    batch = new RequestBatch();
    pending;
    state = new ConnState();
    /** replies gathered while one read is handled, written at its end */
    out = new WriteBatch();
    upstream = null;
    phase = 0 /* Phase.Open */;
    outputLimitHits = 0;
    /** when the client last sent bytes (ms since epoch) */
    lastInput = Date.now();
    reader;
    requests;
    replies;
    limiter = new OutputLimiter();
    authCheck;
    /** requests (and, once the Raw record is reached, replies) are relayed without pairing */
    rawRequests = false;
    rawReplies = false;
    held = null;
    /** an AUTH check is being answered within the read that sent it */
    authInline = false;
    hasSent = false;
    finishTimer = null;
    constructor(client, ctx) {
        this.client = client;
        this.ctx = ctx;
        this.observer = ctx.observer;
        this.remote = `${client.remoteAddress}:${client.remotePort}`;
        this.pending = new PendingQueue(this.batch, ctx.observer !== undefined);
        this.requests = new RequestRouter(this);
        this.replies = new ReplyPairer(this);
        this.authCheck = new AuthCheck(this);
        this.reader = new RequestReader(this, this.requests);
        client.setNoDelay(true);
        client.on('data', (chunk) => {
            if (this.reading)
                this.reader.onData(chunk);
        });
        client.on('drain', () => {
            // the client caught up: let both directions flow again
            this.upstream?.resume();
            if (this.reading && this.held === null && !this.upstream?.congested)
                this.client.resume();
            this.limiter.reset();
        });
        client.on('error', () => this.close());
        client.on('close', () => this.close());
        // A client that half-closes after sending (`printf 'PING\r\n' | nc`) still gets its
        // replies, as Redis, which answers what it read before it sees the end, would give them.
        client.on('end', () => this.onClientEnd());
        const seat = ctx.upstreams.share(this);
        if (seat) {
            // a fresh connection: the default user (or none, where Redis wants a password), db 0, RESP2
            this.upstream = seat;
            this.state.user = seat.seatUser ?? null;
        }
        else {
            this.openUpstream();
        }
    }
    get closed() {
        return this.phase === 4 /* Phase.Closed */;
    }
    /** are requests read and handled */
    get reading() {
        return this.phase === 0 /* Phase.Open */;
    }
    get relaysRequests() {
        return this.rawRequests;
    }
    get relaysReplies() {
        return this.rawReplies;
    }
    /** (writes before it connects are buffered) */
    openUpstream() {
        this.upstream = this.ctx.upstreams.open(this);
    }
    // ───────────────────────────── requests ─────────────────────────────
    /** A read into the listener's shared buffer (see RequestReader.onRead). */
    onClientRead(n, buf) {
        if (this.reading)
            this.reader.onRead(n, buf);
    }
    /** The client sent bytes: for the idle timeout, and the rules at a lost connection. */
    noteInput() {
        this.lastInput = Date.now();
        this.hasSent = true;
    }
    /** bytes of an unfinished request already sent on (see RequestReader.streamPartial) */
    get streamed() {
        return this.reader.streamed;
    }
    /** is a request waiting for the session to leave its shared connection */
    get holding() {
        return this.held !== null;
    }
    /** After a read's requests were taken: apply backpressure. */
    afterInput() {
        // Backpressure: stop reading requests while Redis or this client cannot keep up
        // (cache hits are produced without Redis, so the client's own buffer counts too).
        if (this.reading && (this.upstream?.congested === true || this.client.writableNeedDrain))
            this.client.pause();
        this.checkOutputLimit();
    }
    /**
     * Move to a connection of the client's own. Its requests on the shared connection must
     * be answered first (they were sent earlier), so the request that needs the move waits
     * with everything after it, and the client is not read meanwhile.
     * Returns true when the request can be routed now.
     */
    leaveShared(args, buf, start, end) {
        if (this.pending.length > 0) {
            this.held = { args, buf, start, end, auth: false, checking: false };
            this.client.pause();
            return false;
        }
        this.moveToOwnConnection();
        return true;
    }
    /** Move to a connection of the client's own now, if nothing is in flight on the shared one (see RequestReader). */
    leaveSharedNow() {
        if (this.pending.length === 0 && this.held === null)
            this.moveToOwnConnection();
    }
    moveToOwnConnection() {
        // a seat on a user's pool: the client is that user's on Redis, and so must its own connection be
        const login = this.upstream?.seatLogin ?? null;
        const user = this.state.user;
        this.upstream?.close();
        this.state.unprove(); // a new connection: proven again by its first reply
        this.openUpstream();
        if (login === null)
            return;
        this.state.user = user;
        this.sendInternal(login, (frame) => {
            // (Redis no longer takes the pool's credentials: the client cannot go on as that user)
            if (frame[0] !== 0x2b)
                this.lose('its user could not authenticate a connection of its own');
        });
    }
    /**
     * AUTH [user] password from a shared seat: checked by Redis off this connection, and on
     * +OK the session moves to a seat on that user's pool (see AuthCheck). Like a move to an
     * own connection, it waits until the shared requests before it are answered, and the
     * requests after it until its answer. Returns false when the AUTH must go down a
     * connection of the client's own.
     */
    verifyAuth(args, buf, start, end) {
        if (!AuthCheck.applies(this.ctx.upstreams, args))
            return false;
        const h = { args, buf, start, end, auth: true, checking: false };
        this.held = h;
        if (this.pending.length === 0) {
            // (a credential Redis accepted since the last change is answered at once: the reader
            // goes on with this read's requests itself)
            this.authInline = true;
            this.authCheck.start(h);
            this.authInline = false;
        }
        if (this.held === h)
            this.client.pause();
        return true;
    }
    /** is `h` still the request this session holds (a late answer for a closed one is dropped) */
    holds(h) {
        return this.held === h && !this.closed;
    }
    /** The held AUTH was answered `reply`: and with a seat on its user's pool when it succeeded. */
    authAnswered(reply, seat, user) {
        if (seat !== null) {
            this.upstream?.close();
            this.upstream = seat;
            this.state.user = user;
        }
        this.enqueueReady(reply, false);
        this.continueAfterHeld();
    }
    /** No seat for the held AUTH: it goes down a connection of the client's own, as before (Redis answers it there). */
    authOnOwnConnection(h) {
        this.held = null;
        this.moveToOwnConnection();
        this.routeNow(h);
    }
    /** The held AUTH's check got no answer: like a lost connection. */
    authLost(reason) {
        this.held = null;
        this.lose(reason);
    }
    /** The held request is answered: read on. */
    continueAfterHeld() {
        this.held = null;
        if (this.authInline)
            return;
        this.flushOut();
        if (this.reading) {
            this.reader.process();
            if (this.reading && this.held === null)
                this.client.resume();
        }
    }
    /** The shared requests were all answered: continue on the client's own connection (or check the held AUTH). */
    resumeHeld() {
        const h = this.held;
        if (h === null || this.pending.length > 0 || this.closed)
            return;
        if (h.auth) {
            if (!h.checking)
                this.authCheck.start(h);
            return;
        }
        this.held = null;
        this.moveToOwnConnection();
        this.routeNow(h);
    }
    routeNow(h) {
        try {
            this.requests.route(h.args, h.buf, h.start, h.end);
            this.flushForward();
        }
        finally {
            this.flushUpstream();
            this.flushOut();
        }
        if (this.reading && this.held === null && !this.authInline) {
            this.reader.process();
            if (this.reading)
                this.client.resume();
        }
    }
    /** Disconnect a client whose unread replies pass its class's limit, as Redis does. */
    checkOutputLimit() {
        const len = this.client.writableLength;
        if (len === 0)
            return;
        const pubsub = this.state.subCount > 0;
        const lim = pubsub ? this.ctx.limits.outputPubsub : this.ctx.limits.outputNormal;
        if (!this.limiter.over(len, lim, this.upstream?.shared === true, Date.now()))
            return;
        this.ctx.log.warn({ client: this.remote, bytes: len, class: pubsub ? 'pubsub' : 'normal' }, 'closing client over its output buffer limit');
        this.outputLimitHits++;
        this.client.destroy();
        this.close();
    }
    /** Forward request bytes [start, end) of `buf`, merging adjacent requests into one write. */
    forward(buf, start, end) {
        this.batch.forward(buf, start, end);
    }
    flushForward() {
        this.batch.cut();
    }
    /** Bytes of the proxy's own for the upstream, in order with the forwarded ones. */
    toUpstream(bytes) {
        this.batch.add(bytes);
    }
    flushUpstream() {
        const upstream = this.upstream;
        if (!this.batch.sendTo(upstream) && upstream?.shared === true)
            this.client.pause(); // (resumed by onUpstreamDrain)
    }
    // ── the pending queue ──
    /** A reply the proxy already has: written now if nothing is ahead of it, else queued. */
    enqueueReady(reply, closeAfter, fromCache = false) {
        if (this.pending.length === 0) {
            this.out.add(reply);
            this.observer?.onReply(0, fromCache);
            if (closeAfter)
                this.finish();
            return;
        }
        const p = new Pending(5 /* Kind.Ready */);
        p.reply = reply;
        p.closeAfter = closeAfter;
        p.fromCache = fromCache;
        this.pending.push(p);
    }
    /** A cache hit: the stored bulk reply, or nil in this client's protocol. */
    serveCached(hit) {
        this.enqueueReady(hit ?? (this.state.proto === 3 ? NIL_RESP3 : NIL_RESP2), false, true);
    }
    observeDone(p) {
        this.observer?.onReply((performance.now() - p.t0) / 1000, p.fromCache);
    }
    /** From here on requests are relayed unpaired (MONITOR, CLIENT REPLY, ...). */
    relayRequests() {
        this.rawRequests = true;
    }
    /** ... and, once every earlier reply is paired, replies too. */
    relayReplies() {
        this.rawReplies = true;
        this.upstream?.relayRaw();
    }
    // ── what the upstream tells (UpstreamClient) ──
    onUpstreamReply(buf, start, end, inChunk) {
        this.replies.onReply(buf, start, end, inChunk);
    }
    onUpstreamFlush() {
        this.flushOut();
        // A client that cannot keep up slows its own Redis connection, except a subscriber:
        // messages are not requested, so like Redis the proxy buffers them and lets the
        // pub/sub output limit cut a subscriber that falls too far behind.
        if (this.client.writableNeedDrain && this.state.subCount === 0)
            this.upstream?.pause();
        this.pending.waitSince = Date.now();
        this.checkOutputLimit();
    }
    onUpstreamDrain() {
        if (this.reading && this.held === null && !this.client.writableNeedDrain)
            this.client.resume();
    }
    onUpstreamLost(reason) {
        if (this.phase === 3 /* Phase.Finishing */ || this.closed)
            return;
        if (this.upstream?.shared === true && this.pending.length === 0 && this.held === null && !this.hasSent) {
            // A client that has sent nothing yet has never been a client of that connection in
            // Redis's eyes: it moves on, to another shared connection or one of its own.
            this.upstream = this.ctx.upstreams.share(this);
            if (this.upstream === null) {
                this.state.unprove();
                this.openUpstream();
            }
            else {
                this.state.user = this.upstream.seatUser ?? null;
            }
            return;
        }
        this.lose(reason);
    }
    onUpstreamFault(reason) {
        this.fault(reason);
    }
    sendInternal(bytes, onReply) {
        this.flushForward();
        this.toUpstream(bytes);
        const p = new Pending(7 /* Kind.Internal */);
        p.onInternal = onReply;
        this.pending.push(p);
    }
    /** A record was answered (and every Ready one behind it written). */
    onAnswered() {
        const head = this.pending.peek();
        if (head === undefined) {
            if (this.phase === 2 /* Phase.HalfClosed */)
                this.finish();
            else if (this.held !== null)
                this.resumeHeld();
        }
        else if (this.phase === 2 /* Phase.HalfClosed */ && head.blocking) {
            // Redis frees a client that half-closes while blocked, and its blocked command with
            // it: closing its connection does the same (nothing is consumed by it later)
            this.finish();
        }
    }
    // ───────────────────────────── lifecycle ─────────────────────────────
    onClientEnd() {
        if (this.phase === 0 /* Phase.Open */ || this.phase === 1 /* Phase.InputStopped */)
            this.phase = 2 /* Phase.HalfClosed */;
        if (this.phase !== 2 /* Phase.HalfClosed */)
            return;
        // what it sent before the end is answered (up to a blocked command: see onAnswered)
        this.onAnswered();
        // a Redis that never answers must not keep the session
        if (!this.closed)
            setTimeout(() => this.close(), HALF_CLOSE_GRACE_MS).unref();
    }
    stopInput() {
        if (this.phase === 0 /* Phase.Open */)
            this.phase = 1 /* Phase.InputStopped */;
        this.client.pause();
    }
    /**
     * Called about every quarter second by the listener, only when a timeout is set.
     * idleMs: close a client silent for that long (not while subscribed or waiting for
     * Redis, as Redis's `timeout` spares pub/sub and blocked clients).
     * backendMs: a client whose command Redis has not answered in that long (blocking ones
     * excepted) is closed, as if its connection were lost: its reply stream can no longer be
     * paired, and a reply the proxy made up would be taken for Redis's.
     */
    sweep(now, idleMs, backendMs) {
        if (this.closed)
            return;
        const waiting = this.pending.length > 0;
        if (idleMs > 0 && !waiting && this.state.subCount === 0 && !this.rawRequests && now - this.lastInput > idleMs) {
            this.ctx.log.debug({ client: this.remote }, 'closing idle client');
            this.close();
            return;
        }
        if (backendMs > 0 && waiting && !this.rawReplies && this.phase !== 3 /* Phase.Finishing */ && now - this.pending.waitSince > backendMs) {
            const head = this.pending.peek();
            if (head.blocking || head.kind === 4 /* Kind.Subscribe */)
                return;
            this.ctx.log.warn({ client: this.remote, timeoutMs: backendMs }, 'backend timeout: closing the client');
            this.observer?.onError('backend-timeout');
            this.lose(`Redis did not answer within ${backendMs} ms (--backend-timeout)`);
        }
    }
    /**
     * The connection serving this client is lost (or given up on): what is still in flight
     * will never be answered, so the client's connection closes behind the replies that did
     * arrive, as Redis would have closed it. A shared connection stays for the others.
     */
    lose(reason) {
        this.ctx.log.debug({ client: this.remote, reason }, 'closing client: its connection to Redis is gone');
        if (this.pending.length > 0)
            this.observer?.onError('backend-lost');
        for (const p of this.pending.drain())
            p.releaseHold();
        this.finish();
    }
    fault(reason) {
        this.observer?.onError('reply-fault');
        this.ctx.log.warn({ client: this.remote, reason }, 'closing client after a protocol fault');
        this.client.destroy();
        this.close();
    }
    flushOut() {
        this.out.writeTo(this.client);
    }
    /** Flush what was written, then close both sides. */
    finish() {
        if (this.closed)
            return;
        const already = this.phase === 3 /* Phase.Finishing */;
        this.phase = 3 /* Phase.Finishing */;
        this.flushOut();
        this.client.end();
        this.upstream?.close();
        // Like Redis, close once the last reply is out, without waiting long for the client to
        // close its side: one that keeps sending would keep its slot forever. What it still
        // sends is read and dropped, since bytes left unread would turn the close into a reset,
        // which can destroy the last reply before the client reads it.
        if (already)
            return;
        const client = this.client;
        client.removeAllListeners('data');
        client.on('data', () => undefined);
        client.resume();
        client.once('finish', () => {
            this.finishTimer = setTimeout(() => this.close(), FINISH_LINGER_MS);
            this.finishTimer.unref();
        });
    }
    close() {
        if (this.closed)
            return;
        this.phase = 4 /* Phase.Closed */;
        if (this.finishTimer)
            clearTimeout(this.finishTimer);
        this.upstream?.close();
        for (const p of this.pending.drain())
            p.releaseHold();
        if (!this.client.destroyed)
            this.client.destroy();
        this.ctx.onClose(this);
    }
    /** false while the client rides a shared connection */
    get ownsConnection() {
        return this.upstream !== null && !this.upstream.shared;
    }
    /** Graceful shutdown: stop reading new requests; resolve once nothing is in flight. */
    get idle() {
        return this.pending.length === 0;
    }
    stopReading() {
        this.stopInput();
    }
}
//# sourceMappingURL=session.js.map