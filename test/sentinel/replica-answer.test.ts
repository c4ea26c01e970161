// A sentinel can name a node that is (or has become) a replica: the follower checks every
// answer with ROLE and does not follow such a node; it asks the other sentinels, and asks
// again until a node that says "master" is named.
//
// Set-up: Q a primary, P its replica; a "stale" sentinel monitors "mymaster" at P (a sentinel
// keeps naming a master that reports itself a replica), an honest one at Q. Neither fails
// over (down-after one minute), so the set stays as made.
import { test, before, after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';
import { startLoneSentinel, startRedis, type RedisServer, type SentinelProcess } from '../helpers/index.js';
import { SentinelFollower } from '../../src/sentinel/sentinel-follower.js';
import { eventually } from './follower-kit.js';

let q: RedisServer;
let p: RedisServer;
let stale: SentinelProcess;
let honest: SentinelProcess;
const followers: SentinelFollower[] = [];
// the replica writes the RDB it syncs to its --dir
const dir = mkdtempSync(path.join(tmpdir(), 'redisproxy-replica-'));

function follower(sentinels: SentinelProcess[]): SentinelFollower {
  const f = new SentinelFollower({
    sentinels: sentinels.map((s) => ({ host: '127.0.0.1', port: s.port })),
    masterName: 'mymaster',
    sentinelAccess: { username: null, password: null, tls: false },
    nodeAccess: { username: null, password: null, tls: false },
    recheckIntervalMs: 500,
    timeoutMs: 1000,
    backoffMaxMs: 300,
  });
  followers.push(f);
  return f;
}

before(async () => {
  q = await startRedis();
  p = await startRedis({ args: ['--dir', dir, '--replicaof', '127.0.0.1', String(q.port)] });
  stale = await startLoneSentinel({ masterPort: p.port });
  honest = await startLoneSentinel({ masterPort: q.port });
});

after(async () => {
  for (const f of followers) f.stop();
  await Promise.all([stale?.stop(), honest?.stop()]);
  await Promise.all([p?.kill(), q?.kill()]);
  rmSync(dir, { recursive: true, force: true });
});

test('a node named by the first sentinel but answering ROLE as a replica is passed over for the next answer', async () => {
  assert.match(await stale.cli('SENTINEL', 'get-master-addr-by-name', 'mymaster'), new RegExp(`^127\\.0\\.0\\.1\\n${p.port}\\n$`));
  const f = follower([stale, honest]);
  const seen: number[] = [];
  f.on('switch', (_old, now: { port: number }) => seen.push(now.port));
  await f.start();
  assert.equal(f.primary?.port, q.port);
  for (let i = 0; i < 3; i++) await f.recheck();
  assert.deepEqual(seen, [q.port], 'never switched to the replica');
  f.stop();
});

test('a burst of rechecks (READONLY on many clients) runs one or two rounds, not one each', async () => {
  const f = follower([honest]);
  await f.start();
  await f.recheck();
  const before = f.state().rounds;
  await Promise.all(Array.from({ length: 50 }, () => f.recheck()));
  const ran = f.state().rounds - before;
  assert.ok(ran >= 1 && ran <= 2, `${ran} rounds`);
  assert.equal(f.primary?.port, q.port);
  f.stop();
});

test('a sentinel naming only a replica leaves no primary and a clear reason; it is followed once the node says master', async () => {
  const f = follower([stale]);
  await f.start();
  assert.equal(f.primary, null);
  const st = f.state();
  assert.equal(st.reachable, 1);
  assert.equal(st.lastError, `sentinel 127.0.0.1:${stale.port} names 127.0.0.1:${p.port}, which says it is a replica`);
  const rounds = st.rounds;
  await eventually('it keeps asking', () => f.state().rounds >= rounds + 2, 5000);
  assert.equal(f.primary, null);

  await p.cli('REPLICAOF', 'NO', 'ONE');
  await eventually('followed once it says master', () => f.primary?.port === p.port, 5000);
  assert.equal(f.state().lastError, null);
});
