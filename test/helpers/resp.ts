// A small RESP2/RESP3 frame splitter (no decoding beyond what is needed to find frame ends)
// and a multibulk request encoder. Kept independent of src/ on purpose: the tests must not
// share the proxy's parser.

export class RespFrameError extends Error {}

const CR = 0x0d;
const LF = 0x0a;

function readLine(buf: Buffer, pos: number): { line: string; next: number } | null {
  const end = buf.indexOf('\r\n', pos, 'latin1');
  if (end < 0) return null;
  return { line: buf.toString('latin1', pos, end), next: end + 2 };
}

function parseLength(line: string, what: string): number {
  if (!/^-?\d+$/.test(line)) throw new RespFrameError(`invalid ${what} length ${JSON.stringify(line)}`);
  return Number(line);
}

/**
 * Returns the offset just past the complete reply frame starting at `pos`, or -1 if the
 * buffer does not hold the whole frame yet. Throws RespFrameError on bytes that cannot be RESP.
 *
 * Handles: + - : _ , # ( (line types), $ ! = (blob types, including $-1 and streamed $?),
 * * ~ > % (aggregates, including *-1 and streamed *? terminated by '.'), and | attributes
 * (an attribute map is not a reply on its own: the frame extends over the value it annotates).
 */
export function frameEnd(buf: Buffer, pos: number): number {
  if (pos >= buf.length) return -1;
  const type = String.fromCharCode(buf[pos]);
  const l = readLine(buf, pos + 1);
  if (l === null) return -1;
  const { line, next } = l;
  switch (type) {
    case '+':
    case '-':
    case ':':
    case ',':
    case '(':
      return next;
    case '_':
      if (line !== '') throw new RespFrameError(`invalid null frame "_${line}"`);
      return next;
    case '#':
      if (line !== 't' && line !== 'f') throw new RespFrameError(`invalid boolean "#${line}"`);
      return next;
    case '$':
    case '!':
    case '=': {
      if (line === '?' && type === '$') return streamedBlobEnd(buf, next);
      const len = parseLength(line, 'bulk');
      if (len === -1 && type === '$') return next;
      if (len < 0) throw new RespFrameError(`negative ${type} length ${len}`);
      if (buf.length < next + len + 2) return -1;
      if (buf[next + len] !== CR || buf[next + len + 1] !== LF) {
        throw new RespFrameError(`blob of length ${len} not followed by CRLF`);
      }
      return next + len + 2;
    }
    case '*':
    case '~':
    case '>':
    case '%':
    case '|': {
      const perItem = type === '%' || type === '|' ? 2 : 1;
      let p = next;
      if (line === '?' && type !== '|') {
        // streamed aggregate: items until the '.' end marker
        for (;;) {
          if (p + 3 > buf.length) return -1;
          if (buf[p] === 0x2e /* . */) {
            if (buf[p + 1] !== CR || buf[p + 2] !== LF) throw new RespFrameError('bad streamed end marker');
            return p + 3;
          }
          for (let i = 0; i < perItem; i++) {
            p = frameEnd(buf, p);
            if (p < 0) return -1;
          }
        }
      }
      const count = parseLength(line, 'aggregate');
      if (count === -1 && (type === '*' || type === '%' || type === '~')) return next;
      if (count < 0) throw new RespFrameError(`negative ${type} count ${count}`);
      for (let i = 0; i < count * perItem; i++) {
        p = frameEnd(buf, p);
        if (p < 0) return -1;
      }
      if (type === '|') return frameEnd(buf, p); // the attributed value follows
      return p;
    }
    default:
      throw new RespFrameError(
        `invalid RESP type byte 0x${buf[pos].toString(16).padStart(2, '0')} at offset ${pos}`,
      );
  }
}

function streamedBlobEnd(buf: Buffer, pos: number): number {
  let p = pos;
  for (;;) {
    if (p >= buf.length) return -1;
    if (buf[p] !== 0x3b /* ; */) throw new RespFrameError('streamed string chunk must start with ;');
    const l = readLine(buf, p + 1);
    if (l === null) return -1;
    const len = parseLength(l.line, 'chunk');
    if (len === 0) return l.next;
    if (buf.length < l.next + len + 2) return -1;
    p = l.next + len + 2;
  }
}

/** Splits as many complete frames as possible off the front of `buf`. */
export function splitFrames(buf: Buffer, max = Infinity): { frames: Buffer[]; rest: Buffer } {
  const frames: Buffer[] = [];
  let pos = 0;
  while (frames.length < max) {
    const end = frameEnd(buf, pos);
    if (end < 0) break;
    frames.push(buf.subarray(pos, end));
    pos = end;
  }
  return { frames, rest: buf.subarray(pos) };
}

/** Encodes one command as a RESP multibulk request. Strings are byte strings (latin1). */
export function cmd(...args: Array<string | Buffer | number>): string {
  let out = `*${args.length}\r\n`;
  for (const a of args) {
    const s = Buffer.isBuffer(a) ? a.toString('latin1') : String(a);
    if (/[^\x00-\xff]/.test(s)) throw new Error(`cmd(): ${JSON.stringify(s)} is not a byte string`);
    out += `$${s.length}\r\n${s}\r\n`;
  }
  return out;
}
