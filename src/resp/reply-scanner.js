// Finds where each reply ends in the byte stream coming back from Redis, without
// materialising it: the proxy forwards reply bytes untouched and only needs frame
// boundaries to pair replies with requests. Works on RESP2 and RESP3 alike
// (maps, sets, pushes, attributes, verbatim strings, big numbers and the streamed
// `$?`/`*?` forms) and resumes at any byte when a reply is split across packets.
export class ReplyProtocolError extends Error {
}
export class ReplyScanner {
    remain = [];
    kinds = [];
    state = 0 /* S.Type */;
    type = 0;
    num = 0;
    neg = false;
    digits = 0;
    unknownLen = false;
    bodyLeft = 0;
    inStreamedString = false;
    /** true while a frame has been started but not finished */
    get midFrame() {
        return this.state !== 0 /* S.Type */ || this.remain.length > 0 || this.inStreamedString || this.topAttribute;
    }
    /** a top-level attribute was read: the value it annotates is still to come */
    topAttribute = false;
    /**
     * Scan `buf` from `pos`. Returns the offset just past the next complete top-level
     * reply, or -1 if the buffer ends first (the scanner then resumes on the next buffer).
     * Throws ReplyProtocolError on bytes that are not RESP.
     */
    scan(buf, pos) {
        const len = buf.length;
        while (pos < len) {
            switch (this.state) {
                case 0 /* S.Type */: {
                    const t = buf[pos++];
                    this.type = t;
                    switch (t) {
                        case 0x2b: // + simple string
                        case 0x2d: // - error
                        case 0x3a: // : integer
                        case 0x5f: // _ null
                        case 0x2c: // , double
                        case 0x23: // # boolean
                        case 0x28: // ( big number
                        case 0x2e: // . end of a streamed aggregate
                            this.state = 1 /* S.Line */;
                            break;
                        case 0x24: // $ bulk string
                        case 0x2a: // * array
                        case 0x25: // % map
                        case 0x7e: // ~ set
                        case 0x3e: // > push
                        case 0x7c: // | attribute
                        case 0x3d: // = verbatim string
                        case 0x21: // ! bulk error
                        case 0x3b: // ; chunk of a streamed string
                            this.state = 2 /* S.Num */;
                            this.num = 0;
                            this.digits = 0;
                            this.neg = false;
                            this.unknownLen = false;
                            break;
                        default:
                            throw new ReplyProtocolError(`unexpected reply type byte 0x${t.toString(16)}`);
                    }
                    break;
                }
                case 1 /* S.Line */: {
                    const lf = buf.indexOf(0x0a, pos);
                    if (lf < 0)
                        return -1;
                    pos = lf + 1;
                    this.state = 0 /* S.Type */;
                    if (this.type === 0x2e) {
                        if (this.kinds.length === 0 || this.kinds[this.kinds.length - 1] !== 2 /* K.Streamed */) {
                            throw new ReplyProtocolError('end marker outside a streamed aggregate');
                        }
                        this.remain.pop();
                        this.kinds.pop();
                    }
                    if (this.elementDone())
                        return pos;
                    break;
                }
                case 2 /* S.Num */: {
                    const c = buf[pos++];
                    if (c >= 0x30 && c <= 0x39 && !this.unknownLen) {
                        this.num = this.num * 10 + (c - 0x30);
                        this.digits++;
                    }
                    else if (c === 0x0d && (this.digits > 0 || this.unknownLen))
                        this.state = 3 /* S.NumLF */;
                    else if (c === 0x2d && this.digits === 0 && !this.neg && !this.unknownLen)
                        this.neg = true;
                    else if (c === 0x3f && this.digits === 0 && !this.neg && !this.unknownLen)
                        this.unknownLen = true;
                    else
                        throw new ReplyProtocolError('bad length in reply header');
                    break;
                }
                case 3 /* S.NumLF */: {
                    if (buf[pos++] !== 0x0a)
                        throw new ReplyProtocolError('missing LF after reply header');
                    this.state = 0 /* S.Type */;
                    if (this.header())
                        return pos;
                    break;
                }
                case 4 /* S.Body */: {
                    const avail = len - pos;
                    if (avail < this.bodyLeft) {
                        this.bodyLeft -= avail;
                        return -1;
                    }
                    pos += this.bodyLeft;
                    this.bodyLeft = 0;
                    this.state = 0 /* S.Type */;
                    if (this.inStreamedString)
                        break; // next is another `;` chunk
                    if (this.elementDone())
                        return pos;
                    break;
                }
            }
        }
        return -1;
    }
    /** A length header was read; returns true if that completed a top-level reply. */
    header() {
        const n = this.neg ? -this.num : this.num;
        // the only negative length RESP has is -1 (a null); anything else would move the cursor backwards
        if (n < -1 || (n < 0 && this.type === 0x3b)) {
            throw new ReplyProtocolError('bad length in reply header');
        }
        switch (this.type) {
            case 0x24:
            case 0x3d:
            case 0x21:
                if (this.unknownLen) {
                    this.inStreamedString = true;
                    return false;
                }
                if (n < 0)
                    return this.elementDone(); // RESP2 null bulk
                this.bodyLeft = n + 2;
                this.state = 4 /* S.Body */;
                return false;
            case 0x3b:
                if (!this.inStreamedString)
                    throw new ReplyProtocolError('string chunk outside a streamed string');
                if (n === 0) {
                    this.inStreamedString = false;
                    return this.elementDone();
                }
                this.bodyLeft = n + 2;
                this.state = 4 /* S.Body */;
                return false;
            case 0x7c:
                if (this.remain.length === 0)
                    this.topAttribute = true;
                if (n > 0) {
                    this.remain.push(2 * n);
                    this.kinds.push(1 /* K.Attribute */);
                }
                return false;
            default: {
                // * ~ > %
                if (this.unknownLen) {
                    this.remain.push(0);
                    this.kinds.push(2 /* K.Streamed */);
                    return false;
                }
                const count = this.type === 0x25 ? 2 * n : n;
                if (count <= 0)
                    return this.elementDone(); // null or empty aggregate
                this.remain.push(count);
                this.kinds.push(0 /* K.Normal */);
                return false;
            }
        }
    }
    /** One element finished; returns true if that completed a top-level reply. */
    elementDone() {
        for (;;) {
            const top = this.remain.length - 1;
            if (top < 0) {
                this.topAttribute = false;
                return true;
            }
            if (this.kinds[top] === 2 /* K.Streamed */)
                return false;
            if (--this.remain[top] > 0)
                return false;
            const kind = this.kinds[top];
            this.remain.pop();
            this.kinds.pop();
            if (kind === 1 /* K.Attribute */)
                return false; // (topAttribute stays set until the value ends)
        }
    }
}
//# sourceMappingURL=reply-scanner.js.map