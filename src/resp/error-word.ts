// An error reply told by its first word, from its bytes where they lie: every reply of a
// connection may pass here, so nothing is decoded or allocated.

/** Does buf[pos, end) start with `word` (`-MOVED `, `-READONLY`...)? */
export function startsWithBytes(buf: Uint8Array, pos: number, end: number, word: Uint8Array): boolean {
  if (end - pos < word.length) return false;
  for (let i = 0; i < word.length; i++) if (buf[pos + i] !== word[i]) return false;
  return true;
}

/** `word` followed by a space or the line's end (so that `-TRYAGAINX` is another error). */
export function isErrorWord(buf: Uint8Array, pos: number, end: number, word: Uint8Array): boolean {
  if (!startsWithBytes(buf, pos, end, word)) return false;
  const next = pos + word.length;
  return next === end || buf[next] === 0x20 || buf[next] === 0x0d;
}

export const READONLY_ERROR = Buffer.from('-READONLY');
