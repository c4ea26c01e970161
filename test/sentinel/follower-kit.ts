// A SentinelFollower on a test's Sentinel set-up, with its switches and log lines recorded.
import { Writable } from 'node:stream';
import { createLogger } from '../../src/log.js';
import { SentinelFollower } from '../../src/sentinel/sentinel-follower.js';
import type { SentinelFollowerOptions } from '../../src/sentinel/sentinel-options.js';
import type { BackendAddress } from '../../src/config/config.js';
import type { SentinelSet } from '../helpers/index.js';

export interface RecordedSwitch {
  from: number | null;
  to: number;
  at: number;
}

export interface FollowerUnderTest {
  follower: SentinelFollower;
  switches: RecordedSwitch[];
  /** the logger's JSON lines */
  logs: string[];
  /** port of the followed primary, null while none */
  port(): number | null;
}

export function followerOn(
  set: SentinelSet,
  o: { dataPassword?: string; sentinelPassword?: string } & Partial<SentinelFollowerOptions> = {},
): FollowerUnderTest {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(...chunk.toString().split('\n').filter((l) => l !== ''));
      done();
    },
  });
  const { log } = createLogger('debug', 'json', sink);
  const { dataPassword, sentinelPassword, ...rest } = o;
  const follower = new SentinelFollower({
    sentinels: set.sentinels.map((s) => ({ host: '127.0.0.1', port: s.port })),
    masterName: set.masterName,
    sentinelAccess: { username: null, password: sentinelPassword ?? null, tls: false },
    nodeAccess: { username: null, password: dataPassword ?? null, tls: false },
    recheckIntervalMs: 1000,
    timeoutMs: 1000,
    log,
    ...rest,
  });
  const switches: RecordedSwitch[] = [];
  follower.on('switch', (old: BackendAddress | null, now: BackendAddress) => switches.push({ from: old?.port ?? null, to: now.port, at: Date.now() }));
  return { follower, switches, logs, port: () => follower.primary?.port ?? null };
}

/** Polls `check` until true; resolves with the ms it took. */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, ms = 5000, stepMs = 20): Promise<number> {
  const t0 = Date.now();
  let last: unknown = null;
  for (;;) {
    try {
      if (await check()) return Date.now() - t0;
    } catch (e) {
      last = e;
    }
    if (Date.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
