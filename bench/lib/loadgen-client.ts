// Parent side of the IPC protocol in bench/loadgen.ts: one long-lived child
// process (so runs pay no startup cost and the generator has its own event loop).

import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { adopt, stopManaged, type Managed } from './procs.js';
import type { LoadResult, LoadSpec } from '../loadgen.js';

type Reply = { id: number; result?: LoadResult; error?: string } | { ready: true };

export class LoadgenClient {
  private nextId = 1;
  private waiters = new Map<number, { resolve: (r: LoadResult) => void; reject: (e: Error) => void }>();
  private constructor(
    private readonly child: ChildProcess,
    readonly managed: Managed,
  ) {
    child.on('message', (m: Reply) => {
      if ('ready' in m) return;
      const w = this.waiters.get(m.id);
      if (!w) return;
      this.waiters.delete(m.id);
      if (m.error !== undefined || m.result === undefined) w.reject(new Error(m.error ?? 'no result'));
      else w.resolve(m.result);
    });
    child.on('exit', (code) => {
      for (const w of this.waiters.values()) w.reject(new Error(`load generator exited (${code})`));
      this.waiters.clear();
    });
  }

  get pid(): number {
    return this.managed.pid;
  }

  static async start(repoRoot: string): Promise<LoadgenClient> {
    const child = fork(path.join(repoRoot, 'bench', 'loadgen.ts'), [], {
      cwd: repoRoot,
      execArgv: ['--import', 'tsx', '--max-old-space-size=4096'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const managed = adopt('loadgen', child);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('load generator did not start within 20 s')), 20_000);
      child.once('message', () => {
        clearTimeout(t);
        resolve();
      });
      child.once('exit', (code) => {
        clearTimeout(t);
        reject(new Error(`load generator exited during startup (${code})`));
      });
    });
    return new LoadgenClient(child, managed);
  }

  run(spec: Partial<LoadSpec>): Promise<LoadResult> {
    const id = this.nextId++;
    const hardMs = (spec.timeoutMs ?? 60_000) + 10_000;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiters.delete(id);
        reject(new Error(`load generator gave no answer within ${hardMs} ms`));
      }, hardMs);
      this.waiters.set(id, {
        resolve: (r) => {
          clearTimeout(t);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(t);
          reject(e);
        },
      });
      this.child.send({ id, spec });
    });
  }

  async stop(): Promise<void> {
    this.child.disconnect?.();
    await stopManaged(this.managed, 2000);
  }
}
