import { parseRedisInt } from './redis-int.js';
import { splitInlineArgs } from './inline-split.js';
// Finds request boundaries in a client's byte stream and decodes the arguments,
// mirroring Redis's processMultibulkBuffer / processInlineBuffer so that the
// proxy accepts and rejects exactly what Redis does. The original bytes of each
// request stay in `buffer` between `start` and `end`, so they can be forwarded as they came.
//
// It is a cursor that resumes where it stopped: a multibulk cut in the middle keeps
// the arguments decoded so far (as offsets from the request's start), and a large
// bulk is waited for by collecting chunks, not by concatenating on every packet.
/** Redis's PROTO_INLINE_MAX_SIZE: the longest inline line or length header. */
export const INLINE_MAX = 64 * 1024;
const EMPTY = Buffer.alloc(0);
const EMPTY_REQUEST = -1;
const CR = 0x0d;
const LF = 0x0a;
/** Redis finds an inline line's '\n' with strchr, which also stops at a NUL byte. */
function findInlineLF(buf, from) {
    for (let i = from; i < buf.length; i++) {
        const c = buf[i];
        if (c === LF)
            return i;
        if (c === 0)
            return -1;
    }
    return -1;
}
/** Redis looks for the header's '\r' with strchr, which also stops at a NUL byte. */
function findHeaderCR(buf, from) {
    for (let i = from; i < buf.length; i++) {
        const c = buf[i];
        if (c === CR)
            return i;
        if (c === 0)
            return -1;
    }
    return -1;
}
export class RequestDecoder {
    /** current buffer; the request in progress starts at `start` */
    buffer = EMPTY;
    /** start of the request being decoded (unconsumed bytes begin here) */
    start = 0;
    /** the request just returned is buffer[requestStart, end) */
    requestStart = 0;
    end = 0;
    /** arguments of the last decoded request (subarrays of `buffer`) */
    /** number of arguments of the last decoded request */
    argc = 0;
    argsCache = null;
    inline = false;
    /** message (without "-ERR ") of the last protocol error */
    error = '';
    cursor = 0;
    argsLeft = -1; // -1: no multibulk header read yet
    headerCount = 0;
    bulkLen = -1; // -1: next thing is a bulk header
    spans = []; // [offset from start, length] pairs, the first `spanCount` of them
    spanCount = 0; // (a count, not spans.length = 0: resizing the array per request costs)
    waiting = [];
    waitingBytes = 0;
    needBytes = 0; // bytes (from `start`) that must be present before parsing resumes
    limits;
    constructor(limits) {
        this.limits = limits;
    }
    /** bytes held for a request not yet complete */
    get buffered() {
        return this.buffer.length - this.start + this.waitingBytes;
    }
    push(chunk) {
        if (this.start >= this.buffer.length && this.waitingBytes === 0) {
            this.buffer = chunk;
            this.cursor -= this.start;
            this.start = 0;
            return;
        }
        if (this.needBytes > 0) {
            this.waiting.push(chunk);
            this.waitingBytes += chunk.length;
            if (this.buffer.length - this.start + this.waitingBytes < this.needBytes)
                return;
        }
        else {
            this.waiting.push(chunk);
            this.waitingBytes += chunk.length;
        }
        this.compact();
    }
    compact() {
        const parts = [this.buffer.subarray(this.start), ...this.waiting];
        this.buffer = Buffer.concat(parts, this.buffer.length - this.start + this.waitingBytes);
        this.cursor -= this.start;
        this.start = 0;
        this.waiting = [];
        this.waitingBytes = 0;
        this.needBytes = 0;
    }
    /** Arguments of the last decoded request, as subarrays of `buffer` (copies for inline requests). */
    get args() {
        if (this.argsCache === null) {
            const args = new Array(this.argc);
            for (let j = 0; j < this.argc; j++) {
                const off = this.requestStart + this.spans[2 * j];
                args[j] = this.buffer.subarray(off, off + this.spans[2 * j + 1]);
            }
            this.argsCache = args;
        }
        return this.argsCache;
    }
    /** Where argument i of the last multibulk request lies in `buffer` (not for inline requests). */
    argOffset(i) {
        return this.requestStart + this.spans[2 * i];
    }
    argLength(i) {
        return this.spans[2 * i + 1];
    }
    /** Argument count of the multibulk request in progress, or -1 when none is. */
    get partialArgc() {
        return this.argsLeft === -1 ? -1 : this.headerCount;
    }
    /** The first argument (command name) of the request in progress, once it is in. */
    partialName() {
        if (this.argsLeft === -1 || this.spanCount < 2)
            return null;
        const off = this.start + this.spans[0];
        return this.buffer.subarray(off, off + this.spans[1]);
    }
    /** Bytes received so far for the request in progress, from `offset` (relative to its start). */
    partialBytes(offset) {
        const out = [];
        let skip = offset;
        for (const part of [this.buffer.subarray(this.start), ...this.waiting]) {
            if (skip < part.length)
                out.push(skip === 0 ? part : part.subarray(skip));
            skip = Math.max(0, skip - part.length);
        }
        return out;
    }
    /** Decode the next request. After Request, read buffer/start/end/args/inline. */
    next() {
        // empty requests (blank lines, *0, *-1) produce nothing: loop, never recurse, past them
        for (;;) {
            const st = this.nextOrEmpty();
            if (st !== EMPTY_REQUEST)
                return st;
        }
    }
    nextOrEmpty() {
        const buf = this.buffer;
        if (this.waitingBytes > 0)
            return 0 /* DecodeStatus.Incomplete */;
        // A new request: skip nothing, decide its type from its first byte as Redis does.
        if (this.argsLeft === -1) {
            this.cursor = this.start;
            if (this.start >= buf.length)
                return 0 /* DecodeStatus.Incomplete */;
            if (buf[this.start] !== 0x2a /* '*' */)
                return this.nextInline();
            const cr = findHeaderCR(buf, this.start + 1);
            if (cr < 0) {
                if (buf.length - this.start > INLINE_MAX)
                    return this.fail('too big mbulk count string');
                return 0 /* DecodeStatus.Incomplete */;
            }
            if (cr + 1 >= buf.length)
                return 0 /* DecodeStatus.Incomplete */; // need the '\n' too
            const n = parseRedisInt(buf, this.start + 1, cr);
            if (Number.isNaN(n) || n > 2147483647)
                return this.fail('invalid multibulk length');
            this.cursor = cr + 2;
            if (n <= 0) {
                // "*0\r\n" and "*-1\r\n" are empty requests that Redis skips without a reply
                this.start = this.cursor;
                return EMPTY_REQUEST;
            }
            this.argsLeft = n;
            this.headerCount = n;
            this.bulkLen = -1;
            this.spanCount = 0;
        }
        while (this.argsLeft > 0) {
            if (this.bulkLen === -1) {
                const cr = findHeaderCR(buf, this.cursor);
                if (cr < 0) {
                    if (buf.length - this.cursor > INLINE_MAX)
                        return this.fail('too big bulk count string');
                    return 0 /* DecodeStatus.Incomplete */;
                }
                if (cr + 1 >= buf.length)
                    return 0 /* DecodeStatus.Incomplete */;
                if (buf[this.cursor] !== 0x24 /* '$' */) {
                    return this.fail(`expected '$', got '${String.fromCharCode(buf[this.cursor])}'`);
                }
                const len = parseRedisInt(buf, this.cursor + 1, cr);
                if (Number.isNaN(len) || len < 0 || len > this.limits.maxBulkLen)
                    return this.fail('invalid bulk length');
                this.bulkLen = len;
                this.cursor = cr + 2;
            }
            if (buf.length - this.cursor < this.bulkLen + 2) {
                // wait for the whole bulk without concatenating on every packet
                this.needBytes = this.cursor - this.start + this.bulkLen + 2;
                return 0 /* DecodeStatus.Incomplete */;
            }
            this.spans[this.spanCount++] = this.cursor - this.start;
            this.spans[this.spanCount++] = this.bulkLen;
            // like Redis, the two bytes after the bulk are skipped, not checked
            this.cursor += this.bulkLen + 2;
            this.bulkLen = -1;
            this.argsLeft--;
        }
        // arguments stay offsets until someone asks for them (a cache hit never does)
        this.argsCache = null;
        this.argc = this.spanCount >> 1;
        this.inline = false;
        this.requestStart = this.start;
        this.end = this.cursor;
        this.argsLeft = -1;
        this.needBytes = 0;
        this.start = this.cursor;
        return 1 /* DecodeStatus.Request */;
    }
    nextInline() {
        const buf = this.buffer;
        const lf = findInlineLF(buf, this.start);
        if (lf < 0) {
            if (buf.length - this.start > INLINE_MAX)
                return this.fail('too big inline request');
            return 0 /* DecodeStatus.Incomplete */;
        }
        let lineEnd = lf;
        if (lf > this.start && buf[lf - 1] === CR)
            lineEnd--;
        const args = splitInlineArgs(buf.subarray(this.start, lineEnd));
        if (args === null)
            return this.fail('unbalanced quotes in request');
        const from = this.start;
        this.start = lf + 1;
        this.cursor = this.start;
        if (args.length === 0)
            return EMPTY_REQUEST; // an empty line is no request
        this.argsCache = args;
        this.argc = args.length;
        this.inline = true;
        this.requestStart = from;
        this.end = lf + 1;
        return 1 /* DecodeStatus.Request */;
    }
    fail(message) {
        this.error = message;
        // Nothing after a protocol error is ever read: Redis closes the connection.
        this.argsLeft = -1;
        return 2 /* DecodeStatus.ProtocolError */;
    }
}
//# sourceMappingURL=request-decoder.js.map