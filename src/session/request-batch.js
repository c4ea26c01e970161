import { WriteBatch } from '../io/write-batch.js';
// The request bytes one client read produces for the upstream: requests forwarded as they
// came (side by side in the read, they stay one slice) and the proxy's own (a fill's PTTL,
// the upstream's CLIENT TRACKING), in order, with how many replies they will bring. They
// leave in one write: one client's batch goes out whole, so on a shared connection no other
// client's bytes land inside a request.
export class RequestBatch {
    parts = new WriteBatch();
    /** replies the batched requests will produce (a shared connection pairs by it) */
    replies = 0;
    /** Forward request bytes buf[start, end), merged with the previous request when adjacent. */
    forward(buf, start, end) {
        this.parts.addSlice(buf, start, end);
    }
    /** Close the run of forwarded bytes (what comes next goes behind it). */
    cut() {
        this.parts.closeRun();
    }
    /** Bytes of the proxy's own, in order with the forwarded ones. */
    add(bytes) {
        this.parts.add(bytes);
    }
    /**
     * Send the batch (to nobody when `upstream` is null: it is gone). Returns false when the
     * upstream asks the client to stop being read until it drains.
     */
    sendTo(upstream) {
        if (this.parts.empty)
            return true;
        const bytes = this.parts.bytes;
        const parts = this.parts.take();
        const replies = this.replies;
        this.replies = 0;
        if (upstream === null)
            return true;
        // (requests are Buffers: only replies from the cache are strings)
        return upstream.send(parts, bytes, replies);
    }
}
//# sourceMappingURL=request-batch.js.map