// Graceful shutdown (contract §4.3): on SIGTERM or SIGINT the proxy stops accepting, lets
// the commands in flight finish within --shutdown-grace, then exits 0; a second signal
// exits at once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { RawClient, cmd, getFreePort, sleep, startProxy, startRedis, withTimeout, type ProxyProcess, type RedisServer } from '../helpers/index.js';
import { alive, crashLines } from './fault-helpers.js';

let redis: RedisServer;

before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis?.stop();
});

async function refused(port: number): Promise<boolean> {
  try {
    const c = await RawClient.connect(port, '127.0.0.1', 1000);
    c.destroy();
    return false;
  } catch (e) {
    return /ECONNREFUSED/.test(String((e as Error).message ?? e)) || (e as { code?: string }).code === 'ECONNREFUSED';
  }
}

async function exitWithin(proxy: ProxyProcess, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
  const t0 = Date.now();
  const r = await withTimeout(proxy.exit, ms, 'proxy exit');
  return { ...r, ms: Date.now() - t0 };
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal} with a BLPOP 1 in flight: the BLPOP gets its reply, new connections are refused, exit 0 within the grace`, async () => {
    const proxy = await startProxy({ redisPort: redis.port, args: ['--shutdown-grace', '5'] });
    try {
      const blocked = await RawClient.connect(proxy.port);
      const idle = await RawClient.connect(proxy.port);
      idle.write(cmd('PING'));
      assert.equal((await idle.readFrame()).toString(), '+PONG\r\n');
      blocked.write(cmd('BLPOP', 'sig:nolist', '1'));
      await sleep(150); // the BLPOP has reached Redis
      const t0 = Date.now();
      process.kill(proxy.pid, signal);
      await sleep(150);
      assert.ok(await refused(proxy.port), 'a new connection is refused once the signal has arrived');
      assert.ok(alive(proxy.pid), 'still running while the BLPOP is in flight');

      const reply = await blocked.readFrame(3000);
      assert.equal(reply.toString(), '*-1\r\n', 'the BLPOP in flight got its own reply');
      const { code, ms } = await exitWithin(proxy, 5000);
      const total = Date.now() - t0;
      assert.equal(code, 0, `exit code 0 (output:\n${proxy.output()})`);
      assert.ok(total < 5000, `exited ${total} ms after the signal, within --shutdown-grace 5`);
      assert.ok(total >= 800, `waited for the BLPOP (${total} ms)`);
      await withTimeout(blocked.closed(), 2000, 'the blocked client is closed at exit');
      await withTimeout(idle.closed(), 2000, 'the idle client is closed at exit');
      assert.deepEqual(crashLines(proxy.output()), []);
      console.log(`# ${signal}: exited ${total} ms after the signal (${ms} ms after the BLPOP reply was awaited)`);
    } finally {
      await proxy.kill();
    }
  });
}

test('from SIGTERM on, /readyz answers 503 "shutting down" while in-flight commands finish', async () => {
  const admin = await getFreePort();
  const proxy = await startProxy({ redisPort: redis.port, args: ['--shutdown-grace', '5', '--admin-port', String(admin)] });
  try {
    const readyz = async () => {
      const r = await fetch(`http://127.0.0.1:${admin}/readyz`);
      return `${r.status} ${(await r.text()).trim()}`;
    };
    assert.equal(await readyz(), '200 ready');
    const blocked = await RawClient.connect(proxy.port);
    blocked.write(cmd('BLPOP', 'sig:readyz', '2'));
    await sleep(150);
    process.kill(proxy.pid, 'SIGTERM');
    await sleep(100);
    assert.equal(await readyz(), '503 not ready: shutting down', 'a load balancer is told to stop sending clients');
    assert.equal((await blocked.readFrame(4000)).toString(), '*-1\r\n');
    assert.equal((await exitWithin(proxy, 5000)).code, 0);
  } finally {
    await proxy.kill();
  }
});

test('a second SIGTERM exits at once, without waiting for the grace', async () => {
  const proxy = await startProxy({ redisPort: redis.port, args: ['--shutdown-grace', '10'] });
  try {
    const blocked = await RawClient.connect(proxy.port);
    blocked.write(cmd('BLPOP', 'sig:nolist', '10'));
    await sleep(150);
    process.kill(proxy.pid, 'SIGTERM');
    await sleep(300);
    assert.ok(alive(proxy.pid), 'the first SIGTERM waits for the BLPOP (grace 10 s)');
    process.kill(proxy.pid, 'SIGTERM');
    const { code, signal, ms } = await exitWithin(proxy, 1000);
    console.log(`# second SIGTERM: exited ${ms} ms later, code ${code}, signal ${signal}`);
    assert.equal(signal, null, 'the proxy exited by itself, not killed');
    await withTimeout(blocked.closed(), 2000, 'the blocked client is closed');
  } finally {
    await proxy.kill();
  }
});

test('when the grace runs out, the proxy exits 0 anyway (BLPOP 0 never finishes)', async () => {
  const proxy = await startProxy({ redisPort: redis.port, args: ['--shutdown-grace', '1'] });
  try {
    const blocked = await RawClient.connect(proxy.port);
    blocked.write(cmd('BLPOP', 'sig:nolist', '0'));
    await sleep(150);
    const t0 = Date.now();
    process.kill(proxy.pid, 'SIGTERM');
    const { code } = await exitWithin(proxy, 4000);
    const ms = Date.now() - t0;
    assert.equal(code, 0);
    assert.ok(ms >= 900 && ms < 3000, `exited ${ms} ms after SIGTERM with --shutdown-grace 1`);
    await withTimeout(blocked.closed(), 2000, 'the blocked client is closed');
  } finally {
    await proxy.kill();
  }
});

test('SIGTERM with nothing in flight exits 0 at once', async () => {
  const proxy = await startProxy({ redisPort: redis.port, args: ['--shutdown-grace', '10'] });
  try {
    const idle = await RawClient.connect(proxy.port);
    idle.write(cmd('SET', 'sig:k', 'v'));
    assert.equal((await idle.readFrame()).toString(), '+OK\r\n');
    process.kill(proxy.pid, 'SIGTERM');
    const { code, ms } = await exitWithin(proxy, 2000);
    assert.equal(code, 0);
    assert.ok(ms < 1000, `exited after ${ms} ms`);
    assert.equal(await redis.cli('GET', 'sig:k'), 'v\n', 'the write went through before the exit');
  } finally {
    await proxy.kill();
  }
});
