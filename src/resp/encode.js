// Encoding of the few things the proxy writes itself: its own commands and its own errors.
export function encodeCommand(args) {
    const parts = [Buffer.from(`*${args.length}\r\n`)];
    for (const a of args) {
        const b = typeof a === 'string' ? Buffer.from(a) : a;
        parts.push(Buffer.from(`$${b.length}\r\n`), b, CRLF);
    }
    return Buffer.concat(parts);
}
const CRLF = Buffer.from('\r\n');
/** An error reply; CR and LF become spaces. Latin-1, so a byte Redis quotes (`got '\xff'`) stays one byte. */
export function encodeError(message) {
    return Buffer.from(`-${message.replace(/[\r\n]+/g, ' ')}\r\n`, 'latin1');
}
export const NIL_RESP2 = Buffer.from('$-1\r\n');
export const NIL_RESP3 = Buffer.from('_\r\n');
//# sourceMappingURL=encode.js.map