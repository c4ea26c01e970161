import { connectToRedis, describeConnectError } from '../backend/connect.js';
import { trackingRequest, TRACKING_OFF, NO_TRACKING_NEEDED } from '../backend/invalidation-link.js';
import { FillOwner } from '../cache/reply-cache.js';
import { ReplyProtocolError } from '../resp/reply-scanner.js';
import { ReplyReader } from './reply-reader.js';
import { writeAll } from '../io/write-batch.js';
export class OwnConnection {
    opts;
    client;
    shared = false;
    streams = true;
    answered = false;
    everUp = false;
    lostReason = '';
    socket;
    reader;
    /** the link generation its CLIENT TRACKING was sent for, or -1 */
    trackedGen = -1;
    /** Redis refused it for this user: no more tries until the user changes */
    trackingRefused = false;
    owner = null;
    closed = false;
    constructor(opts, client) {
        this.opts = opts;
        this.client = client;
        this.reader = new ReplyReader((buf, start, end, inChunk) => {
            if (!client.closed)
                client.onUpstreamReply(buf, start, end, inChunk);
        });
        const socket = connectToRedis(opts.addr, opts.tls);
        this.socket = socket;
        socket.on(opts.addr.tls ? 'secureConnect' : 'connect', () => {
            this.everUp = true;
        });
        socket.on('data', (chunk) => this.onData(chunk));
        socket.on('drain', () => client.onUpstreamDrain());
        // Redis stopped tracking this connection the moment it closed it: its entries die now,
        // not a loop phase later at 'close', after GETs read in the same turn were served.
        socket.on('end', () => this.untrack());
        socket.on('error', (err) => {
            this.untrack();
            this.lostReason = this.everUp ? `connection to Redis lost (${err.code ?? err.message})` : describeConnectError(opts.addr, err);
        });
        socket.on('close', () => {
            if (this.closed)
                return;
            this.closed = true;
            this.untrack();
            client.onUpstreamLost(this.lostReason || 'connection to Redis closed');
        });
    }
    onData(chunk) {
        if (this.client.closed)
            return;
        this.answered = true;
        try {
            this.reader.read(chunk);
        }
        catch (err) {
            this.client.onUpstreamFault(err instanceof ReplyProtocolError ? `bad reply from Redis: ${err.message}` : String(err));
            return;
        }
        this.client.onUpstreamFlush();
    }
    send(parts, bytes) {
        if (!this.socket.destroyed)
            writeAll(this.socket, parts, bytes);
        return !this.socket.writableNeedDrain;
    }
    get congested() {
        return this.socket.writableNeedDrain;
    }
    fillGeneration() {
        const t = this.opts.tracking;
        if (t === null || t.redirectId === null)
            return NO_TRACKING_NEEDED;
        if (this.trackedGen === t.generation)
            return t.generation;
        // (a new connection's first reply may be Redis refusing the connection itself: let it
        // reach the client as it would, not the proxy's CLIENT TRACKING)
        if (this.trackingRefused || !this.answered)
            return -1;
        const generation = t.generation;
        this.client.sendInternal(trackingRequest(t.redirectId), (frame) => this.onTrackingReply(generation, frame));
        this.trackedGen = generation;
        this.owner?.kill();
        this.owner = new FillOwner();
        return generation;
    }
    stillTracked(generation) {
        return generation === NO_TRACKING_NEEDED || this.trackedGen === generation;
    }
    get fillOwner() {
        return this.owner;
    }
    onTrackingReply(generation, frame) {
        const t = frame[0];
        if ((t !== 0x2d && t !== 0x21) || this.trackedGen !== generation)
            return;
        this.untrack();
        // the user may not (NOPERM): not again until the user changes; anything else (NOAUTH
        // before AUTH, BUSY, a redirect to a link that just died): try again at the next fill
        if (frame.toString('latin1', 1, 7) === 'NOPERM')
            this.trackingRefused = true;
    }
    /** The connection's user changed (AUTH, HELLO AUTH, RESET): it may be allowed CLIENT TRACKING now. */
    userChanged() {
        this.trackingRefused = false;
    }
    yieldTracking(turnOff) {
        if (this.trackedGen === -1)
            return;
        this.untrack();
        if (turnOff)
            this.client.sendInternal(TRACKING_OFF, () => undefined);
    }
    /** Redis no longer tracks this connection for the proxy: its entries die. */
    untrack() {
        this.trackedGen = -1;
        this.owner?.kill();
        this.owner = null;
    }
    relayRaw() {
        this.reader.raw = true;
    }
    pause() {
        // A paused socket shows no end until it is read again: if Redis closed it meanwhile
        // (its output limit, timeout, CLIENT KILL), its tracking would be gone unseen. So what
        // was filled through it dies now, and the next fill tracks it again.
        this.untrack();
        this.socket.pause();
    }
    resume() {
        this.socket.resume();
    }
    close() {
        this.untrack();
        this.closed = true;
        this.socket.destroy();
    }
}
//# sourceMappingURL=own-connection.js.map