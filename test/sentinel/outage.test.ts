// Sentinels going away: with one down the follower keeps following (its subscription
// moves to another sentinel); with all down it keeps the primary it knows and says so,
// and picks up again when they return.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSentinelSet, type SentinelSet } from '../helpers/index.js';
import { eventually, followerOn, type FollowerUnderTest } from './follower-kit.js';

let set: SentinelSet;
let f: FollowerUnderTest;

before(async () => {
  set = await startSentinelSet();
  f = followerOn(set, { recheckIntervalMs: 500, timeoutMs: 500, backoffMaxMs: 500 });
  await f.follower.start();
  await eventually('subscribed', () => f.follower.state().subscribedTo !== null);
});

after(async () => {
  f?.follower.stop();
  await set?.stop();
});

test('with the subscribed sentinel down, a failover is still followed', async () => {
  const subscribed = f.follower.state().subscribedTo!;
  const i = set.sentinels.findIndex((s) => `127.0.0.1:${s.port}` === subscribed);
  assert.ok(i >= 0);
  await set.stopSentinel(i);
  await eventually('the subscription moves to another sentinel', () => {
    const to = f.follower.state().subscribedTo;
    return to !== null && to !== subscribed;
  });
  await eventually('the stopped sentinel is reported unreachable', () => f.follower.state().reachable === 2);
  assert.equal(f.follower.state().sentinels[i].status, 'unreachable');

  f.switches.length = 0;
  const before = f.port();
  const { from, to } = await set.failover();
  assert.equal(from, before);
  await eventually('the follower follows the failover', () => f.port() === to, 5000);
  assert.deepEqual(f.switches.map((s) => [s.from, s.to]), [[from, to]]);

  await set.startSentinel(i);
  await eventually('all three sentinels answer again', () => f.follower.state().reachable === 3, 5000);
});

test('a frozen sentinel (answering nothing, closing nothing) loses the subscription to another', async () => {
  const subscribed = f.follower.state().subscribedTo!;
  const i = set.sentinels.findIndex((s) => `127.0.0.1:${s.port}` === subscribed);
  set.sentinels[i].freeze();
  try {
    await eventually('the subscription moves to another sentinel', () => {
      const to = f.follower.state().subscribedTo;
      return to !== null && to !== subscribed;
    }, 5000);
    await eventually('the frozen sentinel is reported unreachable', () => f.follower.state().sentinels[i].status === 'unreachable', 5000);
    assert.match(f.follower.state().sentinels[i].lastError ?? '', /no answer within/);
    assert.notEqual(f.port(), null);
  } finally {
    set.sentinels[i].thaw();
  }
  await eventually('all three sentinels answer again', () => f.follower.state().reachable === 3, 5000);
});

test('with all sentinels down the known primary is kept and the state says why; they are picked up again', async () => {
  await set.waitHealthy();
  const known = f.port();
  assert.notEqual(known, null);
  f.switches.length = 0;
  await set.stopAllSentinels();
  await eventually('no sentinel reachable, no subscription', () => {
    const st = f.follower.state();
    return st.reachable === 0 && st.subscribedTo === null;
  });
  // several rounds on the timer, all failing, change nothing
  const rounds = f.follower.state().rounds;
  await eventually('more rounds', () => f.follower.state().rounds >= rounds + 3, 5000);
  const st = f.follower.state();
  assert.equal(f.port(), known);
  assert.equal(st.primary, `127.0.0.1:${known}`);
  assert.match(st.lastError ?? '', /no sentinel answered/);
  assert.deepEqual(st.sentinels.map((s) => s.status), ['unreachable', 'unreachable', 'unreachable']);
  assert.equal(f.switches.length, 0);

  await set.startAllSentinels();
  await eventually('sentinels answer and one is subscribed to again', () => {
    const s = f.follower.state();
    return s.reachable === 3 && s.subscribedTo !== null && s.lastError === null;
  }, 10_000);
  assert.equal(f.port(), known);

  // and it follows again: a failover after their return
  await set.waitHealthy();
  const { from, to } = await set.failover();
  assert.equal(from, known);
  await eventually('the follower follows the failover', () => f.port() === to, 5000);
  assert.deepEqual(f.switches.map((s) => [s.from, s.to]), [[from, to]]);
});
