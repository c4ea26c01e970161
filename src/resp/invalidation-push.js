import { parseRedisInt } from './redis-int.js';
// Tracking's invalidation push, `>2 $10 invalidate *N $len key ...` (or a null after a
// flush), read straight into key strings. Redis sends one for every change of a key read
// through the proxy, so this is on a hot path: no generic decode, no Buffer per key.
const HEAD = Buffer.from('>2\r\n$10\r\ninvalidate\r\n');
/**
 * Decode an invalidation push at `pos`. Returns undefined when the bytes there are not
 * one (the caller decodes them the generic way) and null when it is cut short.
 */
export function decodeInvalidation(buf, pos) {
    if (buf.length - pos < HEAD.length)
        return buf.compare(HEAD, 0, buf.length - pos, pos) === 0 ? null : undefined;
    if (buf.compare(HEAD, 0, HEAD.length, pos, pos + HEAD.length) !== 0)
        return undefined;
    let p = pos + HEAD.length;
    if (p >= buf.length)
        return null;
    const t = buf[p];
    const cr = buf.indexOf(0x0d, p);
    if (cr < 0 || cr + 1 >= buf.length)
        return null;
    // null: `_`, or `$-1` / `*-1` (what Redis 7 sends the link for a RESP2 connection it tracks)
    if (t === 0x5f)
        return { keys: null, end: cr + 2 };
    if (t === 0x24)
        return buf[p + 1] === 0x2d && parseRedisInt(buf, p + 1, cr) === -1 ? { keys: null, end: cr + 2 } : undefined;
    if (t !== 0x2a)
        return undefined;
    const n = parseRedisInt(buf, p + 1, cr);
    if (n < 0)
        return { keys: null, end: cr + 2 };
    if (!(n >= 0))
        return undefined;
    p = cr + 2;
    const keys = new Array(n);
    for (let i = 0; i < n; i++) {
        if (p >= buf.length)
            return null;
        if (buf[p] !== 0x24)
            return undefined;
        const kcr = buf.indexOf(0x0d, p);
        if (kcr < 0 || kcr + 1 >= buf.length)
            return null;
        const len = parseRedisInt(buf, p + 1, kcr);
        if (!(len >= 0))
            return undefined;
        const start = kcr + 2;
        if (buf.length < start + len + 2)
            return null;
        keys[i] = buf.toString('latin1', start, start + len);
        p = start + len + 2;
    }
    return { keys, end: p };
}
//# sourceMappingURL=invalidation-push.js.map