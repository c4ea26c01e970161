// Through the proxy, with --sentinel: the primary is found; SENTINEL FAILOVER while several
// clients pipeline writes and reads is followed within seconds (no reply mispaired, nothing
// lost without the client seeing its connection end, READONLY only during the switch); kill -9
// of the primary is followed too. The sentinels have a password, the data nodes none (so
// clients share connections, and the shared pool is moved at the switch).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { RawClient, ReadError, cmd, sleep, splitFrames, startSentinelSet, type SentinelSet } from '../helpers/index.js';
import { eventually, once, proxyOnSet, type SentinelProxy } from './proxy-kit.js';

const SENTINEL_PW = 'sentinel-secret-5150';

let set: SentinelSet;
let p: SentinelProxy;

before(async () => {
  set = await startSentinelSet({ sentinelPassword: SENTINEL_PW });
  p = await proxyOnSet(set, { sentinelPassword: SENTINEL_PW });
});

after(async () => {
  await p?.proxy.stop();
  await set?.stop();
});

const role = async (port: number) => (await set.nodeCli(port, 'ROLE')).split('\n')[0];

test('the proxy finds the primary the sentinels name, and says so in /readyz, /stats and /metrics', async () => {
  const primary = await set.primaryPort();
  await eventually('ready', 5000, async () => (await p.readyz()).status === 200);
  const st = await p.stats();
  assert.equal(st.sentinel.phase, 'following');
  assert.equal(st.sentinel.primary, `127.0.0.1:${primary}`);
  assert.equal(st.sentinel.reachable, 3);
  assert.equal(st.redis.primary, `127.0.0.1:${primary}`);
  const m = await p.metrics();
  assert.match(m, new RegExp(`redisproxy_sentinel_primary\\{address="127.0.0.1:${primary}"\\} 1`));
  assert.match(m, /redisproxy_sentinel_reachable 3/);
  assert.match(m, /redisproxy_sentinel_switches_total 1/);
  assert.equal(await once(p.proxy.port, 'SET', 'hello', 'world'), '+OK\r\n');
  assert.equal((await set.nodeCli(primary, 'GET', 'hello')).trim(), 'world');
});

interface Pair {
  key: string;
  value: string;
}

interface ClientRecord {
  mispaired: string[];
  /** when each READONLY reply came */
  readonly: number[];
  /** writes answered +OK, with the number of their connection */
  acked: Array<Pair & { conn: number }>;
  connections: number;
}

const text = (b: Buffer) => b.toString('latin1');

/** Checks one SET/GET pair's replies; records what it sees. */
function checkPair(pair: Pair, set: Buffer | undefined, get: Buffer | undefined, conn: number, rec: ClientRecord): void {
  if (set === undefined) return;
  const s = text(set);
  const ok = s === '+OK\r\n';
  if (ok) rec.acked.push({ ...pair, conn });
  else if (s.startsWith('-READONLY')) rec.readonly.push(Date.now());
  else if (!s.startsWith('-')) rec.mispaired.push(`SET ${pair.key} got ${JSON.stringify(s)}`);
  if (get === undefined) return;
  const g = text(get);
  const mine = `$${pair.value.length}\r\n${pair.value}\r\n`;
  if (ok ? g !== mine : g !== mine && g !== '$-1\r\n' && !g.startsWith('-')) rec.mispaired.push(`GET ${pair.key} got ${JSON.stringify(g)}`);
}

/** Pipelines batches of SET k v / GET k (unique keys) until `done`; reconnects when its connection ends. */
async function pipeliner(id: number, port: number, done: () => boolean): Promise<ClientRecord> {
  const rec: ClientRecord = { mispaired: [], readonly: [], acked: [], connections: 0 };
  let n = 0;
  while (!done()) {
    let c: RawClient;
    try {
      c = await RawClient.connect(port);
    } catch {
      await sleep(20);
      continue;
    }
    const conn = ++rec.connections;
    try {
      while (!done()) {
        const pairs: Pair[] = [];
        let out = '';
        for (let j = 0; j < 10; j++, n++) {
          const pair = { key: `c${id}:${n}`, value: `v${id}:${n}` };
          pairs.push(pair);
          out += cmd('SET', pair.key, pair.value) + cmd('GET', pair.key);
        }
        c.write(out);
        let frames: Buffer[];
        let ended = false;
        try {
          frames = await c.readFrames(20, 10_000);
        } catch (e) {
          if (!(e instanceof ReadError)) throw e;
          // the connection ended: what did come must still pair; the rest was not answered, and the client knows
          frames = splitFrames(e.received).frames;
          ended = true;
        }
        pairs.forEach((pair, j) => checkPair(pair, frames[2 * j], frames[2 * j + 1], conn, rec));
        if (ended) break;
      }
    } finally {
      c.destroy();
    }
  }
  return rec;
}

test('SENTINEL FAILOVER under pipelined traffic: followed within seconds, replies paired, READONLY only during the switch', async () => {
  let stop = false;
  const clients = [0, 1, 2, 3].map((id) => pipeliner(id, p.proxy.port, () => stop));
  await sleep(500);
  // when the proxy is seen on the new primary (polled through /stats)
  let switchedAt = 0;
  let watching = true;
  const from = await set.primaryPort();
  const watcher = (async () => {
    while (watching) {
      const port = await p.primaryPort().catch(() => null);
      if (port !== null && port !== from && switchedAt === 0) switchedAt = Date.now();
      await sleep(25);
    }
  })();
  const t0 = Date.now();
  const { to } = await set.failover();
  // writes through the proxy reach the new primary within a few seconds (checked on the node itself)
  await eventually('a write through the proxy lands on the new primary', 5000, async () => {
    const marker = `m${Date.now()}`;
    if ((await once(p.proxy.port, 'SET', 'marker', marker)) !== '+OK\r\n') return false;
    return (await set.nodeCli(to, 'GET', 'marker')).trim() === marker && (await role(to)) === 'master';
  });
  const followedIn = Date.now() - t0;
  await sleep(1500);
  stop = true;
  const recs = await Promise.all(clients);
  watching = false;
  await watcher;
  assert.ok(switchedAt > 0, 'the proxy reported the new primary');

  for (const [i, r] of recs.entries()) {
    assert.deepEqual(r.mispaired, [], `client ${i}: replies paired`);
    // no READONLY once the proxy has switched (the 25 ms poll and a reply in flight: 500 ms)
    for (const at of r.readonly) assert.ok(at <= switchedAt + 500, `client ${i}: READONLY ${at - switchedAt} ms after the switch`);
    // its last connection was open at the end, well after the switch: what it wrote was acknowledged by the new primary
    assert.ok(r.connections >= 2, `client ${i}: its connection to the old primary was closed`);
    const after = r.acked.filter((a) => a.conn === r.connections);
    assert.ok(after.length > 0, `client ${i}: writes go on after the switch`);
    const keys = after.map((a) => a.key);
    const got = (await set.nodeCli(to, 'MGET', ...keys)).split('\n');
    after.forEach((a, j) => assert.equal(got[j], a.value, `client ${i}: ${a.key} acknowledged but not on the new primary`));
  }
  const st = await p.stats();
  assert.equal(st.sentinel.primary, `127.0.0.1:${to}`);
  assert.equal(st.sentinel.switches, 2);
  assert.ok(followedIn < 10_000, `followed in ${followedIn} ms`);
  assert.match(p.proxy.output(), new RegExp(`sentinel switch: the primary moved from 127.0.0.1:${from} to 127.0.0.1:${to}`));
  assert.ok(!p.proxy.output().includes(SENTINEL_PW), 'no password in the log');
  assert.equal((await p.readyz()).status, 200);
});

test('kill -9 of the primary: the proxy follows the promotion', async () => {
  await set.waitHealthy();
  const { from, to } = await set.killPrimary();
  assert.notEqual(from, to);
  await eventually('a write through the proxy lands on the promoted replica', 10_000, async () => {
    const marker = `k${Date.now()}`;
    if ((await once(p.proxy.port, 'SET', 'after-kill', marker)) !== '+OK\r\n') return false;
    return (await set.nodeCli(to, 'GET', 'after-kill')).trim() === marker && (await role(to)) === 'master';
  });
  assert.equal(await p.primaryPort(), to);
  await eventually('ready again', 5000, async () => (await p.readyz()).status === 200);
  assert.match(await p.metrics(), new RegExp(`redisproxy_sentinel_primary\\{address="127.0.0.1:${to}"\\} 1`));
});
