// The proxy with --sentinel when sentinels go away: not ready while no primary is known;
// one sentinel down, then all of them: it keeps serving the primary it knows and /stats says
// what it sees; they come back: it follows a failover again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { RawClient, ReadError, cmd, startSentinelSet, type SentinelSet } from '../helpers/index.js';
import { bareProxyOnSet, eventually, once, proxyOnSet, type SentinelProxy } from './proxy-kit.js';

let set: SentinelSet;
let p: SentinelProxy;

before(async () => {
  set = await startSentinelSet();
  p = await proxyOnSet(set);
});

after(async () => {
  await p?.proxy.stop();
  await set?.stop();
});

test('not ready while no primary is known: /readyz, /stats, /metrics, and clients are closed', async () => {
  const lost = await bareProxyOnSet(set, { masterName: 'nobody-monitors-this' });
  try {
    await eventually('a first round', 5000, async () => (await lost.admin.stats()).sentinel.rounds > 0);
    const r = await lost.admin.readyz();
    assert.equal(r.status, 503);
    assert.match(r.text, /no primary known yet.*no sentinel knows master "nobody-monitors-this"/);
    const st = await lost.admin.stats();
    assert.equal(st.sentinel.phase, 'searching');
    assert.equal(st.sentinel.primary, null);
    assert.equal(st.sentinel.reachable, 3);
    assert.match(await lost.admin.metrics(), /redisproxy_sentinel_primary_known 0/);
    // a client has nowhere to go: its connection ends (it reconnects later, as to a Redis that is down)
    const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(lost.output())?.[1]);
    const c = await RawClient.connect(port);
    c.write(cmd('PING'));
    await assert.rejects(c.readFrame(3000), (e: unknown) => e instanceof ReadError && c.closedYet);
    c.destroy();
  } finally {
    lost.stop();
  }
});

async function serves(key: string): Promise<void> {
  const v = `${key}-${Date.now()}`;
  assert.equal(await once(p.proxy.port, 'SET', key, v), '+OK\r\n');
  assert.equal(await once(p.proxy.port, 'GET', key), `$${v.length}\r\n${v}\r\n`);
}

test('one sentinel down, then all: the proxy keeps serving the primary it knows, and says so', async () => {
  const primary = await set.primaryPort();
  await eventually('ready', 5000, async () => (await p.readyz()).status === 200);
  await set.stopSentinel(0);
  await eventually('/stats sees one sentinel gone', 12_000, async () => {
    const st = await p.stats();
    return st.sentinel.reachable === 2 && st.sentinel.sentinels[0].status === 'unreachable';
  });
  await serves('one-down');

  await set.stopAllSentinels();
  await eventually('/stats sees no sentinel', 12_000, async () => {
    const st = await p.stats();
    return st.sentinel.reachable === 0 && st.sentinel.sentinels.every((s) => s.status === 'unreachable');
  });
  const st = await p.stats();
  assert.equal(st.sentinel.phase, 'following');
  assert.equal(st.sentinel.primary, `127.0.0.1:${primary}`);
  assert.match(st.sentinel.lastError ?? '', /no sentinel answered/);
  assert.equal((await p.readyz()).status, 200, 'still ready: the primary is known and answers');
  assert.match(await p.metrics(), /redisproxy_sentinel_reachable 0/);
  await serves('all-down');
});

test('the sentinels back: a failover is followed again', async () => {
  await set.startAllSentinels();
  await eventually('/stats sees the sentinels back and subscribed', 15_000, async () => {
    const st = await p.stats();
    return st.sentinel.reachable === 3 && st.sentinel.subscribedTo !== null;
  });
  await set.waitHealthy();
  const { to } = await set.failover();
  await eventually('the proxy follows', 10_000, async () => (await p.primaryPort()) === to);
  await eventually('writes land on the new primary', 5000, async () => {
    if ((await once(p.proxy.port, 'SET', 'back', 'yes')) !== '+OK\r\n') return false;
    return (await set.nodeCli(to, 'GET', 'back')).trim() === 'yes';
  });
});
