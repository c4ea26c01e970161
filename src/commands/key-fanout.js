import { ReplyScanner } from '../resp/reply-scanner.js';
const SPECS = new Map([
    ['mget', { kind: 0 /* MergeKind.Values */, step: 1 }],
    ['del', { kind: 1 /* MergeKind.Sum */, step: 1 }],
    ['unlink', { kind: 1 /* MergeKind.Sum */, step: 1 }],
    ['exists', { kind: 1 /* MergeKind.Sum */, step: 1 }],
    ['touch', { kind: 1 /* MergeKind.Sum */, step: 1 }],
    ['mset', { kind: 2 /* MergeKind.AllOk */, step: 2 }],
]);
/** How the command (lower-case name) is split and merged; undefined when it is not one of these. */
export function fanoutSpecOf(name) {
    return SPECS.get(name);
}
/** Whether `argc` arguments (the name included) make a valid request: one Redis would refuse others itself. */
export function validFanoutArity(spec, argc) {
    return argc >= 1 + spec.step && (argc - 1) % spec.step === 0;
}
export class FanoutReplyError extends Error {
}
// complete frames only: the scanner is back at its start after each one, so one serves all
// (and is replaced when a malformed reply leaves it mid-frame)
let scanner = new ReplyScanner();
const CRLF = 0x0d;
export class KeyFanout {
    spec;
    keyCount;
    /** number of groups, in the order of their first key */
    groupCount;
    args;
    groupIds = [];
    /** per group: its key indexes, in request order */
    groupKeys = [];
    replies;
    /** Values: per key, the buffer and range of its element */
    elemBuf;
    elemStart;
    elemEnd;
    missing;
    /**
     * `args`: the whole request, name first (as the client sent it; it is reused in the sub-requests).
     * `classify`: the group id (any number) of a key.
     */
    constructor(spec, args, classify) {
        if (!validFanoutArity(spec, args.length))
            throw new RangeError(`${args.length} arguments cannot be split by key`);
        this.spec = spec;
        this.args = args;
        this.keyCount = (args.length - 1) / spec.step;
        // (a map, not indexOf: split by slot, an MGET of n keys may make n groups)
        const groupOf = new Map();
        for (let k = 0; k < this.keyCount; k++) {
            const id = classify(args[1 + k * spec.step], k);
            let g = groupOf.get(id);
            if (g === undefined) {
                g = this.groupIds.length;
                groupOf.set(id, g);
                this.groupIds.push(id);
                this.groupKeys.push([]);
            }
            this.groupKeys[g].push(k);
        }
        this.groupCount = this.groupIds.length;
        this.replies = new Array(this.groupCount).fill(null);
        const perKey = spec.kind === 0 /* MergeKind.Values */ ? this.keyCount : 0;
        this.elemBuf = new Array(perKey).fill(null);
        this.elemStart = new Int32Array(perKey);
        this.elemEnd = new Int32Array(perKey);
        this.missing = spec.kind === 0 /* MergeKind.Values */ ? this.keyCount : this.groupCount;
    }
    /** The classifier's id of group `g`. */
    groupId(g) {
        return this.groupIds[g];
    }
    /** The key indexes of group `g`, in request order. */
    keysOf(g) {
        return this.groupKeys[g];
    }
    /** Key `k` (a subarray of the request). */
    key(k) {
        return this.args[1 + k * this.spec.step];
    }
    /** Group `g`'s request, as RESP bytes: the same command with its keys (and values) only. */
    request(g) {
        const keys = this.groupKeys[g];
        const step = this.spec.step;
        const argc = 1 + keys.length * step;
        let size = headerLength(argc) + bulkLength(this.args[0].length);
        for (const k of keys)
            for (let j = 0; j < step; j++)
                size += bulkLength(this.args[1 + k * step + j].length);
        const out = Buffer.allocUnsafe(size);
        let p = writeHeader(out, 0, 0x2a, argc);
        p = writeBulk(out, p, this.args[0]);
        for (const k of keys)
            for (let j = 0; j < step; j++)
                p = writeBulk(out, p, this.args[1 + k * step + j]);
        return out;
    }
    /** The reply frame to group `g`'s request (kept, not copied). */
    setReply(g, frame) {
        if (this.replies[g] !== null)
            throw new FanoutReplyError(`group ${g} answered twice`);
        this.replies[g] = frame;
        if (this.spec.kind !== 0 /* MergeKind.Values */) {
            this.missing--;
            return;
        }
        const keys = this.groupKeys[g];
        if (frame[0] === 0x2d || frame[0] === 0x21) {
            // an error stands for the whole group
            for (const k of keys)
                this.fill(k, frame, 0, 0);
            return;
        }
        if (frame[0] !== 0x2a)
            throw new FanoutReplyError('a split MGET was not answered with an array');
        const headerEnd = frame.indexOf(CRLF, 1);
        const n = Number(frame.toString('latin1', 1, headerEnd));
        if (n !== keys.length)
            throw new FanoutReplyError(`a split MGET of ${keys.length} keys was answered with ${n} values`);
        let p = headerEnd + 2;
        for (const k of keys) {
            let end = -1;
            try {
                end = scanner.scan(frame, p);
            }
            finally {
                if (end < 0)
                    scanner = new ReplyScanner();
            }
            if (end < 0)
                throw new FanoutReplyError('a split MGET reply ends early');
            this.fill(k, frame, p, end);
            p = end;
        }
    }
    /** MGET only: key `k`'s element given directly (a cached GET reply: a bulk string or a nil). */
    setValue(k, element) {
        if (this.spec.kind !== 0 /* MergeKind.Values */)
            throw new RangeError('setValue is for MGET');
        this.fill(k, element, 0, element.length);
    }
    /** MGET only: key `k`'s element as given (a view of the reply or value it came in). */
    element(k) {
        const b = this.elemBuf[k];
        if (b === null)
            throw new RangeError(`key ${k} has no element yet`);
        return b.subarray(this.elemStart[k], this.elemEnd[k]);
    }
    /** Every key (or group) has its answer. */
    get complete() {
        return this.missing === 0;
    }
    /** The reply one Redis would have sent for the whole request. */
    merge() {
        if (this.missing !== 0)
            throw new RangeError(`${this.missing} answers missing`);
        for (const r of this.replies)
            if (r !== null && (r[0] === 0x2d || r[0] === 0x21))
                return r;
        switch (this.spec.kind) {
            case 0 /* MergeKind.Values */:
                return this.mergeValues();
            case 1 /* MergeKind.Sum */: {
                let sum = 0;
                for (const r of this.replies) {
                    if (r === null || r[0] !== 0x3a)
                        throw new FanoutReplyError('a split count was not answered with an integer');
                    sum += Number(r.toString('latin1', 1, r.length - 2));
                }
                return Buffer.from(`:${sum}\r\n`, 'latin1');
            }
            case 2 /* MergeKind.AllOk */:
                for (const r of this.replies)
                    if (r === null || r[0] !== 0x2b)
                        throw new FanoutReplyError('a split MSET was not answered with +OK');
                return this.replies[0];
        }
    }
    mergeValues() {
        let size = headerLength(this.keyCount);
        for (let k = 0; k < this.keyCount; k++)
            size += this.elemEnd[k] - this.elemStart[k];
        const out = Buffer.allocUnsafe(size);
        let p = writeHeader(out, 0, 0x2a, this.keyCount);
        for (let k = 0; k < this.keyCount; k++)
            p += this.elemBuf[k].copy(out, p, this.elemStart[k], this.elemEnd[k]);
        return out;
    }
    fill(k, buf, start, end) {
        if (this.elemBuf[k] === null)
            this.missing--;
        this.elemBuf[k] = buf;
        this.elemStart[k] = start;
        this.elemEnd[k] = end;
    }
}
function digits(n) {
    let d = 1;
    while (n >= 10) {
        n = Math.floor(n / 10);
        d++;
    }
    return d;
}
/** `*<n>\r\n` */
function headerLength(n) {
    return 1 + digits(n) + 2;
}
function bulkLength(len) {
    return headerLength(len) + len + 2;
}
function writeHeader(out, p, type, n) {
    out[p++] = type;
    p += out.write(String(n), p, 'latin1');
    out[p++] = 0x0d;
    out[p++] = 0x0a;
    return p;
}
function writeBulk(out, p, arg) {
    p = writeHeader(out, p, 0x24, arg.length);
    p += arg.copy(out, p);
    out[p++] = 0x0d;
    out[p++] = 0x0a;
    return p;
}
//# sourceMappingURL=key-fanout.js.map