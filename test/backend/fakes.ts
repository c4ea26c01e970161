// Fakes for the link's parts, which see only a RespRequester and a logger: a connection
// whose answers the test writes (and may hold back), a cache that records what it is told,
// and a pino logger whose lines the test can read.
import { pino, type Logger } from 'pino';
import type { RespRequester } from '../../src/backend/control-connection.js';
import type { RespValue } from '../../src/resp/reply-value.js';
import { withTimeout } from '../helpers/index.js';

export class FakeConnection implements RespRequester {
  /** every request, as strings, in order */
  readonly sent: string[][] = [];
  /** while true, answers wait for release() */
  hold = false;
  private held: Array<() => void> = [];
  private pending = new Set<(e: Error) => void>();
  private waiters: Array<{ n: number; resolve: () => void }> = [];
  private closed = false;

  constructor(private readonly answer: (args: string[]) => RespValue) {}

  send(args: (string | Buffer)[]): Promise<RespValue> {
    const a = args.map(String);
    this.sent.push(a);
    for (const w of this.waiters.filter((w) => this.sent.length >= w.n)) w.resolve();
    this.waiters = this.waiters.filter((w) => this.sent.length < w.n);
    if (this.closed) return Promise.reject(new Error('connection closed'));
    return new Promise((resolve, reject) => {
      this.pending.add(reject);
      const reply = () => {
        this.pending.delete(reject);
        resolve(this.answer(a));
      };
      if (this.hold) this.held.push(reply);
      else queueMicrotask(reply);
    });
  }

  /** answers everything held, in order */
  release(): void {
    this.hold = false;
    for (const r of this.held.splice(0)) r();
  }

  /** what is still waiting is refused, as a closed socket does */
  close(): void {
    this.closed = true;
    this.held = [];
    for (const reject of this.pending) reject(new Error('connection closed'));
    this.pending.clear();
  }

  /** the requests named `name` so far */
  count(name: string): number {
    return this.sent.filter((a) => a[0] === name).length;
  }

  /** resolves once n requests were sent in all */
  sends(n: number, ms = 5000): Promise<void> {
    if (this.sent.length >= n) return Promise.resolve();
    return withTimeout(new Promise<void>((resolve) => this.waiters.push({ n, resolve })), ms, `${n} requests sent`);
  }
}

/** A cache that records setReady and invalidations; `changed` resolves at the next call. */
export class FakeCache {
  readonly ready: boolean[] = [];
  readonly invalidated: string[] = [];
  emptied = 0;
  capacity = 1000;
  private next: (() => void) | null = null;

  setReady(ready: boolean): void {
    this.ready.push(ready);
    this.poke();
  }
  invalidate(key: string): void {
    this.invalidated.push(key);
    this.poke();
  }
  invalidateAll(): void {
    this.emptied++;
    this.poke();
  }
  /** resolves at the next call of any method */
  changed(ms = 5000): Promise<void> {
    return withTimeout(new Promise<void>((resolve) => (this.next = resolve)), ms, 'a call on the cache');
  }
  private poke(): void {
    const n = this.next;
    this.next = null;
    n?.();
  }
}

export function capturingLogger(): { log: Logger; lines: Array<{ msg: string; level: number }> } {
  const lines: Array<{ msg: string; level: number }> = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { log, lines };
}
