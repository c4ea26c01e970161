// Counts RESP2 replies (+simple, -error, :integer, $bulk) as they stream in, without
// keeping them: enough for clients that send one kind of command in bulk and only need to
// know when every reply has arrived, how large the bulk ones were, and whether any failed.

export class ReplyCounter {
  replies = 0;
  bytes = 0;
  errors = 0;
  /** the first error reply, for the report */
  firstError: string | null = null;
  /** bulk replies whose length was not `expectBulk` (when set) */
  wrongLength = 0;
  private line = '';
  /** bytes of the current bulk payload (plus its CRLF) still to skip */
  private skip = 0;

  constructor(private readonly expectBulk: number | null = null) {}

  push(chunk: Buffer): void {
    this.bytes += chunk.length;
    let pos = 0;
    while (pos < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - pos);
        this.skip -= n;
        pos += n;
        if (this.skip === 0) this.replies++;
        continue;
      }
      const lf = chunk.indexOf(10, pos);
      if (lf < 0) {
        this.line += chunk.toString('latin1', pos);
        return;
      }
      this.line += chunk.toString('latin1', pos, lf + 1);
      pos = lf + 1;
      this.header(this.line.slice(0, -2));
      this.line = '';
    }
  }

  private header(h: string): void {
    if (h[0] === '$') {
      const n = Number(h.slice(1));
      if (n < 0) {
        this.replies++;
        return;
      }
      if (this.expectBulk !== null && n !== this.expectBulk) this.wrongLength++;
      this.skip = n + 2;
      return;
    }
    if (h[0] === '-') {
      this.errors++;
      this.firstError ??= h;
    }
    this.replies++;
  }
}
