// The cluster's answers that a cluster-unaware client must never see: `-MOVED slot host:port`
// (the slot has another owner: follow, and refresh the map), `-ASK slot host:port` (this one
// command goes there, after ASKING), `-TRYAGAIN` (a multi-key command during a slot's move)
// and `-CLUSTERDOWN` (retry with a backoff). Every reply passes through here, so the check
// reads at most a few bytes and allocates nothing; only a redirect is parsed.
const MOVED = Buffer.from('-MOVED ');
const ASK = Buffer.from('-ASK ');
const TRYAGAIN = Buffer.from('-TRYAGAIN');
const CLUSTERDOWN = Buffer.from('-CLUSTERDOWN');
function startsWith(buf, pos, end, word) {
    if (end - pos < word.length)
        return false;
    for (let i = 0; i < word.length; i++)
        if (buf[pos + i] !== word[i])
            return false;
    return true;
}
/** `word` followed by a space or the line's end (so that `-TRYAGAINX` is another error). */
function isWord(buf, pos, end, word) {
    if (!startsWith(buf, pos, end, word))
        return false;
    const next = pos + word.length;
    return next === end || buf[next] === 0x20 || buf[next] === 0x0d;
}
/** What the reply at buf[pos, end) is, from its first bytes. */
export function classifyReply(buf, pos, end) {
    if (buf[pos] !== 0x2d || pos + 4 > end)
        return 0 /* ClusterReply.Other */; // not a simple error
    switch (buf[pos + 1]) {
        case 0x4d: // M
            return startsWith(buf, pos, end, MOVED) ? 1 /* ClusterReply.Moved */ : 0 /* ClusterReply.Other */;
        case 0x41: // A
            return startsWith(buf, pos, end, ASK) ? 2 /* ClusterReply.Ask */ : 0 /* ClusterReply.Other */;
        case 0x54: // T
            return isWord(buf, pos, end, TRYAGAIN) ? 3 /* ClusterReply.TryAgain */ : 0 /* ClusterReply.Other */;
        case 0x43: // C
            return isWord(buf, pos, end, CLUSTERDOWN) ? 4 /* ClusterReply.ClusterDown */ : 0 /* ClusterReply.Other */;
        default:
            return 0 /* ClusterReply.Other */;
    }
}
/**
 * The target of a MOVED or ASK reply at buf[pos, end); null when it is neither or is malformed.
 * The address is split at its last colon: Redis writes IPv6 addresses without brackets.
 */
export function parseRedirect(buf, pos, end) {
    const kind = classifyReply(buf, pos, end);
    if (kind !== 1 /* ClusterReply.Moved */ && kind !== 2 /* ClusterReply.Ask */)
        return null;
    let p = pos + (kind === 1 /* ClusterReply.Moved */ ? MOVED.length : ASK.length);
    let lineEnd = buf.indexOf(0x0d, p);
    if (lineEnd < 0 || lineEnd > end)
        lineEnd = end;
    let slot = 0;
    const slotStart = p;
    while (p < lineEnd && buf[p] >= 0x30 && buf[p] <= 0x39 && p - slotStart < 5)
        slot = slot * 10 + (buf[p++] - 0x30);
    if (p === slotStart || buf[p] !== 0x20 || slot > 16383)
        return null;
    p++;
    const colon = buf.lastIndexOf(0x3a, lineEnd - 1);
    if (colon < p)
        return null;
    let port = 0;
    for (let i = colon + 1; i < lineEnd; i++) {
        const c = buf[i];
        if (c < 0x30 || c > 0x39)
            return null;
        port = port * 10 + (c - 0x30);
    }
    if (colon + 1 === lineEnd || port > 65535)
        return null;
    return { kind, slot, host: buf.toString('latin1', p, colon), port };
}
//# sourceMappingURL=redirect.js.map