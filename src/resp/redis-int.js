// Redis's string2ll, byte for byte: the request decoder must accept and reject
// exactly the lengths Redis does, or its protocol errors would differ.
// Returns NaN for anything Redis would refuse.
export function parseRedisInt(buf, start, end) {
    const len = end - start;
    if (len === 0 || len > 20)
        return NaN;
    if (len === 1 && buf[start] === 0x30)
        return 0;
    let i = start;
    let negative = false;
    if (buf[i] === 0x2d) {
        negative = true;
        i++;
        if (i === end)
            return NaN;
    }
    // first digit must be 1-9 (no leading zeros, no "-0")
    const first = buf[i];
    // beyond a signed 64-bit integer string2ll overflows and refuses the value
    const digits = end - i;
    if (digits > 19)
        return NaN;
    if (digits === 19) {
        const limit = negative ? '9223372036854775808' : '9223372036854775807';
        if (buf.toString('latin1', i, end) > limit)
            return NaN;
    }
    if (first < 0x31 || first > 0x39)
        return NaN;
    let v = first - 0x30;
    for (i++; i < end; i++) {
        const c = buf[i];
        if (c < 0x30 || c > 0x39)
            return NaN;
        v = v * 10 + (c - 0x30);
    }
    // Beyond 2^53 we lose precision, but every caller rejects such values anyway
    // (they exceed INT_MAX or proto-max-bulk-len), so the sign of the error is what matters.
    return negative ? -v : v;
}
//# sourceMappingURL=redis-int.js.map