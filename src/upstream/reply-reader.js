import { ReplyScanner } from '../resp/reply-scanner.js';
export class ReplyReader {
    sink;
    /**
     * Set (by the sink, between frames) when replies stop having frames the proxy can find:
     * the rest of the stream goes to the sink as it comes, in ranges that need not be frames.
     */
    raw = false;
    scanner = new ReplyScanner();
    partial = [];
    constructor(sink) {
        this.sink = sink;
    }
    /** One read from the socket. Throws ReplyProtocolError when the bytes are no RESP. */
    read(chunk) {
        let pos = 0;
        while (pos < chunk.length) {
            if (this.raw) {
                this.sink(chunk, pos, chunk.length, true);
                return;
            }
            const end = this.scanner.scan(chunk, pos);
            if (end < 0) {
                this.partial.push(pos === 0 ? chunk : chunk.subarray(pos));
                return;
            }
            if (this.partial.length > 0) {
                this.partial.push(chunk.subarray(pos, end));
                const frame = Buffer.concat(this.partial);
                this.partial = [];
                this.sink(frame, 0, frame.length, false);
            }
            else {
                this.sink(chunk, pos, end, true);
            }
            pos = end;
        }
    }
    /** Forget a frame half read (the connection it came on is gone). */
    reset() {
        this.scanner = new ReplyScanner();
        this.partial = [];
    }
}
//# sourceMappingURL=reply-reader.js.map