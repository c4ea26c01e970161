// --sentinel and its companions: parsing, the combinations refused, and the password never shown.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { ConfigError } from '../../src/config/errors.js';
import { loadConfig } from '../../src/config/load.js';
import { redactedConfig } from '../../src/config/redact.js';

function refused(argv: string[], message: string, env: NodeJS.ProcessEnv = {}): void {
  assert.throws(
    () => loadConfig(argv, env),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
      assert.equal(err.message, message);
      return true;
    },
  );
}

describe('--sentinel', () => {
  it('reads host[:port] lists, 26379 by default, IPv6 in brackets', () => {
    const c = loadConfig(['--sentinel', 's1,s2:26380,[::1]:5000', '--sentinel-master', 'mymaster'], {});
    assert.deepEqual(c.sentinels, [
      { host: 's1', port: 26379 },
      { host: 's2', port: 26380 },
      { host: '::1', port: 5000 },
    ]);
    assert.equal(c.sentinelMaster, 'mymaster');
    assert.equal(c.sentinelTls, false);
  });

  it('is off by default, and its companions need it', () => {
    assert.deepEqual(loadConfig([], {}).sentinels, []);
    refused(['--sentinel-master', 'm'], '--sentinel-master: needs --sentinel');
    refused(['--sentinel-password', 'pw'], '--sentinel-password: needs --sentinel');
    refused(['--sentinel-tls'], '--sentinel-tls: needs --sentinel');
  });

  it('refuses what it cannot follow, in one line', () => {
    refused(['--sentinel', 's1'], '--sentinel: needs --sentinel-master <name>');
    refused(['--sentinel', 's1:0', '--sentinel-master', 'm'], '--sentinel: "s1:0" is not host[:port] of each sentinel, separated by commas (port 26379 when not given)');
    refused(['--sentinel', 's1,s1:26379', '--sentinel-master', 'm'], '--sentinel: "s1,s1:26379": s1:26379 is named twice');
    refused(['--sentinel', 's1', '--sentinel-master', 'm', '--addr', 'a:1,b:2'], "--addr: with --sentinel it gives only the data nodes' credentials, database and TLS: name one address, not several");
    refused(['--sentinel', 's1', '--sentinel-master', 'm', '--spawn-redis'], '--spawn-redis: cannot be used with --sentinel (the sentinels say where Redis is)');
    refused(['--sentinel', 's1', '--sentinel-master', 'm', '--sentinel-ca', 'package.json'], '--sentinel-ca: needs --sentinel-tls');
    refused(['--sentinel', 's1', '--sentinel-master', 'm', '--sentinel-tls', '--sentinel-cert', 'package.json'], '--sentinel-cert and --sentinel-key: give both or neither');
  });

  it('reads the environment like every flag, and hides the sentinel password', () => {
    const c = loadConfig([], {
      REDISPROXY_SENTINEL: '127.0.0.1:1',
      REDISPROXY_SENTINEL_MASTER: 'm',
      REDISPROXY_SENTINEL_USERNAME: 'watcher',
      REDISPROXY_SENTINEL_PASSWORD: 'sentinel-secret',
      REDISPROXY_SENTINEL_TLS: 'yes',
      REDISPROXY_ADDR: 'redis://app:node-secret@ignored:1/3',
    });
    assert.equal(c.sentinelUsername, 'watcher');
    assert.equal(c.sentinelPassword, 'sentinel-secret');
    assert.equal(c.sentinelTls, true);
    assert.equal(c.addr.password, 'node-secret');
    const shown = JSON.stringify(redactedConfig(c));
    assert.ok(!shown.includes('sentinel-secret') && !shown.includes('node-secret'), shown);
    assert.equal(redactedConfig(c).sentinelPassword, '***');
  });
});
