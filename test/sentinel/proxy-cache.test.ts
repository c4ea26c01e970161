// The cache across a switch, through the proxy with --sentinel (the data nodes have a
// password, given in --addr, whose host is not used): a key cached before the switch and
// then written directly on the new primary is read fresh; a value only the old primary had
// (written while replication was cut) is never served after the switch.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { RawClient, ReadError, cmd, sleep, startSentinelSet, type SentinelSet } from '../helpers/index.js';
import { eventually, proxyOnSet, type SentinelProxy } from './proxy-kit.js';

const DATA_PW = 'data-secret-1984';

let set: SentinelSet;
let p: SentinelProxy;

before(async () => {
  set = await startSentinelSet({ dataPassword: DATA_PW });
  p = await proxyOnSet(set, { dataPassword: DATA_PW });
});

after(async () => {
  reader?.destroy();
  await p?.proxy.stop();
  await set?.stop();
});

/** One authenticated reader (what an own connection fills dies with it); a new one once it is closed. */
let reader: RawClient | null = null;

async function readerConn(): Promise<RawClient> {
  if (reader !== null && !reader.closedYet) return reader;
  reader?.destroy();
  const c = await RawClient.connect(p.proxy.port);
  c.write(cmd('AUTH', DATA_PW));
  assert.equal((await c.readFrame(3000)).toString(), '+OK\r\n');
  reader = c;
  return c;
}

/** GET through the proxy: the value, or null (again on a new connection if the switch closed the reader's just now). */
async function get(key: string): Promise<string | null> {
  let r: string;
  try {
    const c = await readerConn();
    c.write(cmd('GET', key));
    r = (await c.readFrame(3000)).toString('latin1');
  } catch (e) {
    if (!(e instanceof ReadError) || !reader?.closedYet) throw e;
    const c = await readerConn();
    c.write(cmd('GET', key));
    r = (await c.readFrame(3000)).toString('latin1');
  }
  if (r === '$-1\r\n') return null;
  assert.match(r, /^\$\d+\r\n/, `GET ${key}: ${JSON.stringify(r)}`);
  return r.slice(r.indexOf('\r\n') + 2, -2);
}

async function setViaProxy(key: string, value: string): Promise<void> {
  const c = await RawClient.connect(p.proxy.port);
  try {
    c.write(cmd('AUTH', DATA_PW) + cmd('SET', key, value));
    const frames = await c.readFrames(2, 3000);
    assert.equal(frames[1].toString(), '+OK\r\n');
  } finally {
    c.destroy();
  }
}

const hits = async () => (await p.stats()).cache.hits as number;

/** Reads `key` twice through the proxy and checks the second came from the cache. */
async function cacheIt(key: string, value: string): Promise<void> {
  await eventually(`${key} cached`, 5000, async () => {
    assert.equal(await get(key), value);
    const before = await hits();
    assert.equal(await get(key), value);
    return (await hits()) > before;
  });
}

async function followed(to: number): Promise<void> {
  await eventually('the proxy follows the new primary', 10_000, async () => (await p.primaryPort()) === to);
}

test('a key cached before the switch, then written directly on the new primary, is read fresh', async () => {
  await eventually('ready', 5000, async () => (await p.readyz()).status === 200);
  await setViaProxy('ck', 'v1');
  await cacheIt('ck', 'v1');
  const { to } = await set.failover();
  await followed(to);
  await set.nodeCli(to, 'SET', 'ck', 'v2');
  assert.equal(await get('ck'), 'v2', 'not the entry cached from the old primary');
  // and the new primary's link tracks what is cached from now on
  await cacheIt('ck', 'v2');
  await set.nodeCli(to, 'SET', 'ck', 'v3');
  await eventually('the direct write on the new primary is seen', 3000, async () => (await get('ck')) === 'v3');
});

test('a value only the old primary had is never served after the switch', async () => {
  await set.waitHealthy();
  const from = await set.primaryPort();
  const replica = set.nodes.find((n) => n.port !== from)!.port;
  await setViaProxy('lk', 'replicated');
  await eventually('replicated', 5000, async () => (await set.nodeCli(replica, 'GET', 'lk')).trim() === 'replicated');
  // cut replication: the replica cannot log in to its primary any more
  await set.nodeCli(replica, 'CONFIG', 'SET', 'masterauth', 'not-the-password');
  await set.nodeCli(replica, 'CLIENT', 'KILL', 'TYPE', 'master');
  await eventually('replication cut', 5000, async () => (await set.nodeCli(replica, 'INFO', 'replication')).includes('master_link_status:down'));
  await set.nodeCli(from, 'SET', 'lk', 'lost');
  await cacheIt('lk', 'lost');
  await sleep(200);
  assert.equal((await set.nodeCli(replica, 'GET', 'lk')).trim(), 'replicated', 'the replica never got it');

  const { to } = await set.failover();
  assert.equal(to, replica);
  await set.nodeCli(to, 'CONFIG', 'SET', 'masterauth', DATA_PW);
  await followed(to);
  for (let i = 0; i < 10; i++) {
    assert.equal(await get('lk'), 'replicated', `read ${i} after the switch`);
    await sleep(30);
  }
  const st = await p.stats();
  assert.equal(st.sentinel.primary, `127.0.0.1:${to}`);
  assert.ok(!p.proxy.output().includes(DATA_PW), 'no data password in the log');
});
