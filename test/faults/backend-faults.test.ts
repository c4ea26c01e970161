// Redis goes away under load (contract §4.2): killed, frozen, restarted while several
// clients have 2,000-command pipelines in flight through the proxy.
//
// The proxy never answers a forwarded command itself. Every reply a client receives is the
// right one for its command (checked against the command: GET returns what the same
// pipeline just SET, INCR counts up by one), in order, never another command's and never an
// "-ERR RedisProxy: ..." made up by the proxy. When the Redis connection serving a client is
// lost, the client's connection is closed right behind the replies that did arrive, within
// a bounded time; the commands without a reply get none (the client's library resends
// them), and neither do commands it sends after the loss. While Redis cannot be reached, a
// new client is accepted and then closed without a reply byte, so that its own backoff
// applies; once Redis is back, new clients work, with no restart of the proxy.
//
// Mid-pipeline, deterministically: client 0's pipeline carries a CLIENT PAUSE ALL after
// its first 1,000 commands. Redis answers everything up to the pause, then answers nothing
// (all clients paused); the fault strikes exactly then, so client 0 has 1,001 right
// replies behind it and 1,000 commands still in flight, and the other clients are
// wherever Redis's round robin left them.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { RawClient, cmd, getFreePort, pingLine, sleep, startProxy, startRedis, withTimeout, proxyStats, eventually, linkUp, startAdminProxy, type ProxyProcess, type RedisServer } from '../helpers/index.js';
import { FrameStream, closedAfterConnect } from './fault-helpers.js';
import { PROXY_ERROR, joinBytes, mixedPipeline, verify, type PipelineCmd, type Verdict } from './pipeline-model.js';

const CLIENTS = 4;
const COMMANDS = 2000;
const PAUSE_AT = 1000;

let redis: RedisServer;
let run = 0;

before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis?.stop();
});

interface Outcome {
  verdicts: Verdict[];
  /** ms from the fault to each client's close */
  closedWithinMs: number[];
}

/**
 * Starts CLIENTS pipelines at once, waits until client 0 has been answered up to and
 * including its CLIENT PAUSE, runs `fault`, writes one more command (PING) on every
 * connection, then waits (bounded) for every connection to close and checks what arrived.
 */
async function pipelinesThrough(
  proxyPort: number,
  pauseMs: number,
  fault: () => Promise<void>,
  closeWithinMs: number,
  /** runs once every connection is closed (e.g. checks while Redis is down, then bring it back) */
  recover: () => Promise<void> = async () => {},
): Promise<Outcome> {
  run++;
  const plans: PipelineCmd[][] = [];
  const frames: Buffer[][] = [];
  const streams: FrameStream[] = [];
  for (let c = 0; c < CLIENTS; c++) {
    const tag = `bf${run}-${c}-${Date.now()}`;
    plans.push(mixedPipeline(tag, COMMANDS, c === 0 ? { at: PAUSE_AT, args: ['CLIENT', 'PAUSE', String(pauseMs), 'ALL'] } : undefined));
    const got: Buffer[] = [];
    frames.push(got);
    streams.push(await FrameStream.connect(proxyPort, (f) => got.push(Buffer.from(f))));
  }
  // Written side by side in 4 KB slices, one round per millisecond and never waiting for a
  // reply, so that Redis works on all the pipelines at once and the others are part-way
  // through theirs when client 0's pause stops everyone.
  const bufs = plans.map(joinBytes);
  for (let off = 0; bufs.some((b) => off < b.length); off += 4096) {
    for (let c = 0; c < CLIENTS; c++) if (off < bufs[c].length) streams[c].write(bufs[c].subarray(off, off + 4096));
    await sleep(1);
  }

  // Redis has answered client 0 up to the pause, and nothing after it
  await streams[0].waitFrames(PAUSE_AT + 1, 10_000);
  assert.equal(frames[0].length, PAUSE_AT + 1, 'client 0 got no reply past its CLIENT PAUSE');
  const t0 = Date.now();
  await fault();
  // A command sent after the loss is not in any plan: a reply to it (from a Redis
  // connection the client never had, or made up) shows up as an extra reply below.
  // (On a connection already closed the write fails quietly: FrameStream keeps the error.)
  for (const s of streams) if (!s.closed) s.write(cmd('PING'));

  const closedWithinMs: number[] = [];
  for (let c = 0; c < CLIENTS; c++) {
    const closed = await streams[c].waitClosed(Math.max(0, t0 + closeWithinMs - Date.now()));
    assert.ok(
      closed,
      `client ${c}: its connection is still open ${closeWithinMs} ms after the fault, with ${frames[c].length} of ${plans[c].length} replies ` +
        `(a client whose Redis connection is lost must see its connection close)`,
    );
    closedWithinMs.push(streams[c].closedAt - t0);
  }
  const verdicts = plans.map((p, c) => verify(p, frames[c]));
  await recover();
  for (const s of streams) s.destroy();
  return { verdicts, closedWithinMs };
}

/** `cut`: the fault struck while client 0 was paused, so nothing after its pause ran. */
function checkOutcome(o: Outcome, cut: boolean): void {
  console.log(`# ${o.verdicts.map((v, c) => `client ${c}: ${v.answered} replies (${v.correct} right), closed ${o.closedWithinMs[c]} ms after the fault`).join('; ')}`);
  o.verdicts.forEach((v, c) => {
    assert.deepEqual(v.problems, [], `client ${c}: every reply that arrived is the right one for its command, in order, and nothing follows the last command`);
    assert.ok(v.answered <= COMMANDS + (c === 0 ? 1 : 0), `client ${c}: at most one reply per command`);
  });
  const v0 = o.verdicts[0];
  assert.ok(v0.correct >= PAUSE_AT + 1, `client 0: the ${PAUSE_AT + 1} replies before the fault are right (got ${v0.correct})`);
  if (cut) assert.equal(v0.answered, PAUSE_AT + 1, 'client 0: the commands still in flight at the fault got no reply (Redis never ran them)');
}

/** A fresh client's SET/GET works; returns true when both replies are right. */
async function worksNow(port: number): Promise<boolean> {
  const c = await RawClient.connect(port);
  try {
    const key = `bf:fresh:${Date.now()}:${Math.random()}`;
    c.write(cmd('SET', key, 'fresh') + cmd('GET', key));
    const [a, b] = await c.readFrames(2, 3000);
    return a.toString() === '+OK\r\n' && b.toString() === '$5\r\nfresh\r\n';
  } finally {
    c.destroy();
  }
}

async function untilWorks(port: number, what: string, ms = 10_000): Promise<number> {
  return eventually(what, () => worksNow(port), ms, 100);
}

/** While Redis cannot be reached: a new client is accepted, then closed without a reply byte, promptly. */
async function acceptedThenClosed(port: number, count: number, closeWithinMs: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const { received, closedAfterMs } = await closedAfterConnect(port, cmd('PING') + cmd('SET', 'x', '1') + cmd('GET', 'x') + cmd('INCR', 'n') + 'GET x\r\n', closeWithinMs);
    assert.equal(received.toString('latin1'), '', `new client ${i} while Redis is down: closed without any reply (got ${JSON.stringify(received.toString('latin1'))})`);
    times.push(closedAfterMs);
  }
  return times;
}

/** After a failed test, leave a Redis running for the next one. */
async function ensureRedis(): Promise<void> {
  redis.thaw();
  const up = await pingLine(redis.port, 500).then(
    () => true,
    () => false,
  );
  if (!up) await redis.restart();
}

describe('Redis killed (SIGKILL) mid-pipeline', () => {
  let proxy: ProxyProcess;
  let admin: number;
  before(async () => {
    ({ proxy, admin } = await startAdminProxy(redis.port));
  });
  after(async () => {
    await ensureRedis();
    await proxy?.stop();
  });

  test('replies that arrived are right and clients are closed right behind them; new clients are accepted then closed while Redis is down, and work once it is back', async () => {
    let downTimes: number[] = [];
    const whileDown = async () => {
      downTimes = await acceptedThenClosed(proxy.port, 3, 3000);
      assert.equal((await proxyStats(admin)).redis.reachable, false, '/stats says Redis is unreachable');
      // Redis comes back on the same port
      await redis.restart();
    };
    const o = await pipelinesThrough(proxy.port, 10_000, () => redis.kill(), 5000, whileDown);
    checkOutcome(o, true);
    console.log(`# new clients while Redis was down were closed ${downTimes.join(', ')} ms after their commands`);

    // new clients work, without restarting the proxy, and the cache serves again
    const ms = await untilWorks(proxy.port, 'a new client works after Redis is back');
    console.log(`# new clients worked ${ms} ms after Redis was back`);
    await linkUp(admin);
    await cacheServes(admin, proxy.port, 'bf:kill:cached');
  });
});

/** SET through the proxy, then GETs of it until one is a cache hit (each GET right). */
async function cacheServes(admin: number, port: number, key: string): Promise<void> {
  const c = await RawClient.connect(port);
  try {
    c.write(cmd('SET', key, 'yes'));
    assert.equal((await c.readFrame()).toString(), '+OK\r\n');
    const before = (await proxyStats(admin)).cache.hits;
    await eventually(
      'GETs are served from the cache again after the fault',
      async () => {
        c.write(cmd('GET', key));
        assert.equal((await c.readFrame()).toString(), '$3\r\nyes\r\n');
        return (await proxyStats(admin)).cache.hits > before;
      },
      3000,
      10,
    );
  } finally {
    c.destroy();
  }
}

describe('Redis killed while a cache hit waits behind an unanswered command', () => {
  let proxy: ProxyProcess;
  let admin: number;
  before(async () => {
    admin = await getFreePort();
    proxy = await startProxy({ redisPort: redis.port, args: ['--admin-port', String(admin)] });
    await linkUp(admin);
  });
  after(async () => {
    await ensureRedis();
    await proxy?.stop();
  });

  // A hit is answered in its turn: behind an INCR that Redis never answers, its reply would
  // be read by the client as the INCR's. So nothing at all may be written before the close.
  test('the hits\' replies are not written: the client is closed with nothing, and the cache serves again after', async () => {
    const ROUNDS = 3;
    for (let round = 0; round < ROUNDS; round++) {
      await linkUp(admin);
      const key = `bf:hit:${round}`;
      const c = await RawClient.connect(proxy.port);
      c.write(cmd('SET', key, 'hot'));
      assert.equal((await c.readFrame()).toString(), '+OK\r\n');
      const hits = (await proxyStats(admin)).cache.hits;
      await eventually(
        `round ${round}: ${key} is served from the cache`,
        async () => {
          c.write(cmd('GET', key));
          assert.equal((await c.readFrame()).toString(), '$3\r\nhot\r\n');
          return (await proxyStats(admin)).cache.hits > hits;
        },
        3000,
        10,
      );
      // Redis answers nothing from now on; the INCR waits there, the GETs are hits
      assert.equal(await redis.cli('CLIENT', 'PAUSE', '20000', 'ALL'), 'OK\n');
      c.write(cmd('INCR', `bf:hit:n${round}`) + cmd('GET', key) + cmd('GET', key));
      await sleep(200);
      assert.equal(c.pending().toString('latin1'), '', `round ${round}: nothing is written while the INCR is unanswered`);
      const t0 = Date.now();
      await redis.kill();
      const rest = await c.readUntilClosed(3000);
      console.log(`# round ${round}: closed ${Date.now() - t0} ms after the kill`);
      assert.equal(rest.toString('latin1'), '', `round ${round}: the client is closed with no reply (the hits' replies would be read as the INCR's)`);
      c.destroy();
      await redis.restart();
    }
    await untilWorks(proxy.port, 'a new client works after Redis is back');
    await linkUp(admin);
    await cacheServes(admin, proxy.port, 'bf:hit:after');
  });
});

describe('the shared connections killed on Redis (CLIENT KILL TYPE normal)', () => {
  let proxy: ProxyProcess;
  let admin: number;
  before(async () => {
    admin = await getFreePort();
    proxy = await startProxy({ redisPort: redis.port, args: ['--admin-port', String(admin)] });
    await linkUp(admin);
  });
  after(async () => {
    await ensureRedis();
    await proxy?.stop();
  });

  // Redis stays up: a client that had sent commands over a killed connection is closed (as
  // Redis closed it); one that had sent nothing was never Redis's client there, so it moves
  // on silently and its first commands work.
  test('clients that had sent commands are closed; a client that had sent nothing stays and works', async () => {
    for (let round = 0; round < 3; round++) {
      await linkUp(admin);
      // (the last round's kill took the shared connections and maybe the sharing probe's:
      // until they are back, a new client gets a connection of its own, which a kill ends)
      await eventually('clients share connections again', async () => (await proxyStats(admin)).redis.sharing, 5000, 20);
      const sent = await RawClient.connect(proxy.port);
      sent.write(cmd('PING'));
      assert.equal((await sent.readFrame()).toString(), '+PONG\r\n');
      const idle = await RawClient.connect(proxy.port);
      await sleep(100);
      const killed = Number((await redis.cli('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes')).trim());
      assert.ok(killed >= 1, `round ${round}: the proxy's connections were killed (${killed})`);
      assert.equal((await sent.readUntilClosed(3000)).toString('latin1'), '', `round ${round}: the client that had sent is closed, with nothing more`);
      await sleep(200);
      assert.equal(idle.closedYet, false, `round ${round}: the client that had sent nothing is kept`);
      const key = `bf:idle:${round}`;
      idle.write(cmd('SET', key, 'moved') + cmd('GET', key));
      assert.equal((await idle.readFrames(2, 3000)).map(String).join(''), '+OK\r\n$5\r\nmoved\r\n', `round ${round}: its first commands work`);
      assert.equal(await redis.cli('GET', key), 'moved\n');
      sent.destroy();
      idle.destroy();
    }
  });
});

describe('Redis killed under continuous traffic', () => {
  let proxy: ProxyProcess;
  let admin: number;
  before(async () => {
    ({ proxy, admin } = await startAdminProxy(redis.port));
  });
  after(async () => {
    await ensureRedis();
    await proxy?.stop();
  });

  // Each client sends its next batch the moment the last reply of the previous one is in,
  // so at the kill some batches are at Redis, some at the proxy, some on their way. Every
  // client has sent commands over its Redis connection, so every one must be closed; the
  // replies that arrived before the close must be right and in order, and the commands
  // left without a reply get none.
  test('60 clients with a batch always in flight: every reply right and in order, every client closed within 3 s of the kill', async () => {
    const N = 60;
    const CLOSE_WITHIN_MS = 3000;
    interface C { s: FrameStream; sent: number; tag: string; plan: PipelineCmd[]; frames: Buffer[]; batches: number }
    let stop = false;
    const clients: C[] = [];
    for (let i = 0; i < N; i++) {
      const frames: Buffer[] = [];
      const s = await FrameStream.connect(proxy.port, (f) => frames.push(Buffer.from(f)));
      clients.push({ s, sent: 0, tag: `bfc${i}-${Date.now()}`, plan: [], frames, batches: 0 });
    }
    const loops = clients.map(async (c) => {
      while (!stop && !c.s.closed) {
        // the next 12 commands of one mixed pipeline, so every reply stays checkable
        const from = c.plan.length;
        c.plan = mixedPipeline(c.tag, from + 12);
        c.s.write(joinBytes(c.plan.slice(from)));
        c.sent = c.plan.length;
        c.batches++;
        try {
          await c.s.waitFrames(c.sent, 5000);
        } catch {
          return; // closed, or Redis silent (judged below)
        }
      }
    });
    await sleep(700); // traffic is flowing
    const tKill = Date.now();
    await redis.kill();
    await eventually('every client is closed', () => clients.every((c) => c.s.closed), CLOSE_WITHIN_MS + 2000, 20).catch(() => 0);
    stop = true;
    await Promise.all(loops);
    const problems: string[] = [];
    const open: string[] = [];
    const late: string[] = [];
    let unanswered = 0;
    let slowest = 0;
    for (const [i, c] of clients.entries()) {
      const v = verify(c.plan, c.frames);
      problems.push(...v.problems.filter((p) => p !== '').map((p) => `client ${i}: ${p}`));
      unanswered += c.sent - c.frames.length;
      if (!c.s.closed) open.push(`client ${i}: still open after ${Date.now() - tKill} ms, ${c.sent - c.frames.length} of its commands unanswered`);
      else {
        const ms = c.s.closedAt - tKill;
        slowest = Math.max(slowest, ms);
        if (ms > CLOSE_WITHIN_MS) late.push(`client ${i}: closed ${ms} ms after the kill`);
      }
      c.s.destroy();
    }
    await redis.restart();
    console.log(
      `# continuous traffic: ${clients.reduce((a, c) => a + c.sent, 0)} commands, ${clients.reduce((a, c) => a + c.frames.length, 0)} replies; ` +
        `at the kill ${unanswered} commands were left without a reply; the last client was closed ${slowest} ms after the kill`,
    );
    assert.deepEqual(problems, [], 'every reply is the right one for its command, in order (never made up, never another command\'s)');
    assert.deepEqual(open, [], 'every client that had sent commands is closed when its Redis connection is lost');
    assert.deepEqual(late, [], `every client is closed within ${CLOSE_WITHIN_MS} ms of the kill`);
    await untilWorks(proxy.port, 'a new client works after Redis is back');
  });
});

describe('clients that connect the moment Redis dies', () => {
  let proxy: ProxyProcess;
  let admin: number;
  before(async () => {
    ({ proxy, admin } = await startAdminProxy(redis.port));
  });
  after(async () => {
    await ensureRedis();
    await proxy?.stop();
  });

  // Whatever the proxy knows yet (its shared connection may not have seen the kill), a
  // client that connects after Redis is gone is accepted, and then closed without a reply:
  // it never gets a made-up one, nor an answer from anywhere, nor a connection left hanging.
  // (bf:k never exists: no GET of it is ever answered by Redis, so none can be cached.)
  test('each is accepted, then closed without a reply byte within 3 s: never a made-up reply, never a hang', async () => {
    const ROUNDS = 60;
    const PER_ROUND = 4;
    const wrong: string[] = [];
    let slowest = 0;
    for (let round = 0; round < ROUNDS; round++) {
      await linkUp(admin);
      const old = await RawClient.connect(proxy.port);
      old.write(cmd('PING'));
      assert.equal((await old.readFrame()).toString(), '+PONG\r\n');
      await redis.kill();
      const t0 = Date.now();
      const fresh = await Promise.all(Array.from({ length: PER_ROUND }, () => RawClient.connect(proxy.port)));
      for (const [i, c] of fresh.entries()) c.write(cmd('GET', 'bf:k') + (i % 2 ? cmd('SET', 'bf:k', 'v') : cmd('GET', 'bf:k')));
      const outcomes = await Promise.all(
        [old, ...fresh].map((c) =>
          c.readUntilClosed(3000).then(
            (got) => ({ got: got.toString('latin1'), err: '' }),
            (e: Error) => ({ got: '', err: e.message }),
          ),
        ),
      );
      slowest = Math.max(slowest, Date.now() - t0);
      for (const [j, r] of outcomes.entries()) {
        const who = j === 0 ? `round ${round}, the client connected before the kill (PING answered)` : `round ${round}, client ${j - 1} (GET, ${(j - 1) % 2 ? 'SET' : 'GET'})`;
        if (r.err) wrong.push(`${who}: ${r.err}`);
        else if (r.got !== '') wrong.push(`${who}: received ${JSON.stringify(r.got)}${PROXY_ERROR.test(r.got) ? ' (made up by the proxy)' : ''} before the close`);
      }
      for (const c of [old, ...fresh]) c.destroy();
      await redis.restart();
    }
    console.log(`# ${ROUNDS} rounds: all clients were closed within ${slowest} ms of the kill`);
    assert.deepEqual(wrong, [], `of ${ROUNDS * PER_ROUND} new clients and ${ROUNDS} old ones, these were not closed silently in time`);
    await untilWorks(proxy.port, 'a new client works after the last restart');
  });
});

for (const [faultName, fault] of [
  ['killed and restarted', async () => {
    await redis.kill();
    await sleep(200);
    await redis.restart();
  }],
  ['restarted gracefully', () => redis.restart()],
] as const) {
  describe(`clients holding connection state when Redis is ${faultName}`, () => {
    let proxy: ProxyProcess;
    let admin: number;
    before(async () => {
      ({ proxy, admin } = await startAdminProxy(redis.port));
    });
    after(async () => {
      await ensureRedis();
      await proxy?.stop();
    });

    test('each is disconnected, or keeps its state: never silently carries on without it', async () => {
      const open = async (setup: string, replies: number) => {
        const c = await RawClient.connect(proxy.port);
        c.write(setup);
        await c.readFrames(replies);
        return c;
      };
      const db1 = await open(cmd('SELECT', '1'), 1);
      const sub = await open(cmd('SUBSCRIBE', 'bf:state:ch'), 1);
      const named = await open(cmd('CLIENT', 'SETNAME', 'bfname'), 1);
      const multi = await open(cmd('MULTI') + cmd('SET', 'bf:state:m', 'queued'), 2);
      const watch = await open(cmd('WATCH', 'bf:state:w'), 1);
      await fault();
      await linkUp(admin);
      await sleep(300);
      const outcome: string[] = [];

      /** Sends `bytes` on a kept client; its frames, or null once it is closed. Never a made-up error. */
      const ask = async (c: RawClient, bytes: string, n: number): Promise<string[] | null> => {
        if (c.closedYet) return null;
        c.write(bytes);
        const got = (await c.readFrames(n, 3000).catch(() => null))?.map((f) => f.toString());
        if (got === null || got === undefined) {
          // no reply: the connection must be closing, not hanging
          await withTimeout(c.closed(), 3000, 'a kept client that got no reply is closed').catch(() => assert.fail('a kept client got no reply and was not closed'));
          return null;
        }
        for (const g of got) assert.doesNotMatch(g, PROXY_ERROR, 'the proxy never answers a forwarded command itself');
        return got;
      };

      if (db1.closedYet) outcome.push('SELECT 1: disconnected');
      else {
        const got = await ask(db1, cmd('SET', 'bf:state:db', 'one'), 1);
        if (got === null) outcome.push('SELECT 1: disconnected');
        else {
          assert.equal(got[0], '+OK\r\n');
          assert.equal(await redis.cli('-n', '1', 'GET', 'bf:state:db'), 'one\n', 'a kept SELECT 1 client still writes to database 1');
          assert.equal(await redis.cli('-n', '0', 'EXISTS', 'bf:state:db'), '0\n', 'and not to database 0');
          outcome.push('SELECT 1: kept, still in db 1');
        }
      }
      if (sub.closedYet) outcome.push('SUBSCRIBE: disconnected');
      else {
        const n = await eventually('PUBLISH reaches someone', async () => (await redis.cli('PUBLISH', 'bf:state:ch', 'after')) === '1\n', 2000, 50)
          .then(() => 1)
          .catch(() => 0);
        if (sub.closedYet) outcome.push('SUBSCRIBE: disconnected');
        else {
          assert.equal(n, 1, 'a kept subscriber is still subscribed (PUBLISH after the fault reaches it)');
          assert.match((await sub.readFrame(2000)).toString(), /after/);
          outcome.push('SUBSCRIBE: kept, still subscribed');
        }
      }
      if (named.closedYet) outcome.push('CLIENT SETNAME: disconnected');
      else {
        const got = await ask(named, cmd('CLIENT', 'GETNAME'), 1);
        if (got === null) outcome.push('CLIENT SETNAME: disconnected');
        else {
          assert.equal(got[0], '$6\r\nbfname\r\n', 'a kept client keeps its name');
          outcome.push('CLIENT SETNAME: kept, name kept');
        }
      }
      // a transaction or a WATCH cannot survive a new Redis connection: the client must learn it by a close
      await withTimeout(multi.closed(), 3000, 'a client inside MULTI is disconnected').catch(() => assert.fail('a client inside MULTI was kept after its transaction was lost'));
      await withTimeout(watch.closed(), 3000, 'a WATCHing client is disconnected').catch(() => assert.fail('a WATCHing client was kept after its WATCH was lost'));
      outcome.push('MULTI: disconnected', 'WATCH: disconnected');
      console.log(`# ${faultName}: ${outcome.join('; ')}`);
      for (const c of [db1, sub, named, multi, watch]) c.destroy();
    });
  });
}

describe('Redis frozen (SIGSTOP) with --backend-timeout 0.5', () => {
  let proxy: ProxyProcess;
  before(async () => {
    proxy = await startProxy({ redisPort: redis.port, args: ['--backend-timeout', '0.5'] });
  });
  after(async () => {
    await ensureRedis();
    await proxy?.stop();
  });

  test('clients whose commands Redis leaves unanswered are closed within ~1 s, right behind the replies that arrived, with no error reply', async () => {
    // the pause (300 ms) is shorter than the timeout: only the freeze makes Redis go silent
    let o: Outcome;
    try {
      o = await pipelinesThrough(proxy.port, 300, async () => redis.freeze(), 3000);
    } finally {
      redis.thaw();
    }
    checkOutcome(o, true);
    for (const ms of o.closedWithinMs) assert.ok(ms < 2000, `a client was closed ${ms} ms after the freeze (timeout 500 ms)`);
    await untilWorks(proxy.port, 'clients work after the thaw');
  });

  test('a new client while Redis is frozen is closed after the timeout, without a reply, not left hanging', async () => {
    redis.freeze();
    let r: { received: Buffer; closedAfterMs: number };
    try {
      r = await closedAfterConnect(proxy.port, cmd('PING') + cmd('GET', 'bf:frozen:k'), 3000);
    } finally {
      redis.thaw();
    }
    console.log(`# a new client while Redis was frozen was closed ${r.closedAfterMs} ms after its commands`);
    assert.equal(r.received.toString('latin1'), '', 'no reply bytes: the proxy answers no forwarded command itself');
    assert.ok(r.closedAfterMs >= 450, `closed ${r.closedAfterMs} ms after its commands: not before Redis had --backend-timeout (500 ms) to answer`);
    assert.ok(r.closedAfterMs < 2000, `closed ${r.closedAfterMs} ms after its commands (timeout 500 ms)`);
    await untilWorks(proxy.port, 'clients work after the thaw');
  });
});

describe('Redis restarted mid-pipeline', () => {
  let proxy: ProxyProcess;
  let admin: number;
  before(async () => {
    ({ proxy, admin } = await startAdminProxy(redis.port));
  });
  after(async () => {
    await ensureRedis();
    await proxy?.stop();
  });

  test('replies that arrived are right, clients are closed right behind them, new clients work and the cache serves again', async () => {
    // A graceful stop (SIGTERM) ends the pause and lets Redis answer what it can before it
    // exits: how much of the pipelines ran is up to Redis, but each reply that arrives is
    // right, and each client is closed when the connection serving it ends.
    const o = await pipelinesThrough(proxy.port, 10_000, () => redis.restart(), 10_000);
    checkOutcome(o, false);
    await untilWorks(proxy.port, 'a new client works after the restart', 5000);
    // the invalidation link came back by itself: GETs are cached again
    await linkUp(admin);
    await cacheServes(admin, proxy.port, 'bf:cached');
  });
});

for (const [label, extra] of [
  ['cache on', []],
  ['cache off (--capacity 0)', ['--capacity', '0']],
] as const) {
describe(`blocking commands and --backend-timeout 0.3, ${label}`, () => {
  let proxy: ProxyProcess;
  let admin: number;
  before(async () => {
    admin = await getFreePort();
    proxy = await startProxy({ redisPort: redis.port, args: ['--backend-timeout', '0.3', '--admin-port', String(admin), ...extra] });
    await eventually('proxy reaches Redis', async () => (await proxyStats(admin)).redis.reachable, 5000);
  });
  after(async () => {
    await ensureRedis();
    await proxy?.stop();
  });

  for (const [name, args, nil] of [
    ['BLPOP 1', ['BLPOP', 'bf:nolist', '1'], '*-1\r\n'],
    ['BRPOPLPUSH 1', ['BRPOPLPUSH', 'bf:nolist', 'bf:dst', '1'], '*-1\r\n'],
    ['BZPOPMIN 1', ['BZPOPMIN', 'bf:nozset', '1'], '*-1\r\n'],
    ['XREAD BLOCK 1000', ['XREAD', 'BLOCK', '1000', 'STREAMS', 'bf:nostream', '$'], '*-1\r\n'],
  ] as const) {
    test(`${name} is not timed out: it returns nil after ~1 s, and the connection goes on`, async () => {
      const c = await RawClient.connect(proxy.port);
      const t0 = Date.now();
      c.write(cmd(...args) + cmd('PING'));
      const [r, pong] = await c.readFrames(2, 5000);
      const ms = Date.now() - t0;
      assert.equal(r.toString(), nil);
      assert.equal(pong.toString(), '+PONG\r\n');
      assert.ok(ms >= 900 && ms < 2500, `answered after ${ms} ms`);
      c.write(cmd('SET', 'bf:after-block', 'ok') + cmd('GET', 'bf:after-block'));
      const [a, b] = await c.readFrames(2);
      assert.equal(a.toString() + b.toString(), '+OK\r\n$2\r\nok\r\n');
      c.destroy();
    });
  }
});
}
