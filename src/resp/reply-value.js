// Decodes a whole reply into JavaScript values. Not for the hot path: the proxy's
// own connections (command table, invalidation link) and the few replies whose
// content a decision needs (HELLO, a pub/sub confirmation) use it.
export class RedisErrorReply extends Error {
    constructor(message) {
        super(message);
    }
}
function lineEnd(buf, pos) {
    const cr = buf.indexOf(0x0d, pos);
    return cr < 0 || cr + 1 >= buf.length ? -1 : cr;
}
/** Decode one reply at `pos`; null if the buffer does not hold all of it yet. */
export function decodeReply(buf, pos) {
    if (pos >= buf.length)
        return null;
    const t = buf[pos];
    const cr = lineEnd(buf, pos + 1);
    if (cr < 0)
        return null;
    const line = buf.toString('latin1', pos + 1, cr);
    const next = cr + 2;
    switch (t) {
        case 0x2b: // +
            return { value: line, end: next, push: false };
        case 0x2d: // -
            return { value: new RedisErrorReply(buf.toString('utf8', pos + 1, cr)), end: next, push: false };
        case 0x3a: // :
            return { value: Number(line), end: next, push: false };
        case 0x5f: // _
            return { value: null, end: next, push: false };
        case 0x2c: // ,
            return { value: Number(line === 'inf' ? Infinity : line === '-inf' ? -Infinity : line), end: next, push: false };
        case 0x23: // #
            return { value: line === 't', end: next, push: false };
        case 0x28: // (
            return { value: BigInt(line), end: next, push: false };
        case 0x24: // $
        case 0x3d: // =
        case 0x21: {
            // !
            const n = Number(line);
            if (n < 0)
                return { value: null, end: next, push: false };
            if (buf.length < next + n + 2)
                return null;
            let body = buf.subarray(next, next + n);
            if (t === 0x3d)
                body = body.subarray(4); // "txt:" / "mkd:"
            const value = t === 0x21 ? new RedisErrorReply(body.toString('utf8')) : body;
            return { value, end: next + n + 2, push: false };
        }
        case 0x2a: // *
        case 0x7e: // ~
        case 0x3e: // >
        case 0x25: // %
        case 0x7c: {
            // |
            const n = Number(line);
            if (n < 0)
                return { value: null, end: next, push: false };
            const count = t === 0x25 || t === 0x7c ? 2 * n : n;
            const out = [];
            let p = next;
            for (let i = 0; i < count; i++) {
                const d = decodeReply(buf, p);
                if (d === null)
                    return null;
                out.push(d.value);
                p = d.end;
            }
            if (t === 0x7c)
                return decodeReply(buf, p); // attributes annotate; the value follows
            return { value: out, end: p, push: t === 0x3e };
        }
        default:
            throw new Error(`unexpected reply type byte 0x${t.toString(16)}`);
    }
}
/** The bulk/simple payload as a string, for names in flat key/value arrays. */
export function asString(v) {
    if (Buffer.isBuffer(v))
        return v.toString('utf8');
    if (typeof v === 'string')
        return v;
    return String(v);
}
/** Read field `name` of a flat [k, v, ...] array (a RESP3 map or its RESP2 form). */
export function field(v, name) {
    if (!Array.isArray(v))
        return undefined;
    for (let i = 0; i + 1 < v.length; i += 2)
        if (asString(v[i]) === name)
            return v[i + 1];
    return undefined;
}
//# sourceMappingURL=reply-value.js.map