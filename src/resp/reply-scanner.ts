// Finds where each reply ends in the byte stream coming back from Redis, without
// materialising it: the proxy forwards reply bytes untouched and only needs frame
// boundaries to pair replies with requests. Works on RESP2 and RESP3 alike
// (maps, sets, pushes, attributes, verbatim strings, big numbers and the streamed
// `$?`/`*?` forms) and resumes at any byte when a reply is split across packets.

const enum S {
  Type,
  Line, // skipping a simple line to its '\n'
  Num, // reading a length header up to '\r'
  NumLF, // expecting the '\n' after a length header
  Body, // skipping a bulk body and its CRLF
}

const enum K {
  Normal,
  Attribute, // `|`: precedes the value it annotates and is not an element itself
  Streamed, // `*?` `~?` `%?` `>?`: ends with a `.` line
}

export class ReplyProtocolError extends Error {}

export class ReplyScanner {
  private remain: number[] = [];
  private kinds: K[] = [];
  private state = S.Type;
  private type = 0;
  private num = 0;
  private neg = false;
  private digits = 0;
  private unknownLen = false;
  private bodyLeft = 0;
  private inStreamedString = false;

  /** true while a frame has been started but not finished */
  get midFrame(): boolean {
    return this.state !== S.Type || this.remain.length > 0 || this.inStreamedString || this.topAttribute;
  }

  /** a top-level attribute was read: the value it annotates is still to come */
  private topAttribute = false;

  /**
   * Scan `buf` from `pos`. Returns the offset just past the next complete top-level
   * reply, or -1 if the buffer ends first (the scanner then resumes on the next buffer).
   * Throws ReplyProtocolError on bytes that are not RESP.
   */
  scan(buf: Buffer, pos: number): number {
    const len = buf.length;
    while (pos < len) {
      switch (this.state) {
        case S.Type: {
          const t = buf[pos++];
          this.type = t;
          switch (t) {
            case 0x2b: // + simple string
            case 0x2d: // - error
            case 0x3a: // : integer
            case 0x5f: // _ null
            case 0x2c: // , double
            case 0x23: // # boolean
            case 0x28: // ( big number
            case 0x2e: // . end of a streamed aggregate
              this.state = S.Line;
              break;
            case 0x24: // $ bulk string
            case 0x2a: // * array
            case 0x25: // % map
            case 0x7e: // ~ set
            case 0x3e: // > push
            case 0x7c: // | attribute
            case 0x3d: // = verbatim string
            case 0x21: // ! bulk error
            case 0x3b: // ; chunk of a streamed string
              this.state = S.Num;
              this.num = 0;
              this.digits = 0;
              this.neg = false;
              this.unknownLen = false;
              break;
            default:
              throw new ReplyProtocolError(`unexpected reply type byte 0x${t.toString(16)}`);
          }
          break;
        }
        case S.Line: {
          const lf = buf.indexOf(0x0a, pos);
          if (lf < 0) return -1;
          pos = lf + 1;
          this.state = S.Type;
          if (this.type === 0x2e) {
            if (this.kinds.length === 0 || this.kinds[this.kinds.length - 1] !== K.Streamed) {
              throw new ReplyProtocolError('end marker outside a streamed aggregate');
            }
            this.remain.pop();
            this.kinds.pop();
          }
          if (this.elementDone()) return pos;
          break;
        }
        case S.Num: {
          const c = buf[pos++];
          if (c >= 0x30 && c <= 0x39 && !this.unknownLen) {
            this.num = this.num * 10 + (c - 0x30);
            this.digits++;
          } else if (c === 0x0d && (this.digits > 0 || this.unknownLen)) this.state = S.NumLF;
          else if (c === 0x2d && this.digits === 0 && !this.neg && !this.unknownLen) this.neg = true;
          else if (c === 0x3f && this.digits === 0 && !this.neg && !this.unknownLen) this.unknownLen = true;
          else throw new ReplyProtocolError('bad length in reply header');
          break;
        }
        case S.NumLF: {
          if (buf[pos++] !== 0x0a) throw new ReplyProtocolError('missing LF after reply header');
          this.state = S.Type;
          if (this.header()) return pos;
          break;
        }
        case S.Body: {
          const avail = len - pos;
          if (avail < this.bodyLeft) {
            this.bodyLeft -= avail;
            return -1;
          }
          pos += this.bodyLeft;
          this.bodyLeft = 0;
          this.state = S.Type;
          if (this.inStreamedString) break; // next is another `;` chunk
          if (this.elementDone()) return pos;
          break;
        }
      }
    }
    return -1;
  }

  /** A length header was read; returns true if that completed a top-level reply. */
  private header(): boolean {
    const n = this.neg ? -this.num : this.num;
    // the only negative length RESP has is -1 (a null); anything else would move the cursor backwards
    if (n < -1 || (n < 0 && this.type === 0x3b)) {
      throw new ReplyProtocolError('bad length in reply header');
    }
    switch (this.type) {
      case 0x24:
      case 0x3d:
      case 0x21:
        if (this.unknownLen) {
          this.inStreamedString = true;
          return false;
        }
        if (n < 0) return this.elementDone(); // RESP2 null bulk
        this.bodyLeft = n + 2;
        this.state = S.Body;
        return false;
      case 0x3b:
        if (!this.inStreamedString) throw new ReplyProtocolError('string chunk outside a streamed string');
        if (n === 0) {
          this.inStreamedString = false;
          return this.elementDone();
        }
        this.bodyLeft = n + 2;
        this.state = S.Body;
        return false;
      case 0x7c:
        if (this.remain.length === 0) this.topAttribute = true;
        if (n > 0) {
          this.remain.push(2 * n);
          this.kinds.push(K.Attribute);
        }
        return false;
      default: {
        // * ~ > %
        if (this.unknownLen) {
          this.remain.push(0);
          this.kinds.push(K.Streamed);
          return false;
        }
        const count = this.type === 0x25 ? 2 * n : n;
        if (count <= 0) return this.elementDone(); // null or empty aggregate
        this.remain.push(count);
        this.kinds.push(K.Normal);
        return false;
      }
    }
  }

  /** One element finished; returns true if that completed a top-level reply. */
  private elementDone(): boolean {
    for (;;) {
      const top = this.remain.length - 1;
      if (top < 0) {
        this.topAttribute = false;
        return true;
      }
      if (this.kinds[top] === K.Streamed) return false;
      if (--this.remain[top] > 0) return false;
      const kind = this.kinds[top];
      this.remain.pop();
      this.kinds.pop();
      if (kind === K.Attribute) return false; // (topAttribute stays set until the value ends)
    }
  }
}
