import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, startProxy, RawClient, cmd } from '../helpers/index.js';

// A supported set-up starts without warnings: warn is for what an operator must act on.

test('a password-protected Redis named with its password in --addr starts without a warning', async () => {
  const redis = await startRedis({ args: ['--requirepass', 's3cret'] });
  const proxy = await startProxy({ redisPort: redis.port, addr: `redis://:s3cret@127.0.0.1:${redis.port}`, args: ['--log-format', 'json'] });
  try {
    await proxy.waitForOutput('invalidation link up', 10_000);
    // a client's AUTH and GET, so the shared connections and an own connection all ran
    const c = await RawClient.connect(proxy.port);
    c.write(cmd('AUTH', 's3cret') + cmd('GET', 'k'));
    assert.deepEqual((await c.readFrames(2)).map(String), ['+OK\r\n', '$-1\r\n']);
    c.destroy();
    await new Promise((r) => setTimeout(r, 1500)); // (a probe tick and more)
    const warnings = proxy.output().split('\n').filter((l) => /"level":(40|50|60)/.test(l));
    assert.deepEqual(warnings, [], 'no warn, error or fatal lines');
  } finally {
    await proxy.stop();
    await redis.stop();
  }
});
