// The follower against a real primary, replica and three sentinels, all with passwords
// (the sentinels' differs from the data nodes'): discovery, a refused sentinel password,
// SENTINEL FAILOVER and kill -9 of the primary, in this order on one set-up.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sleep, startSentinelSet, type SentinelSet } from '../helpers/index.js';
import { eventually, followerOn, type FollowerUnderTest } from './follower-kit.js';

const DATA_PW = 'data-secret-4711';
const SENTINEL_PW = 'sentinel-secret-0815';

let set: SentinelSet;
let f: FollowerUnderTest;

before(async () => {
  set = await startSentinelSet({ dataPassword: DATA_PW, sentinelPassword: SENTINEL_PW });
  // a long timer: the switches below must come from the +switch-master subscription
  f = followerOn(set, { dataPassword: DATA_PW, sentinelPassword: SENTINEL_PW, recheckIntervalMs: 30_000 });
});

after(async () => {
  f?.follower.stop();
  await set?.stop();
});

test('the primary the sentinels name is found and checked', async () => {
  await f.follower.start();
  const primary = await set.primaryPort();
  assert.equal(f.port(), primary);
  assert.equal((await f.follower.waitForPrimary(100)).port, primary);
  assert.deepEqual(f.switches.map((s) => [s.from, s.to]), [[null, primary]]);
  assert.equal(f.follower.primary?.password, DATA_PW, 'the primary carries the data nodes\' credentials');
  const st = f.follower.state();
  assert.equal(st.phase, 'following');
  assert.equal(st.reachable, 3);
  assert.equal(st.lastError, null);
  assert.deepEqual(st.sentinels.map((s) => s.status), ['reachable', 'reachable', 'reachable']);
  await eventually('subscribed to a sentinel', () => f.follower.state().subscribedTo !== null);
});

test('a wrong sentinel password is a clear error state, with no primary', async () => {
  const wrong = followerOn(set, { dataPassword: DATA_PW, sentinelPassword: 'not-the-password' });
  try {
    await wrong.follower.start();
    const st = wrong.follower.state();
    assert.equal(wrong.follower.primary, null);
    assert.equal(st.phase, 'searching');
    assert.equal(st.reachable, 0);
    assert.deepEqual(st.sentinels.map((s) => s.status), ['auth-failed', 'auth-failed', 'auth-failed']);
    assert.match(st.lastError ?? '', /refused authentication/);
    assert.equal(wrong.switches.length, 0);
    await assert.rejects(wrong.follower.waitForPrimary(300), /no primary for "mymaster" within 300 ms: .*refused authentication/);
    // no password at all is refused the same way
    const none = followerOn(set, { dataPassword: DATA_PW });
    await none.follower.start();
    assert.deepEqual(none.follower.state().sentinels.map((s) => s.status), ['auth-failed', 'auth-failed', 'auth-failed']);
    none.follower.stop();
    for (const line of wrong.logs) assert.ok(!line.includes('not-the-password') && !line.includes(DATA_PW), `a log line holds a password: ${line}`);
  } finally {
    wrong.follower.stop();
  }
});

test('SENTINEL FAILOVER emits exactly one switch, to the promoted replica, within a few seconds', async () => {
  f.switches.length = 0;
  const before = f.port();
  const t0 = Date.now();
  const { from, to } = await set.failover();
  assert.equal(from, before);
  await eventually('the follower follows the failover', () => f.port() === to, 5000);
  assert.ok(f.switches[0].at - t0 < 5000, `switch after ${f.switches[0].at - t0} ms`);
  // sentinels that have not yet heard of the new epoch, and the demoted node that still
  // says "master" for a while, must not pull it back: watch several rounds
  for (let i = 0; i < 4; i++) await f.follower.recheck();
  await sleep(500);
  assert.deepEqual(f.switches.map((s) => [s.from, s.to]), [[from, to]]);
  assert.equal(f.follower.state().switches, 2, 'discovery plus one switch');
  assert.equal((await set.nodeCli(to, 'ROLE')).split('\n')[0], 'master');
  const switchLogs = f.logs.filter((l) => l.includes('is now'));
  assert.equal(switchLogs.length, 2);
  const last = JSON.parse(switchLogs[1]) as { old: string; new: string };
  assert.deepEqual([last.old, last.new], [`127.0.0.1:${from}`, `127.0.0.1:${to}`]);
  for (const line of f.logs) assert.ok(!line.includes(DATA_PW) && !line.includes(SENTINEL_PW), `a log line holds a password: ${line}`);
});

test('kill -9 of the primary is followed to the promoted replica', async () => {
  await set.waitHealthy();
  f.switches.length = 0;
  const { from, to } = await set.killPrimary();
  assert.equal(from !== to, true);
  await eventually('the follower follows the promotion', () => f.port() === to, 5000);
  assert.deepEqual(f.switches.map((s) => [s.from, s.to]), [[from, to]]);
  assert.equal(f.follower.state().lastError, null);
});
