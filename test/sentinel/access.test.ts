// How the follower reaches the sentinels, apart from the data nodes: a sentinel that only
// speaks TLS (and has a password) monitors a plain-TCP primary; another, in plain TCP, has
// an ACL user for the follower, and the primary one of its own that may only run ROLE.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { startLoneSentinel, startRedis, type RedisServer, type SentinelProcess } from '../helpers/index.js';
import { makeCerts, type Certs } from '../faults/fault-helpers.js';
import { SentinelFollower } from '../../src/sentinel/sentinel-follower.js';
import type { ServerAccess } from '../../src/sentinel/sentinel-options.js';

const SENTINEL_PW = 'tls-sentinel-secret';
let certs: Certs;
let primary: RedisServer;
let sentinel: SentinelProcess;
let aclSentinel: SentinelProcess;
const followers: SentinelFollower[] = [];
const NODE_ACCESS: ServerAccess = { username: 'checker', password: 'checker-pw', tls: false };

function follower(sentinelAccess: ServerAccess, on: SentinelProcess = sentinel): SentinelFollower {
  const f = new SentinelFollower({
    sentinels: [{ host: '127.0.0.1', port: on.port }],
    masterName: 'mymaster',
    sentinelAccess,
    nodeAccess: NODE_ACCESS,
    timeoutMs: 1000,
  });
  followers.push(f);
  return f;
}

before(async () => {
  certs = await makeCerts();
  primary = await startRedis({ args: ['--requirepass', 'data-pw', '--user', 'checker', 'on', '>checker-pw', '+role'] });
  sentinel = await startLoneSentinel({
    masterPort: primary.port,
    dataPassword: 'data-pw',
    sentinelPassword: SENTINEL_PW,
    tls: { cert: certs.serverCert, key: certs.serverKey, ca: certs.ca },
  });
  aclSentinel = await startLoneSentinel({
    masterPort: primary.port,
    dataPassword: 'data-pw',
    sentinelPassword: SENTINEL_PW,
    // Redis 7 gives a new user no pub/sub channels: "nochannels" cannot subscribe
    extraConf: ['user watcher on >watcher-pw +@all &*', 'user nochannels on >nochannels-pw +@all'],
  });
});

after(async () => {
  for (const f of followers) f.stop();
  await Promise.all([sentinel?.stop(), aclSentinel?.stop()]);
  await primary?.kill();
  if (certs) rmSync(certs.dir, { recursive: true, force: true });
});

test('a TLS sentinel is asked and subscribed to over TLS; the plain primary is checked in plain TCP', async () => {
  const f = follower({ username: null, password: SENTINEL_PW, tls: true, tlsOptions: { ca: readFileSync(certs.ca) } });
  await f.start();
  assert.equal(f.primary?.port, primary.port);
  assert.equal(f.primary?.tls, false);
  assert.equal(f.primary?.username, 'checker');
  const deadline = Date.now() + 5000;
  while (f.state().subscribedTo === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(f.state().subscribedTo, `127.0.0.1:${sentinel.port}`);
});

test('a sentinel certificate from an unknown CA, or plain TCP to a TLS port, leaves no primary and says why', async () => {
  const untrusted = follower({ username: null, password: SENTINEL_PW, tls: true, tlsOptions: { ca: readFileSync(certs.otherCa) } });
  await untrusted.start();
  assert.equal(untrusted.primary, null);
  assert.equal(untrusted.state().sentinels[0].status, 'unreachable');
  assert.match(untrusted.state().lastError ?? '', /certificate/i);

  const plain = follower({ username: null, password: SENTINEL_PW, tls: false });
  await plain.start();
  assert.equal(plain.primary, null);
  assert.equal(plain.state().sentinels[0].status, 'unreachable');
});

test('an ACL user on the sentinel (AUTH user password), and another for ROLE on the nodes', async () => {
  const f = follower({ username: 'watcher', password: 'watcher-pw', tls: false }, aclSentinel);
  await f.start();
  assert.equal(f.primary?.port, primary.port);
  const deadline = Date.now() + 5000;
  while (f.state().subscribedTo === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(f.state().subscribedTo, `127.0.0.1:${aclSentinel.port}`);

  const wrongUser = follower({ username: 'watcher', password: 'not-it', tls: false }, aclSentinel);
  await wrongUser.start();
  assert.equal(wrongUser.primary, null);
  assert.equal(wrongUser.state().sentinels[0].status, 'auth-failed');
  assert.match(wrongUser.state().lastError ?? '', /WRONGPASS/);
});

test('a sentinel user that may not subscribe: the primary is still followed, and the state says why there is no subscription', async () => {
  const f = follower({ username: 'nochannels', password: 'nochannels-pw', tls: false }, aclSentinel);
  await f.start();
  assert.equal(f.primary?.port, primary.port);
  const deadline = Date.now() + 5000;
  while (f.state().subscriptionError === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const st = f.state();
  assert.equal(st.subscribedTo, null);
  assert.match(st.subscriptionError ?? '', /denied permission \(NOPERM/);
  assert.equal(st.sentinels[0].status, 'reachable');
});
