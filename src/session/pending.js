import { Fifo } from '../io/fifo.js';
export class Pending {
    kind;
    count = 1;
    /** a non-error reply proves the connection is authenticated (as "default" if no AUTH) */
    proves = true;
    /** BLPOP, XREAD BLOCK, WAIT...: may legitimately wait for a long time */
    blocking = false;
    /** ACL or password change: at its reply, check again whether clients may share */
    accessChange = false;
    /** when the request was decoded (performance.now), kept only when metrics are on */
    t0 = 0;
    fromCache = false;
    /** Write, and EXEC of a transaction that wrote: the keys it holds until its reply */
    hold = null;
    /** Fill */
    ticket = null;
    gotValue = false;
    value = null;
    valueOk = false;
    /** State */
    change = null;
    /** Subscribe */
    subKind = 0 /* SubscriptionKind.Channel */;
    /** Ready: the reply, and whether the connection ends after it */
    reply = null;
    closeAfter = false;
    /** Mget: what its replies need */
    mget = null;
    /** Internal: who takes the reply */
    onInternal = null;
    constructor(kind) {
        this.kind = kind;
    }
    /** A write's reply is in, or will never come: its keys are free again. */
    releaseHold() {
        this.hold?.release();
        this.hold = null;
    }
}
/** A record for a state command, its change to be filled in. */
export function stateRecord(command) {
    const p = new Pending(3 /* Kind.State */);
    p.change = { command, num: 0, user: null, on: false };
    return p;
}
/**
 * The session's queue of records. Pushing one also counts the replies it brings into the
 * batch of requests it goes out with, and starts the wait for Redis when the queue was empty.
 */
export class PendingQueue extends Fifo {
    batch;
    timed;
    /** when Redis last answered, or the wait for it began (ms since epoch): see --backend-timeout */
    waitSince = Date.now();
    constructor(batch, 
    /** metrics are on: each record keeps its start time, and its own latency */
    timed) {
        super();
        this.batch = batch;
        this.timed = timed;
    }
    push(p) {
        if (this.length === 0)
            this.waitSince = Date.now(); // the wait for Redis starts now
        if (this.timed)
            p.t0 = performance.now();
        this.batch.replies += p.kind === 2 /* Kind.Fill */ ? 2 : p.kind === 5 /* Kind.Ready */ ? 0 : p.kind === 8 /* Kind.Mget */ ? p.count : 1;
        super.push(p);
    }
    /** `count` replies to pass on, merged into the last record when it is a run of alike ones */
    pushPass(proves) {
        const last = this.last();
        // (with metrics on, each request keeps its own record for its latency)
        if (last !== undefined && last.kind === 0 /* Kind.Pass */ && last.proves === proves && !last.blocking && !last.accessChange && !this.timed) {
            last.count++;
            this.batch.replies++;
            return;
        }
        const p = new Pending(0 /* Kind.Pass */);
        p.proves = proves;
        this.push(p);
    }
    /** kept apart so that --backend-timeout can tell a blocked command from a hung Redis */
    pushBlocking() {
        const p = new Pending(0 /* Kind.Pass */);
        p.blocking = true;
        this.push(p);
    }
}
//# sourceMappingURL=pending.js.map