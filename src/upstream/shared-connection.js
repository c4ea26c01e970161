import { connectToRedis } from '../backend/connect.js';
import { trackingRequest, NO_TRACKING_NEEDED } from '../backend/invalidation-link.js';
import { ReplyProtocolError } from '../resp/reply-scanner.js';
import { Fifo } from '../io/fifo.js';
import { ReplyReader } from './reply-reader.js';
import { joinParts } from '../io/write-batch.js';
/** Takes the reply to the connection's own CLIENT TRACKING (no client is waiting for it). */
class TrackingReply {
    conn;
    generation;
    gone = false;
    constructor(conn, generation) {
        this.conn = conn;
        this.generation = generation;
    }
    deliver(buf, start, end) {
        if (buf[start] === 0x2d)
            this.conn.trackingRefused(this.generation, buf.toString('latin1', start + 1, end - 2));
    }
}
/** Takes the reply to the pool's login (AUTH): the connection takes clients only after it. */
class LoginReply {
    conn;
    gone = false;
    constructor(conn) {
        this.conn = conn;
    }
    deliver(buf, start, end) {
        this.conn.loginAnswered(buf.toString('latin1', start, end - 2));
    }
}
const RECONNECT_MS = 250;
export class SharedConnection {
    pool;
    up = false;
    /** the link generation this connection's CLIENT TRACKING was sent for; -1: not tracked */
    trackedGen = -1;
    socket = null;
    reader = new ReplyReader((buf, start, end, inChunk) => this.dispatch(buf, start, end, inChunk));
    routes = new Fifo();
    corked = false;
    touched = [];
    /** reads so far: a seat marked with the current one is in touched already */
    reads = 0;
    stopped = false;
    /** every client riding this connection, busy or idle: they all go down with it */
    members = new Set();
    /** seats whose clients stopped reading because the send buffer was full */
    waitingDrain = new Set();
    constructor(pool) {
        this.pool = pool;
    }
    connect() {
        if (this.stopped)
            return;
        const socket = connectToRedis(this.pool.addr, this.pool.tls);
        this.socket = socket;
        this.reader.reset();
        this.trackedGen = -1;
        socket.on(this.pool.addr.tls ? 'secureConnect' : 'connect', () => {
            const login = this.pool.login;
            if (login !== null) {
                this.routes.push({ to: new LoginReply(this), replies: 1 });
                socket.write(login.command);
            }
            this.track(); // ahead of any client's request
            if (login === null)
                this.up = true;
        });
        socket.on('data', (chunk) => this.onData(chunk));
        socket.on('drain', () => {
            const waiting = [...this.waitingDrain];
            this.waitingDrain.clear();
            for (const s of waiting)
                s.drained();
        });
        // Redis stops tracking a connection when it closes: what was filled through it is
        // reported no more (noticed at 'end', ahead of GETs read in the same turn).
        socket.on('end', () => this.trackingLost());
        socket.on('error', () => this.trackingLost());
        socket.on('close', () => this.onClose(socket));
    }
    stop() {
        this.stopped = true;
        this.socket?.destroy();
    }
    /** the ACL user Redis knows it as: its pool's login's, 'default' without one */
    get user() {
        return this.pool.login?.user ?? 'default';
    }
    /** the AUTH that makes another connection this one's user (null: no login) */
    get loginCommand() {
        return this.pool.login?.command ?? null;
    }
    /** clients riding it now */
    get seats() {
        return this.members.size;
    }
    /**
     * The pool's AUTH was answered (`reply`: the frame without its CRLF). Anything but +OK
     * means Redis no longer takes the pool's credentials: the connection closes for good and
     * the pool is told.
     */
    loginAnswered(reply) {
        if (reply !== '+OK') {
            this.stopped = true;
            // (nothing was filled through it: it never took a client)
            this.trackedGen = -1;
            this.socket?.destroy();
            // (Redis's message names no password)
            this.pool.loggedIn(false, reply.slice(1));
            return;
        }
        this.up = true;
        this.pool.loggedIn(true);
    }
    /** A place on this connection for a client. */
    seat(client) {
        const seat = new SharedSeat(this, client);
        this.members.add(seat);
        return seat;
    }
    leave(seat) {
        this.members.delete(seat);
        this.waitingDrain.delete(seat);
    }
    /** Point this connection's tracking at the link, unless it already is for this generation. */
    track() {
        const t = this.pool.tracking;
        const socket = this.socket;
        if (t === null || t.redirectId === null || socket === null || this.trackedGen === t.generation)
            return;
        this.trackedGen = t.generation;
        this.routes.push({ to: new TrackingReply(this, t.generation), replies: 1 });
        socket.write(trackingRequest(t.redirectId));
    }
    /**
     * May a GET sent now fill the cache? Only if Redis will report its key to the link: the
     * connection's tracking was sent for the link's current generation (requests run in
     * order, so a GET sent after it is tracked), or no tracking is needed (ttl mode).
     */
    fillGeneration() {
        const t = this.pool.tracking;
        if (t === null || t.redirectId === null)
            return NO_TRACKING_NEEDED;
        return this.trackedGen === t.generation ? t.generation : -1;
    }
    /** false if the CLIENT TRACKING that a fill relied on was refused after all */
    stillTracked(generation) {
        return generation === NO_TRACKING_NEEDED || this.trackedGen === generation;
    }
    trackingLost() {
        if (this.trackedGen === -1)
            return;
        this.trackedGen = -1;
        this.pool.onTrackingLost?.();
    }
    trackingRefused(generation, message) {
        if (this.trackedGen !== generation)
            return;
        this.trackedGen = -1;
        // NOAUTH: Redis wants a password, so no client shares this connection (the probe says
        // so) and nothing is filled through it: nothing for an operator to act on
        const expected = message.startsWith('NOAUTH');
        this.pool.log[expected ? 'debug' : 'warn']({ reason: message }, 'a shared connection could not turn on CLIENT TRACKING: the cache is not filled through it');
    }
    /**
     * Send one client's batch of requests, which will produce `replies` replies. Writes of
     * every client served in this turn of the event loop leave in one system call.
     * Returns false when Redis is not keeping up: the client should stop reading until its
     * seat is drained, so that clients cannot pile requests up in the proxy.
     */
    send(seat, bytes, replies) {
        const socket = this.socket;
        if (!socket)
            return true;
        if (replies > 0) {
            const last = this.routes.last();
            if (last !== undefined && last.to === seat)
                last.replies += replies;
            else
                this.routes.push({ to: seat, replies });
        }
        if (!this.corked) {
            this.corked = true;
            socket.cork();
            setImmediate(() => {
                this.corked = false;
                socket.uncork();
            });
        }
        socket.write(bytes);
        if (!socket.writableNeedDrain)
            return true;
        this.waitingDrain.add(seat);
        return false;
    }
    onData(chunk) {
        this.reads++;
        try {
            this.reader.read(chunk);
        }
        catch (err) {
            this.pool.log.error({ reason: err instanceof ReplyProtocolError ? err.message : String(err) }, 'bad reply on a shared connection: closing it');
            this.trackingLost();
            this.socket?.destroy();
        }
        finally {
            for (const s of this.touched)
                s.flush();
            this.touched.length = 0;
        }
    }
    dispatch(buf, start, end, inChunk) {
        const route = this.routes.peek();
        if (route === undefined)
            throw new ReplyProtocolError('a reply arrived with no request pending');
        if (--route.replies <= 0)
            this.routes.shift();
        const to = route.to;
        if (to.gone)
            return; // its client left: the reply has nowhere to go
        // (each seat flushed once per read, however its replies interleave with others')
        if (to instanceof SharedSeat && to.readMark !== this.reads) {
            to.readMark = this.reads;
            this.touched.push(to);
        }
        to.deliver(buf, start, end, inChunk);
    }
    onClose(socket) {
        if (socket !== this.socket)
            return;
        this.trackingLost();
        this.up = false;
        this.socket = null;
        this.routes.drain();
        const lost = [...this.members];
        this.members.clear();
        for (const s of lost)
            s.lost('connection to Redis lost');
        if (!this.stopped)
            setTimeout(() => this.connect(), RECONNECT_MS).unref();
    }
}
/**
 * A client's place on a shared connection. A client only rides one while it holds no
 * connection state, so the seat has no tracking of its own to give up, and never relays raw.
 */
export class SharedSeat {
    conn;
    client;
    shared = true;
    streams = false;
    answered = true;
    congested = false;
    fillOwner = null;
    /** the client left it: replies still arriving for it are dropped */
    gone = false;
    /** the connection's read that last delivered to it (see SharedConnection.dispatch) */
    readMark = -1;
    constructor(conn, client) {
        this.conn = conn;
        this.client = client;
    }
    get seatUser() {
        return this.conn.user;
    }
    get seatLogin() {
        return this.conn.loginCommand;
    }
    send(parts, bytes, replies) {
        return this.conn.send(this, joinParts(parts, bytes), replies);
    }
    fillGeneration() {
        return this.conn.fillGeneration();
    }
    stillTracked(generation) {
        return this.conn.stillTracked(generation);
    }
    deliver(buf, start, end, inChunk) {
        if (!this.client.closed)
            this.client.onUpstreamReply(buf, start, end, inChunk);
    }
    flush() {
        if (!this.gone && !this.client.closed)
            this.client.onUpstreamFlush();
    }
    drained() {
        if (!this.gone && !this.client.closed)
            this.client.onUpstreamDrain();
    }
    lost(reason) {
        if (!this.gone && !this.client.closed)
            this.client.onUpstreamLost(reason);
    }
    yieldTracking() { }
    userChanged() { }
    relayRaw() { }
    pause() { }
    resume() { }
    close() {
        this.gone = true;
        this.conn.leave(this);
    }
}
//# sourceMappingURL=shared-connection.js.map