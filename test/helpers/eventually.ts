// Bounded polling: the one way tests wait for something that happens asynchronously.
import { performance } from 'node:perf_hooks';
import { sleep } from './util.js';

export interface EventuallyOptions {
  /**
   * A check that throws fails at once (true), instead of counting as "not yet" and being
   * retried (false, the default: e.g. an admin port that is not listening yet).
   */
  rethrow?: boolean;
}

/**
 * Polls `check` every `stepMs` until it returns true; throws naming `what` after `ms`.
 * Resolves with the elapsed milliseconds.
 */
export async function eventually(
  what: string,
  check: () => boolean | Promise<boolean>,
  ms = 5000,
  stepMs = 20,
  opts: EventuallyOptions = {},
): Promise<number> {
  const t0 = performance.now();
  let last: unknown = null;
  for (;;) {
    try {
      if (await check()) return performance.now() - t0;
      last = null;
    } catch (e) {
      if (opts.rethrow) throw e;
      last = e;
    }
    if (performance.now() - t0 > ms) {
      throw new Error(`${what}: not true within ${ms} ms${last ? ` (last error: ${(last as Error).message})` : ''}`);
    }
    await sleep(stepMs);
  }
}
