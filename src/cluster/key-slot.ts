// A key's hash slot in Redis Cluster: CRC16 (XMODEM: polynomial 0x1021, initial 0, no
// reflection) of the key, modulo 16384; when the key holds a `{hash tag}`, only the tag is
// hashed, so that related keys can be kept in one slot. Computed straight from the request's
// bytes: no string, no copy.

export const SLOT_COUNT = 16384;

const TABLE = new Uint16Array(256);
for (let i = 0; i < 256; i++) {
  let crc = i << 8;
  for (let b = 0; b < 8; b++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  TABLE[i] = crc;
}

/** CRC16-XMODEM of buf[start, end). */
export function crc16(buf: Uint8Array, start = 0, end = buf.length): number {
  let crc = 0;
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ buf[i]) & 0xff];
  return crc;
}

/**
 * The slot of the key buf[start, end). Redis's rule: the tag is what lies between the first
 * `{` and the first `}` after it; with no such `}`, or nothing between them, the whole key is hashed.
 */
export function keyHashSlot(buf: Uint8Array, start = 0, end = buf.length): number {
  let open = -1;
  for (let i = start; i < end; i++) {
    if (buf[i] === 0x7b) {
      open = i;
      break;
    }
  }
  if (open >= 0) {
    for (let i = open + 1; i < end; i++) {
      if (buf[i] === 0x7d) {
        if (i > open + 1) return crc16(buf, open + 1, i) & (SLOT_COUNT - 1);
        break;
      }
    }
  }
  return crc16(buf, start, end) & (SLOT_COUNT - 1);
}

/** keyHashSlot of a key held as a latin1 string (one byte per character), without making a Buffer of it. */
export function keyHashSlotLatin1(key: string): number {
  const n = key.length;
  let start = 0;
  let end = n;
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) {
      start = open + 1;
      end = close;
    }
  }
  let crc = 0;
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ key.charCodeAt(i)) & 0xff];
  return crc & (SLOT_COUNT - 1);
}
