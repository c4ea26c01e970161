// --sentinel-tls through the proxy: a sentinel that only speaks TLS (with a password of its
// own, and a CA given with --sentinel-ca) names a plain-TCP primary with another password,
// given in --addr.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { RawClient, cmd, getFreePort, startLoneSentinel, startProxy, startRedis, type ProxyProcess, type RedisServer, type SentinelProcess } from '../helpers/index.js';
import { makeCerts, type Certs } from '../faults/fault-helpers.js';

const SENTINEL_PW = 'tls-sentinel-secret-77';
const DATA_PW = 'tls-data-secret-88';
let certs: Certs;
let primary: RedisServer;
let sentinel: SentinelProcess;
let proxy: ProxyProcess;

before(async () => {
  certs = await makeCerts();
  primary = await startRedis({ args: ['--requirepass', DATA_PW] });
  sentinel = await startLoneSentinel({
    masterPort: primary.port,
    dataPassword: DATA_PW,
    sentinelPassword: SENTINEL_PW,
    tls: { cert: certs.serverCert, key: certs.serverKey, ca: certs.ca },
  });
});

after(async () => {
  await proxy?.stop();
  await sentinel?.stop();
  await primary?.kill();
  if (certs) rmSync(certs.dir, { recursive: true, force: true });
});

test('the proxy asks a TLS sentinel (--sentinel-tls, --sentinel-ca) and serves the primary it names', async () => {
  const admin = await getFreePort();
  proxy = await startProxy({
    redisPort: 1,
    addr: `redis://:${DATA_PW}@ignored.invalid:1`,
    args: [
      '--sentinel', `127.0.0.1:${sentinel.port}`,
      '--sentinel-master', 'mymaster',
      '--sentinel-tls', '--sentinel-ca', certs.ca,
      '--admin-port', String(admin),
    ],
    env: { REDISPROXY_SENTINEL_PASSWORD: SENTINEL_PW },
  });
  const c = await RawClient.connect(proxy.port);
  c.write(cmd('AUTH', DATA_PW) + cmd('SET', 'over-tls', 'yes'));
  const replies = await c.readFrames(2, 5000);
  c.destroy();
  assert.deepEqual(replies.map((r) => r.toString()), ['+OK\r\n', '+OK\r\n']);
  assert.equal((await primary.cli('-a', DATA_PW, '--no-auth-warning', 'GET', 'over-tls')).trim(), 'yes');
  const st = (await (await fetch(`http://127.0.0.1:${admin}/stats`)).json()) as { sentinel: { primary: string; sentinels: Array<{ status: string }> } };
  assert.equal(st.sentinel.primary, `127.0.0.1:${primary.port}`);
  assert.deepEqual(st.sentinel.sentinels.map((s) => s.status), ['reachable']);
  for (const secret of [SENTINEL_PW, DATA_PW]) assert.ok(!proxy.output().includes(secret), 'no password in the log');
});
