// Redis's sdssplitargs for inline commands ("SET k \"a b\""), ported so that the
// proxy splits a line exactly as Redis will when it receives the same bytes.
// Returns null on unbalanced quotes (Redis: "Protocol error: unbalanced quotes in request").
// A NUL byte ends the line, as it does for Redis's C string walk.
const isSpace = (c) => c === 0x20 || (c >= 0x09 && c <= 0x0d);
const hexVal = (c) => c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
export function splitInlineArgs(line) {
    const n = line.length;
    const at = (i) => (i < n ? line[i] : 0);
    const args = [];
    let p = 0;
    for (;;) {
        while (p < n && line[p] !== 0 && isSpace(line[p]))
            p++;
        if (at(p) === 0)
            return args;
        let inq = false;
        let insq = false;
        let done = false;
        const cur = [];
        while (!done) {
            const c = at(p);
            if (inq) {
                if (c === 0x5c && at(p + 1) === 0x78 && hexVal(at(p + 2)) >= 0 && hexVal(at(p + 3)) >= 0) {
                    cur.push(hexVal(at(p + 2)) * 16 + hexVal(at(p + 3)));
                    p += 3;
                }
                else if (c === 0x5c && at(p + 1) !== 0) {
                    p++;
                    const e = at(p);
                    cur.push(e === 0x6e ? 0x0a : e === 0x72 ? 0x0d : e === 0x74 ? 0x09 : e === 0x62 ? 0x08 : e === 0x61 ? 0x07 : e);
                }
                else if (c === 0x22) {
                    // a closing quote must be followed by a space or the end
                    if (at(p + 1) !== 0 && !isSpace(at(p + 1)))
                        return null;
                    done = true;
                }
                else if (c === 0) {
                    return null;
                }
                else {
                    cur.push(c);
                }
            }
            else if (insq) {
                if (c === 0x5c && at(p + 1) === 0x27) {
                    p++;
                    cur.push(0x27);
                }
                else if (c === 0x27) {
                    if (at(p + 1) !== 0 && !isSpace(at(p + 1)))
                        return null;
                    done = true;
                }
                else if (c === 0) {
                    return null;
                }
                else {
                    cur.push(c);
                }
            }
            else if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0) {
                done = true;
            }
            else if (c === 0x22) {
                inq = true;
            }
            else if (c === 0x27) {
                insq = true;
            }
            else {
                cur.push(c);
            }
            if (at(p) !== 0)
                p++;
        }
        args.push(Buffer.from(cur));
    }
}
//# sourceMappingURL=inline-split.js.map