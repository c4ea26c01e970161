// TLS towards the sentinels is set apart from the data nodes': here a sentinel that only
// speaks TLS (and has a password) monitors a plain-TCP primary.
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
const followers: SentinelFollower[] = [];

function follower(sentinelAccess: ServerAccess): SentinelFollower {
  const f = new SentinelFollower({
    sentinels: [{ host: '127.0.0.1', port: sentinel.port }],
    masterName: 'mymaster',
    sentinelAccess,
    nodeAccess: { username: null, password: null, tls: false },
    timeoutMs: 1000,
  });
  followers.push(f);
  return f;
}

before(async () => {
  certs = await makeCerts();
  primary = await startRedis();
  sentinel = await startLoneSentinel({
    masterPort: primary.port,
    sentinelPassword: SENTINEL_PW,
    tls: { cert: certs.serverCert, key: certs.serverKey, ca: certs.ca },
  });
});

after(async () => {
  for (const f of followers) f.stop();
  await sentinel?.stop();
  await primary?.kill();
  if (certs) rmSync(certs.dir, { recursive: true, force: true });
});

test('a TLS sentinel is asked and subscribed to over TLS; the plain primary is checked in plain TCP', async () => {
  const f = follower({ username: null, password: SENTINEL_PW, tls: true, tlsOptions: { ca: readFileSync(certs.ca) } });
  await f.start();
  assert.equal(f.primary?.port, primary.port);
  assert.equal(f.primary?.tls, false);
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
