/** up to this many bytes of small parts are copied into one buffer rather than written one by one */
const COALESCE_MAX = 64 * 1024;
function writeOne(socket, part) {
    if (typeof part === 'string')
        socket.write(part, 'latin1');
    else
        socket.write(part);
}
/** Write `parts` (`bytes` in all) with one call: small ones copied into one buffer, large ones corked. */
export function writeAll(socket, parts, bytes) {
    if (parts.length === 1)
        writeOne(socket, parts[0]);
    else if (bytes <= COALESCE_MAX)
        socket.write(joinParts(parts, bytes));
    else {
        socket.cork();
        for (const part of parts)
            writeOne(socket, part);
        socket.uncork();
    }
}
/** The parts as one Buffer of `bytes` bytes. */
export function joinParts(parts, bytes) {
    if (parts.length === 1 && typeof parts[0] !== 'string')
        return parts[0];
    const out = Buffer.allocUnsafe(bytes);
    let at = 0;
    for (const part of parts)
        at += typeof part === 'string' ? out.latin1Write(part, at) : part.copy(out, at);
    return out;
}
/**
 * Parts gathered while one read is handled, written together at its end. Adjacent slices
 * of one buffer (frames that lay side by side in a read) are merged into one slice.
 */
export class WriteBatch {
    parts = [];
    bytes = 0;
    runBuf = null;
    runStart = 0;
    runEnd = 0;
    /** buf[start, end), merged with the previous slice when it directly follows it */
    addSlice(buf, start, end) {
        if (this.runBuf === buf && this.runEnd === start) {
            this.runEnd = end;
            return;
        }
        this.closeRun();
        this.runBuf = buf;
        this.runStart = start;
        this.runEnd = end;
    }
    add(bytes) {
        this.closeRun();
        this.parts.push(bytes);
        this.bytes += bytes.length;
    }
    get empty() {
        return this.parts.length === 0 && this.runBuf === null;
    }
    /** Everything gathered, in order, and the batch emptied. */
    take() {
        this.closeRun();
        const parts = this.parts;
        this.parts = [];
        this.bytes = 0;
        return parts;
    }
    /** Drop what is gathered (the connection it was for is gone). */
    clear() {
        this.runBuf = null;
        this.parts = [];
        this.bytes = 0;
    }
    /** the open slice becomes a part (before anything that is not next to it) */
    closeRun() {
        const buf = this.runBuf;
        if (buf === null)
            return;
        this.runBuf = null;
        if (this.runEnd > this.runStart) {
            this.parts.push(buf.subarray(this.runStart, this.runEnd));
            this.bytes += this.runEnd - this.runStart;
        }
    }
    /** Write what is gathered to `socket` in one call (nothing if it is closing). */
    writeTo(socket) {
        this.closeRun();
        if (this.parts.length === 0)
            return;
        const bytes = this.bytes;
        const parts = this.take();
        if (!socket.writableEnded && !socket.destroyed)
            writeAll(socket, parts, bytes);
    }
}
//# sourceMappingURL=write-batch.js.map