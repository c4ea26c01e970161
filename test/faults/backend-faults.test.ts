// Redis goes away under load (contract §4.2): killed, frozen, restarted while several
// clients have 2,000-command pipelines in flight through the proxy.
//
// Every command gets exactly one reply, in order, each either right (checked against the
// command: GET returns what the same pipeline just SET, INCR counts up by one) or an
// "-ERR RedisProxy: ..." naming the cause; never silence, never another command's reply.
// Afterwards the client is disconnected: its Redis connection, and all the state it held,
// is gone. New clients get a clear error while Redis is down, and work again once it is
// back, with no restart of the proxy.
//
// Mid-pipeline, deterministically: client 0's pipeline carries a CLIENT PAUSE ALL after
// its first 1,000 commands. Redis answers everything up to the pause, then answers nothing
// (all clients paused); the fault strikes exactly then, so client 0 has 1,001 right
// replies behind it and 1,000 commands still in flight, and the other clients are
// wherever Redis's round robin left them.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { RawClient, cmd, getFreePort, sleep, startProxy, startRedis, type ProxyProcess, type RedisServer } from '../helpers/index.js';
import { FrameStream, adminStats, eventually, linkUp } from './fault-helpers.js';
import { joinBytes, mixedPipeline, verify, type PipelineCmd, type Verdict } from './pipeline-model.js';

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
  closed: boolean[];
  /** ms from the fault to each client's last reply */
  answeredWithinMs: number[];
}

/**
 * Starts CLIENTS pipelines at once, waits until client 0 has been answered up to and
 * including its CLIENT PAUSE, runs `fault`, then collects every reply (bounded).
 */
async function pipelinesThrough(
  proxyPort: number,
  pauseMs: number,
  fault: () => Promise<void>,
  replyWithinMs: number,
  allClosed: boolean,
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

  const answeredWithinMs: number[] = [];
  const closed: boolean[] = [];
  for (let c = 0; c < CLIENTS; c++) {
    try {
      await streams[c].waitFrames(plans[c].length, replyWithinMs);
    } catch (e) {
      assert.fail(`client ${c}: ${(e as Error).message} (silence is never an answer)`);
    }
    answeredWithinMs.push(Date.now() - t0);
  }
  await sleep(50); // nothing may follow the last reply
  const verdicts = plans.map((p, c) => verify(p, frames[c]));
  for (let c = 0; c < CLIENTS; c++) closed.push(allClosed || verdicts[c].proxyErrors > 0 ? await streams[c].waitClosed(3000) : streams[c].closed);
  for (const s of streams) s.destroy();
  return { verdicts, closed, answeredWithinMs };
}

/**
 * `cut`: client 0's commands after the pause must have failed (Redis never ran them).
 * `allClosed`: every client loses its Redis connection (kill, restart), not only those
 * that had commands in flight (a freeze spares a client that was not waiting for Redis).
 */
function checkOutcome(o: Outcome, cause: RegExp, cut: boolean, allClosed: boolean): void {
  o.verdicts.forEach((v, c) => {
    assert.deepEqual(v.problems, [], `client ${c}: every reply is right or a proxy error`);
    assert.equal(v.correct + v.proxyErrors, COMMANDS + (c === 0 ? 1 : 0), `client ${c}: one reply per command`);
    for (const t of v.errorTexts) assert.match(t, cause, `client ${c}: the error names the cause`);
    if (allClosed || v.proxyErrors > 0) assert.ok(o.closed[c], `client ${c} is disconnected after the fault (its Redis connection and state died)`);
  });
  // client 0 was cut exactly at its pause
  const v0 = o.verdicts[0];
  assert.ok(v0.correct >= PAUSE_AT + 1, `client 0: the ${PAUSE_AT + 1} replies before the fault are right (got ${v0.correct})`);
  if (cut) assert.equal(v0.proxyErrors, COMMANDS - PAUSE_AT, 'client 0: the commands still in flight got errors');
  console.log(
    `# ${o.verdicts.map((v, c) => `client ${c}: ${v.correct} right, ${v.proxyErrors} errors (first at #${v.firstError}) within ${o.answeredWithinMs[c]} ms`).join('; ')}`,
  );
  console.log(`# error texts: ${[...new Set(o.verdicts.flatMap((v) => [...v.errorTexts]))].join(' | ')}`);
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

describe('Redis killed (SIGKILL) mid-pipeline', () => {
  let proxy: ProxyProcess;
  let admin: number;
  before(async () => {
    admin = await getFreePort();
    proxy = await startProxy({ redisPort: redis.port, args: ['--admin-port', String(admin)] });
    await linkUp(admin);
  });
  after(async () => {
    await proxy?.stop();
  });

  test('in-flight commands get errors, clients are disconnected; new clients get "unreachable", then work again', async () => {
    const o = await pipelinesThrough(proxy.port, 10_000, () => redis.kill(), 5000, true);
    checkOutcome(o, /^ERR RedisProxy: .*(connection to Redis (lost|closed)|unreachable)/, true, true);
    assert.equal(o.verdicts[0].correct, PAUSE_AT + 1, 'client 0: nothing after the pause ran');

    // Redis is down: each command of a new client gets a clear error, promptly
    const down: RawClient[] = [];
    for (let i = 0; i < 3; i++) {
      const c = await RawClient.connect(proxy.port);
      down.push(c);
      const t0 = Date.now();
      c.write(cmd('PING') + cmd('SET', 'x', '1') + cmd('GET', 'x') + cmd('INCR', 'n') + 'GET x\r\n');
      const replies = await c.readFrames(5, 5000);
      for (const r of replies) assert.match(r.toString(), /^-ERR RedisProxy: Redis at 127\.0\.0\.1:\d+ is unreachable \(ECONNREFUSED\)\r\n$/);
      assert.ok(Date.now() - t0 < 3000, 'errors come at once, not after a hang');
    }
    // and again, on the same connections: still errors, no hang, connection kept
    for (const c of down) {
      c.write(cmd('GET', 'x'));
      assert.match((await c.readFrame(3000)).toString(), /^-ERR RedisProxy: .*unreachable/);
      assert.equal(c.closedYet, false);
    }
    const s = await adminStats(admin);
    assert.equal(s.redis.reachable, false, '/stats says Redis is unreachable');

    // Redis comes back on the same port: new clients work, without restarting the proxy
    await redis.restart();
    const ms = await untilWorks(proxy.port, 'a new client works after Redis is back');
    console.log(`# new clients worked ${ms} ms after Redis was back`);
    // the clients that connected while Redis was down retry by themselves on their next command
    for (const c of down) {
      await eventually(
        'a client that connected while Redis was down works once it is back',
        async () => {
          c.write(cmd('SET', 'bf:down', 'back') + cmd('GET', 'bf:down'));
          const [a, b] = await c.readFrames(2, 3000);
          return a.toString() === '+OK\r\n' && b.toString() === '$4\r\nback\r\n';
        },
        10_000,
        300,
      );
      c.destroy();
    }
    await linkUp(admin);
  });
});

describe('clients that connect the moment Redis dies', () => {
  let proxy: ProxyProcess;
  let admin: number;
  before(async () => {
    admin = await getFreePort();
    proxy = await startProxy({ redisPort: redis.port, args: ['--admin-port', String(admin)] });
  });
  after(async () => {
    await proxy?.stop();
  });

  test('each of their commands gets an error naming the cause: never a silent close', async () => {
    const ROUNDS = 30;
    const PER_ROUND = 4;
    const silent: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      await linkUp(admin);
      const old = await RawClient.connect(proxy.port);
      old.write(cmd('PING'));
      await old.readFrame();
      await redis.kill();
      // connected after Redis is gone: whatever the proxy knows yet, these commands need answers
      const fresh = await Promise.all(Array.from({ length: PER_ROUND }, () => RawClient.connect(proxy.port)));
      for (const [i, c] of fresh.entries()) c.write(cmd('GET', 'bf:k') + (i % 2 ? cmd('SET', 'bf:k', 'v') : cmd('GET', 'bf:k')));
      for (const [i, c] of fresh.entries()) {
        try {
          const replies = await c.readFrames(2, 3000);
          for (const r of replies) assert.match(r.toString(), /^-ERR RedisProxy: .*(unreachable|lost|closed)/);
        } catch (e) {
          silent.push(`round ${round} client ${i} (GET, ${i % 2 ? 'SET' : 'GET'}): ${(e as Error).message}`);
        }
        c.destroy();
      }
      old.destroy();
      await redis.restart();
    }
    assert.deepEqual(silent, [], `${silent.length} of ${ROUNDS * PER_ROUND} new clients got no answer to GET/SET`);
  });
});

describe('Redis frozen (SIGSTOP) with --backend-timeout 0.5', () => {
  let proxy: ProxyProcess;
  before(async () => {
    proxy = await startProxy({ redisPort: redis.port, args: ['--backend-timeout', '0.5'] });
  });
  after(async () => {
    redis.thaw();
    await proxy?.stop();
  });

  test('in-flight commands fail with a backend-timeout error within ~1 s, clients are disconnected', async () => {
    // the pause (300 ms) is shorter than the timeout: only the freeze makes Redis go silent
    let o: Outcome;
    try {
      o = await pipelinesThrough(proxy.port, 300, async () => redis.freeze(), 3000, false);
    } finally {
      redis.thaw();
    }
    checkOutcome(o, /^ERR RedisProxy: Redis did not answer within 500 ms \(--backend-timeout\)$/, true, false);
    for (const ms of o.answeredWithinMs) assert.ok(ms < 2000, `errors arrived ${ms} ms after the freeze (timeout 500 ms)`);
    await untilWorks(proxy.port, 'clients work after the thaw');
  });

  test('a new client while Redis is frozen gets an error, not a hang', async () => {
    redis.freeze();
    try {
      const c = await RawClient.connect(proxy.port);
      const t0 = Date.now();
      c.write(cmd('PING') + cmd('GET', 'k'));
      const [a, b] = await c.readFrames(2, 3000);
      assert.match(a.toString(), /^-ERR RedisProxy: Redis did not answer within 500 ms/);
      assert.match(b.toString(), /^-ERR RedisProxy: Redis did not answer within 500 ms/);
      assert.ok(Date.now() - t0 < 2000);
      await c.readUntilClosed(3000);
    } finally {
      redis.thaw();
    }
    await untilWorks(proxy.port, 'clients work after the thaw');
  });
});

describe('Redis restarted mid-pipeline', () => {
  let proxy: ProxyProcess;
  let admin: number;
  before(async () => {
    admin = await getFreePort();
    proxy = await startProxy({ redisPort: redis.port, args: ['--admin-port', String(admin)] });
    await linkUp(admin);
  });
  after(async () => {
    await proxy?.stop();
  });

  test('in-flight commands get errors, clients are disconnected, new clients work and the cache serves again', async () => {
    // A graceful stop (SIGTERM) ends the pause and lets Redis answer what it can before it
    // exits: how much of the pipelines ran is up to Redis, but each reply is still right or an error.
    const o = await pipelinesThrough(proxy.port, 10_000, () => redis.restart(), 10_000, true);
    checkOutcome(o, /^ERR RedisProxy: .*(connection to Redis (lost|closed)|unreachable)/, false, true);
    await untilWorks(proxy.port, 'a new client works after the restart', 5000);
    // the invalidation link came back by itself: GETs are cached again
    await linkUp(admin);
    const c = await RawClient.connect(proxy.port);
    c.write(cmd('SET', 'bf:cached', 'yes'));
    await c.readFrame();
    const before = (await adminStats(admin)).cache.hits;
    await eventually(
      'GETs are served from the cache again after the restart',
      async () => {
        c.write(cmd('GET', 'bf:cached'));
        assert.equal((await c.readFrame()).toString(), '$3\r\nyes\r\n');
        return (await adminStats(admin)).cache.hits > before;
      },
      3000,
      10,
    );
    c.destroy();
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
    await eventually('proxy reaches Redis', async () => (await adminStats(admin)).redis.reachable, 5000);
  });
  after(async () => {
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
