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
import { RawClient, cmd, getFreePort, pingLine, sleep, startProxy, startRedis, withTimeout, proxyStats, eventually, linkUp, startAdminProxy, type ProxyProcess, type RedisServer } from '../helpers/index.js';
import { FrameStream } from './fault-helpers.js';
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
  /** clients with nothing in flight that the proxy kept: whether they then worked (SET/GET right) */
  keptWorking: Array<boolean | null>;
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
  /** runs after every reply is in and before kept clients are tried (e.g. bring Redis back) */
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
  await recover();
  const keptWorking: Array<boolean | null> = [];
  for (let c = 0; c < CLIENTS; c++) {
    // a client whose commands failed has lost its Redis connection: it must be told so
    if (verdicts[c].proxyErrors > 0) closed.push(await streams[c].waitClosed(3000));
    else closed.push(streams[c].closed);
    // A client that had nothing in flight held no state in our pipelines: the proxy may
    // keep it (with shared connections it loses nothing) but then it must work again.
    let works: boolean | null = null;
    if (!closed[c]) {
      works = false;
      const deadline = Date.now() + 10_000;
      while (!works && !streams[c].closed && Date.now() < deadline) {
        const n = frames[c].length;
        const key = `bf:kept:${run}:${c}`;
        streams[c].write(cmd('SET', key, 'kept') + cmd('GET', key));
        try {
          await streams[c].waitFrames(n + 2, 3000);
        } catch {
          break;
        }
        const [a, b] = frames[c].slice(n).map((f) => f.toString());
        works = a === '+OK\r\n' && b === '$4\r\nkept\r\n';
        if (!works && !(/^-ERR RedisProxy: /.test(a) && /^-ERR RedisProxy: /.test(b))) break; // a wrong answer
        if (!works) await sleep(200);
      }
      if (!works && streams[c].closed) works = null; // closed after all: fine
    }
    keptWorking.push(works);
  }
  for (const s of streams) s.destroy();
  return { verdicts, closed, answeredWithinMs, keptWorking };
}

/** `cut`: client 0's commands after the pause must have failed (Redis never ran them). */
function checkOutcome(o: Outcome, cause: RegExp, cut: boolean): void {
  o.verdicts.forEach((v, c) => {
    assert.deepEqual(v.problems, [], `client ${c}: every reply is right or a proxy error`);
    assert.equal(v.correct + v.proxyErrors, COMMANDS + (c === 0 ? 1 : 0), `client ${c}: one reply per command`);
    for (const t of v.errorTexts) assert.match(t, cause, `client ${c}: the error names the cause`);
    if (v.proxyErrors > 0) assert.ok(o.closed[c], `client ${c} is disconnected after the fault (its Redis connection and state died)`);
    else assert.notEqual(o.keptWorking[c], false, `client ${c} had nothing in flight and was kept: its next SET/GET must work`);
  });
  // client 0 was cut exactly at its pause
  const v0 = o.verdicts[0];
  assert.ok(v0.correct >= PAUSE_AT + 1, `client 0: the ${PAUSE_AT + 1} replies before the fault are right (got ${v0.correct})`);
  if (cut) assert.equal(v0.proxyErrors, COMMANDS - PAUSE_AT, 'client 0: the commands still in flight got errors');
  console.log(
    `# ${o.verdicts.map((v, c) => `client ${c}: ${v.correct} right, ${v.proxyErrors} errors (first at #${v.firstError}) within ${o.answeredWithinMs[c]} ms, ${o.closed[c] ? 'disconnected' : 'kept'}`).join('; ')}`,
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

  test('in-flight commands get errors, clients are disconnected; new clients get "unreachable", then work again', async () => {
    const down: RawClient[] = [];
    const whileDown = async () => {
      await downChecks(down);
      // Redis comes back on the same port
      await redis.restart();
    };
    const o = await pipelinesThrough(proxy.port, 10_000, () => redis.kill(), 5000, whileDown);
    checkOutcome(o, /^ERR RedisProxy: .*(connection to Redis (lost|closed)|unreachable)/, true);
    assert.equal(o.verdicts[0].correct, PAUSE_AT + 1, 'client 0: nothing after the pause ran');

    // new clients work, without restarting the proxy
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

  /** Redis is down: each command of a new client gets a clear error, promptly. */
  async function downChecks(down: RawClient[]): Promise<void> {
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
    const s = await proxyStats(admin);
    assert.equal(s.redis.reachable, false, '/stats says Redis is unreachable');
  }
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
  // so at the kill some batches are at Redis, some at the proxy, some on their way. A batch
  // whose bytes reached the proxy well before it closed the connection (its FIN arrives
  // >= 2 ms after our write; on loopback a write lands at once) was received: it must get
  // replies. Only a batch that crossed the proxy's FIN may go unanswered.
  test('60 clients with a batch always in flight: every command the proxy received before closing gets a reply', async () => {
    const N = 60;
    const CROSSING_MS = 2;
    interface C { s: FrameStream; sent: number; tag: string; plan: PipelineCmd[]; frames: Buffer[]; batches: number; lastSentAt: number; endAt: number }
    let stop = false;
    const clients: C[] = [];
    for (let i = 0; i < N; i++) {
      const frames: Buffer[] = [];
      const s = await FrameStream.connect(proxy.port, (f) => frames.push(Buffer.from(f)));
      const c: C = { s, sent: 0, tag: `bfc${i}-${Date.now()}`, plan: [], frames, batches: 0, lastSentAt: 0, endAt: 0 };
      s.socket.on('end', () => (c.endAt = Date.now()));
      s.socket.on('close', () => (c.endAt ||= Date.now()));
      clients.push(c);
    }
    const loops = clients.map(async (c) => {
      while (!stop && !c.s.closed) {
        // the next 12 commands of one mixed pipeline, so every reply stays checkable
        const from = c.plan.length;
        c.plan = mixedPipeline(c.tag, from + 12);
        c.s.write(joinBytes(c.plan.slice(from)));
        c.lastSentAt = Date.now();
        c.sent = c.plan.length;
        c.batches++;
        try {
          await c.s.waitFrames(c.sent, 5000);
        } catch {
          return; // closed (judged below)
        }
        if (c.frames.some((f) => f[0] === 0x2d)) return; // an error: the fault has struck
      }
    });
    await sleep(700); // traffic is flowing
    await redis.kill();
    await sleep(1500);
    stop = true;
    await Promise.all(loops);
    const silent: string[] = [];
    const problems: string[] = [];
    let errors = 0;
    let crossed = 0;
    for (const [i, c] of clients.entries()) {
      const v = verify(c.plan.slice(0, c.frames.length), c.frames);
      problems.push(...v.problems.filter((p) => p !== '').map((p) => `client ${i}: ${p}`));
      errors += v.proxyErrors;
      if (c.frames.length < c.sent) {
        const gap = c.endAt - c.lastSentAt;
        if (c.s.closed && gap < CROSSING_MS) crossed++;
        else silent.push(`client ${i}: its last ${c.sent - c.frames.length} commands got no reply; the proxy's FIN came ${gap} ms after they were written`);
      }
      c.s.destroy();
    }
    await redis.restart();
    console.log(
      `# continuous traffic: ${clients.reduce((a, c) => a + c.sent, 0)} commands, ${errors} proxy errors at the kill, ` +
        `${silent.length} clients with received commands unanswered, ${crossed} batches that crossed the proxy's close`,
    );
    assert.deepEqual(problems, [], 'every reply is right or a proxy error');
    assert.deepEqual(silent, [], 'commands the proxy had received before it closed the connection got replies (errors), never a silent close');
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

  test('each of their commands gets an error naming the cause: never a silent close', async () => {
    const ROUNDS = 60;
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

      /** Runs `probe` on a kept client until Redis answers it (proxy errors meanwhile); returns its frames. */
      const ask = async (c: RawClient, bytes: string, n: number): Promise<string[] | null> => {
        for (let i = 0; i < 20 && !c.closedYet; i++) {
          c.write(bytes);
          const got = (await c.readFrames(n, 3000).catch(() => null))?.map((f) => f.toString());
          if (got === null || got === undefined) return null;
          if (!got.some((g) => g.startsWith('-ERR RedisProxy:'))) return got;
          await sleep(200);
        }
        return null;
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

  test('in-flight commands fail with a backend-timeout error within ~1 s, clients are disconnected', async () => {
    // the pause (300 ms) is shorter than the timeout: only the freeze makes Redis go silent
    let o: Outcome;
    try {
      o = await pipelinesThrough(proxy.port, 300, async () => redis.freeze(), 3000);
    } finally {
      redis.thaw();
    }
    checkOutcome(o, /^ERR RedisProxy: Redis did not answer within 500 ms \(--backend-timeout\)$/, true);
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
    ({ proxy, admin } = await startAdminProxy(redis.port));
  });
  after(async () => {
    await ensureRedis();
    await proxy?.stop();
  });

  test('in-flight commands get errors, clients are disconnected, new clients work and the cache serves again', async () => {
    // A graceful stop (SIGTERM) ends the pause and lets Redis answer what it can before it
    // exits: how much of the pipelines ran is up to Redis, but each reply is still right or an error.
    const o = await pipelinesThrough(proxy.port, 10_000, () => redis.restart(), 10_000);
    checkOutcome(o, /^ERR RedisProxy: .*(connection to Redis (lost|closed)|unreachable)/, false);
    await untilWorks(proxy.port, 'a new client works after the restart', 5000);
    // the invalidation link came back by itself: GETs are cached again
    await linkUp(admin);
    const c = await RawClient.connect(proxy.port);
    c.write(cmd('SET', 'bf:cached', 'yes'));
    await c.readFrame();
    const before = (await proxyStats(admin)).cache.hits;
    await eventually(
      'GETs are served from the cache again after the restart',
      async () => {
        c.write(cmd('GET', 'bf:cached'));
        assert.equal((await c.readFrame()).toString(), '$3\r\nyes\r\n');
        return (await proxyStats(admin)).cache.hits > before;
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
