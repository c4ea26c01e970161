const DASH = 0x2d;
/** Is buf[start, end) an error reply starting "-READONLY"? */
export function isReadonlyError(buf, start, end) {
    return buf[start] === DASH && end - start > 9 && buf.toString('latin1', start + 1, start + 9) === 'READONLY';
}
export class FollowedUpstream {
    hooks;
    client;
    /** set right after construction (the real upstream needs this object as its client) */
    inner;
    dropped = false;
    constructor(hooks, client) {
        this.hooks = hooks;
        this.client = client;
    }
    /** The primary moved: the client loses this connection, the real one closes. */
    drop(reason) {
        if (this.dropped)
            return;
        this.dropped = true;
        if (!this.client.closed)
            this.client.onUpstreamLost(reason);
        this.inner.close();
    }
    // ── the session's side (Upstream) ──
    get shared() {
        return this.inner.shared;
    }
    get streams() {
        return this.inner.streams;
    }
    get answered() {
        return this.inner.answered;
    }
    get congested() {
        return this.inner.congested;
    }
    get fillOwner() {
        return this.inner.fillOwner;
    }
    get seatUser() {
        return this.inner.seatUser;
    }
    get seatLogin() {
        return this.inner.seatLogin;
    }
    send(parts, bytes, replies) {
        return this.inner.send(parts, bytes, replies);
    }
    fillGeneration() {
        return this.dropped ? -1 : this.inner.fillGeneration();
    }
    stillTracked(generation) {
        return !this.dropped && this.inner.stillTracked(generation);
    }
    yieldTracking(turnOff) {
        this.inner.yieldTracking(turnOff);
    }
    userChanged() {
        this.inner.userChanged();
    }
    relayRaw() {
        this.inner.relayRaw();
    }
    pause() {
        this.inner.pause();
    }
    resume() {
        this.inner.resume();
    }
    close() {
        this.hooks.left(this);
        this.inner.close();
    }
    // ── the real upstream's side (UpstreamClient) ──
    get closed() {
        return this.dropped || this.client.closed;
    }
    onUpstreamReply(buf, start, end, inChunk) {
        if (buf[start] === DASH && isReadonlyError(buf, start, end))
            this.hooks.readonlySeen();
        this.client.onUpstreamReply(buf, start, end, inChunk);
    }
    onUpstreamFlush() {
        this.client.onUpstreamFlush();
    }
    onUpstreamDrain() {
        this.client.onUpstreamDrain();
    }
    onUpstreamLost(reason) {
        this.hooks.lost(this);
        if (!this.dropped)
            this.client.onUpstreamLost(reason);
    }
    onUpstreamFault(reason) {
        this.client.onUpstreamFault(reason);
    }
    sendInternal(bytes, onReply) {
        this.client.sendInternal(bytes, onReply);
    }
}
/** The upstream handed out while no primary is known: it reports itself lost at once. */
export class NoPrimaryUpstream {
    shared = false;
    streams = true;
    answered = false;
    congested = false;
    fillOwner = null;
    closed = false;
    constructor(client, reason) {
        setImmediate(() => {
            if (!this.closed && !client.closed)
                client.onUpstreamLost(reason);
        });
    }
    send() {
        return true;
    }
    fillGeneration() {
        return -1;
    }
    stillTracked() {
        return false;
    }
    yieldTracking() { }
    userChanged() { }
    relayRaw() { }
    pause() { }
    resume() { }
    close() {
        this.closed = true;
    }
}
//# sourceMappingURL=followed-upstream.js.map