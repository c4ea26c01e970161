// Scripted client conversations for differential tests: the same byte-level script is played
// against direct Redis and against the proxy, and the reply bytes are compared.
import { RawClient, ReadError } from './raw-client.js';

/** 'close': the server is expected to reply (any number of frames) and then close. */
export type Expect = number | 'close';

export interface StepObject {
  /** connection name (default 'a'); each name is its own TCP connection, opened on first use */
  conn?: string;
  /** bytes to send (byte string: one char = one byte); omit/'' to only read */
  send?: string | Buffer;
  /** number of complete reply frames expected for this step, or 'close' */
  expect: Expect;
  /** write `send` in pieces of this many bytes (tests reassembly of split requests) */
  chunk?: number;
  /** wait this long before sending (e.g. to let a blocking command reach the server) */
  delayMs?: number;
}
/** [bytes, expect] on connection 'a', or the object form */
export type Step = [send: string | Buffer, expect: Expect] | StepObject;

export interface ConversationOptions {
  host?: string;
  /** per-step reply timeout (default 3000 ms) */
  timeoutMs?: number;
  /** after the last step, each open connection must stay silent this long (default 100 ms; 0 = skip) */
  trailingQuietMs?: number;
}

/**
 * Plays `steps` against host:port and resolves with the concatenation of every reply
 * frame, in step order. Divergences are recorded in-band rather than thrown, so that a
 * comparison shows them as byte differences:
 *   "\n<<step N conn X: ...>>\n"  the step timed out / the connection closed / did not close
 *                                  (the conversation stops there; partial bytes are included)
 *   "\n<<extra bytes on conn X>>\n" bytes received after the last step that nobody expected
 * Connection failures (nothing listening) are thrown.
 */
export async function conversation(port: number, steps: Step[], opts: ConversationOptions = {}): Promise<Buffer> {
  const timeoutMs = opts.timeoutMs ?? 3000;
  const trailingQuietMs = opts.trailingQuietMs ?? 100;
  const conns = new Map<string, RawClient>();
  const out: Buffer[] = [];
  const note = (s: string) => out.push(Buffer.from(`\n<<${s}>>\n`, 'latin1'));
  try {
    let stopped = false;
    for (let i = 0; i < steps.length && !stopped; i++) {
      const raw = steps[i];
      const step: StepObject = Array.isArray(raw) ? { send: raw[0], expect: raw[1] } : raw;
      const name = step.conn ?? 'a';
      let c = conns.get(name);
      if (!c) {
        c = await RawClient.connect(port, opts.host);
        conns.set(name, c);
      }
      if (step.delayMs) await new Promise((r) => setTimeout(r, step.delayMs));
      if (step.send !== undefined && step.send.length > 0) {
        if (c.closedYet) {
          note(`step ${i} conn ${name}: connection already closed, cannot send`);
          break;
        }
        if (step.chunk) await c.writeChunked(step.send, step.chunk);
        else c.write(step.send);
      }
      try {
        if (step.expect === 'close') {
          out.push(await c.readUntilClosed(timeoutMs));
        } else if (step.expect > 0) {
          out.push(...(await c.readFrames(step.expect, timeoutMs)));
        }
      } catch (e) {
        if (!(e instanceof ReadError)) throw e;
        out.push(e.received);
        note(`step ${i} conn ${name}: ${e.message.replace(/; received so far.*$/s, '')}`);
        stopped = true;
      }
    }
    if (!stopped && trailingQuietMs > 0) {
      const extras = await Promise.all(
        [...conns].map(async ([name, c]) => [name, await c.readBytes(trailingQuietMs * 10, trailingQuietMs)] as const),
      );
      for (const [name, extra] of extras) {
        if (extra.length > 0) {
          note(`extra bytes on conn ${name}`);
          out.push(extra);
        }
      }
    }
  } finally {
    for (const c of conns.values()) c.destroy();
  }
  return Buffer.concat(out);
}
