// Every process the harness spawns is registered here so that nothing outlives the test
// process: a crashed or forgotten test must never leave a redis-server or proxy running.
import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';

const live = new Set<ChildProcess>();

function killAllSync(): void {
  for (const child of live) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
  live.clear();
}

process.on('exit', killAllSync);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(sig, () => {
    killAllSync();
    // re-raise with the default disposition so the exit status still says "killed by sig"
    process.kill(process.pid, sig);
  });
}

/**
 * Tracks a child. It is unref'ed (with its stdio pipes) so a forgotten child never keeps
 * the test process alive; the 'exit' handler above then kills it. Use `holdOpen` while
 * a test actually awaits the child.
 */
export function register(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  child.unref();
  for (const s of [child.stdout, child.stderr] as Array<Readable | null>) {
    (s as unknown as { unref?: () => void } | null)?.unref?.();
  }
}

const holds = new WeakMap<ChildProcess, number>();

/** Keeps the event loop alive while awaiting something that only the child will settle (nests). */
export async function holdOpen<T>(child: ChildProcess, p: Promise<T>): Promise<T> {
  holds.set(child, (holds.get(child) ?? 0) + 1);
  child.ref();
  try {
    return await p;
  } finally {
    const n = (holds.get(child) ?? 1) - 1;
    holds.set(child, n);
    if (n === 0) child.unref();
  }
}

/** Resolves when the child has exited (immediately if it already has). */
export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** SIGKILLs every child still running (for after() hooks that want to be thorough). */
export function killAllChildren(): void {
  killAllSync();
}
