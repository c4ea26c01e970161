import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { parseAddress } from '../../src/config/address.js';
import type { Config } from '../../src/config/config.js';
import { ConfigError, ConfigExit } from '../../src/config/errors.js';
import { FLAGS, envName } from '../../src/config/flags.js';
import { loadConfig } from '../../src/config/load.js';
import { redactedConfig } from '../../src/config/redact.js';

const pkgVersion = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;

function load(argv: string[], env: NodeJS.ProcessEnv = {}): Config {
  return loadConfig(argv, env);
}

/** Asserts loadConfig throws ConfigError with exactly `message` (always one line). */
function assertConfigError(argv: string[], env: NodeJS.ProcessEnv, message: string | RegExp): void {
  assert.throws(
    () => loadConfig(argv, env),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
      assert.ok(!err.message.includes('\n'), `message is one line: ${JSON.stringify(err.message)}`);
      if (typeof message === 'string') assert.equal(err.message, message);
      else assert.match(err.message, message);
      return true;
    },
  );
}

describe('loadConfig defaults', () => {
  it('gives the documented defaults with no flags and an empty environment', () => {
    assert.deepEqual(load([]), {
      addr: { host: 'localhost', port: 6379, tls: false, username: null, password: null, db: 0, display: 'localhost:6379' },
      seeds: [{ host: 'localhost', port: 6379, tls: false, username: null, password: null, db: 0, display: 'localhost:6379' }],
      port: 9999,
      bind: '127.0.0.1',
      ttl: 7200,
      capacity: 1000,
      coherence: 'tracking',
      logLevel: 'info',
      adminPort: null,
      adminBind: '127.0.0.1',
      spawnRedis: false,
      maxMemory: 0,
      maxClients: 10000,
      sharedConnections: 2,
      maxUserPools: 16,
      clusterAnnounce: null,
      idleTimeout: 0,
      backendTimeout: 0,
      shutdownGrace: 10,
      outputLimitNormal: { hardBytes: 0, softBytes: 0, softSeconds: 0 },
      outputLimitPubsub: { hardBytes: 32 * 1024 * 1024, softBytes: 8 * 1024 * 1024, softSeconds: 60 },
      queryBufferLimit: 1024 ** 3,
      protoMaxBulkLen: 512 * 1024 * 1024,
      tlsCert: null,
      tlsKey: null,
      tlsCa: null,
      redisCa: null,
      redisCert: null,
      redisKey: null,
      configFile: null,
      httpGet: false,
      logFormat: 'auto',
      sentinels: [],
      sentinelMaster: null,
      sentinelUsername: null,
      sentinelPassword: null,
      sentinelTls: false,
      sentinelCa: null,
      sentinelCert: null,
      sentinelKey: null,
    } satisfies Config);
  });

  it('reads sizes the way Redis writes them, and limits as "<hard> <soft> <seconds>"', () => {
    const c = load(['--max-memory', '64mb', '--output-limit-pubsub', '1gb 256k 5', '--query-buffer-limit=4mb']);
    assert.equal(c.maxMemory, 64 * 1024 * 1024);
    assert.deepEqual(c.outputLimitPubsub, { hardBytes: 1024 ** 3, softBytes: 256 * 1000, softSeconds: 5 });
    assert.equal(c.queryBufferLimit, 4 * 1024 * 1024);
    assert.throws(() => load(['--max-memory', 'lots']), /^Error: --max-memory: "lots" is not a size/);
    assert.throws(() => load(['--output-limit-normal', '1mb']), /--output-limit-normal: "1mb" is not "<hard> <soft> <seconds>"/);
    assert.throws(() => load(['--max-clients', '0']), /--max-clients: "0" is not a whole number >= 1/);
    assert.throws(() => load(['--backend-timeout', '-1']), /--backend-timeout: "-1" is not a number of seconds/);
  });

  it('checks TLS files exist and come in pairs', () => {
    assert.throws(() => load(['--tls-cert', '/nonexistent.pem']), /--tls-cert: "\/nonexistent.pem": no such file/);
    assert.throws(() => load(['--tls-cert', 'package.json']), /--tls-cert and --tls-key: give both or neither/);
    assert.throws(() => load(['--redis-key', 'package.json']), /--redis-cert and --redis-key: give both or neither/);
  });

  it('ignores environment variables that are not REDISPROXY_*', () => {
    assert.deepEqual(load([], { PORT: '1', TTL: '3', REDIS_URL: 'redis://x:1' }), load([]));
  });

  it('treats an empty REDISPROXY_* variable as unset', () => {
    assert.equal(load([], { REDISPROXY_PORT: '' }).port, 9999);
  });
});

describe('loadConfig flags', () => {
  it('accepts --flag value and --flag=value alike', () => {
    const a = load(['--port', '7000', '--ttl', '1.5', '--capacity', '0', '--coherence', 'ttl', '--log-level', 'debug']);
    const b = load(['--port=7000', '--ttl=1.5', '--capacity=0', '--coherence=ttl', '--log-level=debug']);
    assert.deepEqual(a, b);
    assert.equal(a.port, 7000);
    assert.equal(a.ttl, 1.5);
    assert.equal(a.capacity, 0);
    assert.equal(a.coherence, 'ttl');
    assert.equal(a.logLevel, 'debug');
  });

  it('accepts fractional ttl below one second', () => {
    assert.equal(load(['--ttl', '0.25']).ttl, 0.25);
    assert.equal(load(['--ttl', '.5']).ttl, 0.5);
  });

  it('sets bind, admin port and admin bind', () => {
    const c = load(['--bind', '0.0.0.0', '--admin-port', '9100', '--admin-bind', '::']);
    assert.equal(c.bind, '0.0.0.0');
    assert.equal(c.adminPort, 9100);
    assert.equal(c.adminBind, '::');
  });

  it('refuses an admin port equal to --port unless both binds are different addresses', () => {
    const same = "--admin-port: 7700 is already the proxy's own --port";
    // a host name may be the other's address (localhost is 127.0.0.1)
    assertConfigError(['--port', '7700', '--admin-port', '7700', '--admin-bind', 'localhost'], {}, same);
    assertConfigError(['--port', '7700', '--bind', 'localhost', '--admin-port', '7700', '--admin-bind', '127.0.0.1'], {}, same);
    assertConfigError(['--port', '7700', '--bind', '0.0.0.0', '--admin-port', '7700', '--admin-bind', '127.0.0.2'], {}, same);
    const apart = load(['--port', '7700', '--admin-port', '7700', '--admin-bind', '127.0.0.2']);
    assert.equal(apart.adminPort, 7700);
    assert.equal(apart.adminBind, '127.0.0.2');
  });

  it('turns the admin listener off with --admin-port off', () => {
    assert.equal(load(['--admin-port', 'off'], { REDISPROXY_ADMIN_PORT: '9100' }).adminPort, null);
  });

  it('turns --spawn-redis on as a bare flag and off with --no-spawn-redis', () => {
    assert.equal(load(['--spawn-redis']).spawnRedis, true);
    assert.equal(load(['--spawn-redis', '--no-spawn-redis']).spawnRedis, false);
  });

  it('lets the last of a repeated flag win', () => {
    assert.equal(load(['--port', '1000', '--port', '2000']).port, 2000);
  });

  it('accepts case variations of enumerated values', () => {
    assert.equal(load(['--coherence', 'TTL']).coherence, 'ttl');
    assert.equal(load(['--log-level', 'Warn']).logLevel, 'warn');
  });
});

describe('address forms', () => {
  const cases: [string, Partial<Config['addr']>][] = [
    ['localhost', { host: 'localhost', port: 6379, tls: false, display: 'localhost:6379' }],
    ['redis.internal', { host: 'redis.internal', port: 6379, display: 'redis.internal:6379' }],
    ['10.0.0.5:6380', { host: '10.0.0.5', port: 6380, display: '10.0.0.5:6380' }],
    ['[::1]:6381', { host: '::1', port: 6381, display: '[::1]:6381' }],
    ['[::1]', { host: '::1', port: 6379 }],
    ['::1', { host: '::1', port: 6379 }],
    ['redis://cache:6390', { host: 'cache', port: 6390, tls: false, username: null, password: null, db: 0 }],
    ['redis://cache', { host: 'cache', port: 6379 }],
    ['redis://cache:6390/4', { db: 4, display: 'cache:6390/4' }],
    ['redis://cache:6390/', { db: 0 }],
    ['redis://alice:s3cret@cache:6390/2', { username: 'alice', password: 's3cret', db: 2, display: 'alice@cache:6390/2' }],
    ['redis://:onlypass@cache', { username: null, password: 'onlypass' }],
    ['redis://al%40ice:p%3Aw%2Fd%25@cache', { username: 'al@ice', password: 'p:w/d%' }],
    ['redis://[::1]:7000', { host: '::1', port: 7000 }],
    ['REDIS://cache:1', { host: 'cache', port: 1, tls: false }],
    ['rediss://cache:6380', { host: 'cache', port: 6380, tls: true, display: 'rediss://cache:6380' }],
    ['rediss://u:p@cache', { tls: true, username: 'u', password: 'p', port: 6379 }],
  ];
  for (const [text, expected] of cases) {
    it(`parses --addr ${text}`, () => {
      const addr = load(['--addr', text]).addr;
      for (const [k, v] of Object.entries(expected)) {
        assert.deepEqual(addr[k as keyof typeof addr], v, `${k} of ${text}`);
      }
      assert.deepEqual(parseAddress(text), addr);
    });
  }

  it('never puts the password in the display form', () => {
    const addr = load(['--addr', 'redis://alice:hunter2@cache:6390']).addr;
    assert.ok(!addr.display.includes('hunter2'));
  });
});

describe('environment variables', () => {
  it('names each variable REDISPROXY_<FLAG> with dashes as underscores', () => {
    assert.equal(envName('admin-port'), 'REDISPROXY_ADMIN_PORT');
    assert.equal(envName('log-level'), 'REDISPROXY_LOG_LEVEL');
    assert.deepEqual(
      FLAGS.map((f) => envName(f.name)),
      [
        'REDISPROXY_ADDR', 'REDISPROXY_PORT', 'REDISPROXY_BIND', 'REDISPROXY_TTL', 'REDISPROXY_CAPACITY',
        'REDISPROXY_COHERENCE', 'REDISPROXY_LOG_LEVEL', 'REDISPROXY_ADMIN_PORT', 'REDISPROXY_ADMIN_BIND',
        'REDISPROXY_SPAWN_REDIS', 'REDISPROXY_MAX_MEMORY', 'REDISPROXY_MAX_CLIENTS', 'REDISPROXY_SHARED_CONNECTIONS', 'REDISPROXY_MAX_USER_POOLS', 'REDISPROXY_CLUSTER_ANNOUNCE', 'REDISPROXY_IDLE_TIMEOUT',
        'REDISPROXY_BACKEND_TIMEOUT', 'REDISPROXY_SHUTDOWN_GRACE', 'REDISPROXY_OUTPUT_LIMIT_NORMAL',
        'REDISPROXY_OUTPUT_LIMIT_PUBSUB', 'REDISPROXY_QUERY_BUFFER_LIMIT', 'REDISPROXY_PROTO_MAX_BULK_LEN',
        'REDISPROXY_TLS_CERT', 'REDISPROXY_TLS_KEY', 'REDISPROXY_TLS_CA', 'REDISPROXY_REDIS_CA', 'REDISPROXY_REDIS_CERT',
        'REDISPROXY_REDIS_KEY', 'REDISPROXY_CONFIG', 'REDISPROXY_HTTP_GET', 'REDISPROXY_LOG_FORMAT',
        'REDISPROXY_SENTINEL', 'REDISPROXY_SENTINEL_MASTER', 'REDISPROXY_SENTINEL_USERNAME', 'REDISPROXY_SENTINEL_PASSWORD',
        'REDISPROXY_SENTINEL_TLS', 'REDISPROXY_SENTINEL_CA', 'REDISPROXY_SENTINEL_CERT', 'REDISPROXY_SENTINEL_KEY',
      ],
    );
  });

  it('reads every flag from the environment', () => {
    const c = load([], {
      REDISPROXY_ADDR: 'rediss://u:p@envhost:6400/1',
      REDISPROXY_PORT: '7001',
      REDISPROXY_BIND: '0.0.0.0',
      REDISPROXY_TTL: '30',
      REDISPROXY_CAPACITY: '5',
      REDISPROXY_COHERENCE: 'ttl',
      REDISPROXY_LOG_LEVEL: 'silent',
      REDISPROXY_ADMIN_PORT: '9101',
      REDISPROXY_ADMIN_BIND: '::1',
      REDISPROXY_SPAWN_REDIS: 'yes',
    });
    assert.equal(c.addr.host, 'envhost');
    assert.equal(c.addr.port, 6400);
    assert.equal(c.addr.tls, true);
    assert.equal(c.addr.password, 'p');
    assert.equal(c.addr.db, 1);
    assert.equal(c.port, 7001);
    assert.equal(c.bind, '0.0.0.0');
    assert.equal(c.ttl, 30);
    assert.equal(c.capacity, 5);
    assert.equal(c.coherence, 'ttl');
    assert.equal(c.logLevel, 'silent');
    assert.equal(c.adminPort, 9101);
    assert.equal(c.adminBind, '::1');
    assert.equal(c.spawnRedis, true);
  });

  it('lets flags beat the environment', () => {
    const env = { REDISPROXY_PORT: '7001', REDISPROXY_TTL: '30', REDISPROXY_ADDR: 'envhost:1' };
    const c = load(['--port', '7002', '--addr=flaghost:2'], env);
    assert.equal(c.port, 7002);
    assert.equal(c.addr.host, 'flaghost');
    assert.equal(c.ttl, 30, 'variables without a flag still apply');
  });

  it('does not validate a variable that a flag overrides', () => {
    assert.equal(load(['--port', '7002'], { REDISPROXY_PORT: 'garbage' }).port, 7002);
  });

  it('lets --no-spawn-redis beat REDISPROXY_SPAWN_REDIS=1', () => {
    assert.equal(load(['--no-spawn-redis'], { REDISPROXY_SPAWN_REDIS: '1' }).spawnRedis, false);
  });

  for (const [text, value] of [
    ['1', true], ['0', false], ['true', true], ['false', false], ['yes', true], ['no', false], ['TRUE', true], ['No', false],
  ] as const) {
    it(`reads REDISPROXY_SPAWN_REDIS=${text} as ${value}`, () => {
      assert.equal(load([], { REDISPROXY_SPAWN_REDIS: text }).spawnRedis, value);
    });
  }
});

describe('bad values throw a one-line ConfigError naming the flag', () => {
  const cases: [string[], string | RegExp][] = [
    [['--port', 'abc'], '--port: "abc" is not a port number (1-65535)'],
    [['--port=abc'], '--port: "abc" is not a port number (1-65535)'],
    [['--port', '0'], '--port: "0" is not a port number (1-65535)'],
    [['--port', '65536'], '--port: "65536" is not a port number (1-65535)'],
    [['--port', '-1'], '--port: "-1" is not a port number (1-65535)'],
    [['--port', '80.5'], '--port: "80.5" is not a port number (1-65535)'],
    [['--port'], '--port: missing value'],
    [['--admin-port', '99999'], '--admin-port: "99999" is not a port number (1-65535) or "off"'],
    [['--ttl', '-5'], '--ttl: "-5" is not a number of seconds > 0'],
    [['--ttl=-5'], '--ttl: "-5" is not a number of seconds > 0'],
    [['--ttl', '0'], '--ttl: "0" is not a number of seconds > 0'],
    [['--ttl', 'abc'], '--ttl: "abc" is not a number of seconds > 0'],
    [['--ttl', '1e3'], '--ttl: "1e3" is not a number of seconds > 0'],
    [['--ttl', '99999999'], /^--ttl: "99999999" is too long \(at most 2147483 seconds/],
    [['--capacity', '-1'], '--capacity: "-1" is not a whole number of keys >= 0 (0 turns the cache off)'],
    [['--capacity', '1.5'], '--capacity: "1.5" is not a whole number of keys >= 0 (0 turns the cache off)'],
    [['--capacity', 'lots'], '--capacity: "lots" is not a whole number of keys >= 0 (0 turns the cache off)'],
    [['--coherence', 'weak'], '--coherence: "weak" is not a coherence mode (tracking or ttl)'],
    [['--log-level', 'loud'], '--log-level: "loud" is not a log level (fatal, error, warn, info, debug, trace, silent)'],
    [['--bind', ''], '--bind: "" is not an address to listen on'],
    [['--addr', ''], '--addr: empty address (expected host, host:port or redis://host:port)'],
    [['--addr', 'host:port'], '--addr: "host:port": "port" is not a port number (1-65535)'],
    [['--addr', 'host:'], '--addr: "host:": "" is not a port number (1-65535)'],
    [['--addr', 'host:70000'], '--addr: "host:70000": "70000" is not a port number (1-65535)'],
    [['--addr', 'http://host:80'], '--addr: "http://host:80": unsupported scheme "http://" (use redis:// or rediss://)'],
    [['--addr', 'redis://host/abc'], '--addr: "redis://host/abc": "abc" is not a database number'],
    [['--addr', 'redis://host?db=1'], '--addr: "redis://host?db=1": query strings and fragments are not supported'],
    [['--addr', 'redis://:6379'], '--addr: "redis://:6379" is not a valid redis:// URL'],
    [['--addr', 'redis://u:p%zz@host'], '--addr: "redis://u:***@host": bad percent-encoding in the password'],
    [['--addr', '[::1'], '--addr: "[::1" is not an address (expected [ipv6]:port)'],
    [['--addr', '[nothost]:1'], '--addr: "[nothost]:1": "nothost" is not an IPv6 address'],
    [['--addr', 'a:b:c'], '--addr: "a:b:c" is not an address (write IPv6 with a port as [addr]:port)'],
    [['--addr', 'my host'], '--addr: "my host" is not an address (contains white space)'],
    [['--bogus'], '--bogus: unknown option'],
    [['--bogus=1'], '--bogus=1: unknown option'],
    [['--prot', '1'], '--prot: unknown option (did you mean --port?)'],
    [['-x'], '-x: unknown option'],
    [['--spawn-redis=false'], '--spawn-redis: takes no value (write --spawn-redis or --no-spawn-redis)'],
    [['stray'], 'unexpected argument "stray" (options are written --name value or --name=value)'],
  ];
  for (const [argv, message] of cases) {
    it(`rejects ${argv.map((a) => JSON.stringify(a)).join(' ')}`, () => assertConfigError(argv, {}, message));
  }
});

describe('bad environment values throw a ConfigError naming the variable', () => {
  const cases: [NodeJS.ProcessEnv, string][] = [
    [{ REDISPROXY_PORT: 'abc' }, 'REDISPROXY_PORT: "abc" is not a port number (1-65535)'],
    [{ REDISPROXY_TTL: '-5' }, 'REDISPROXY_TTL: "-5" is not a number of seconds > 0'],
    [{ REDISPROXY_CAPACITY: '-1' }, 'REDISPROXY_CAPACITY: "-1" is not a whole number of keys >= 0 (0 turns the cache off)'],
    [{ REDISPROXY_COHERENCE: 'maybe' }, 'REDISPROXY_COHERENCE: "maybe" is not a coherence mode (tracking or ttl)'],
    [{ REDISPROXY_ADDR: 'ftp://x' }, 'REDISPROXY_ADDR: "ftp://x": unsupported scheme "ftp://" (use redis:// or rediss://)'],
    [{ REDISPROXY_ADMIN_PORT: '0' }, 'REDISPROXY_ADMIN_PORT: "0" is not a port number (1-65535) or "off"'],
    [{ REDISPROXY_LOG_LEVEL: 'verbose' }, 'REDISPROXY_LOG_LEVEL: "verbose" is not a log level (fatal, error, warn, info, debug, trace, silent)'],
    [{ REDISPROXY_SPAWN_REDIS: 'maybe' }, 'REDISPROXY_SPAWN_REDIS: "maybe" is not a boolean (1/0, true/false, yes/no)'],
  ];
  for (const [env, message] of cases) {
    it(`rejects ${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')}`, () => assertConfigError([], env, message));
  }
});

describe('--help and --version', () => {
  function exitOf(argv: string[]): ConfigExit {
    try {
      loadConfig(argv, {});
    } catch (err) {
      if (err instanceof ConfigExit) return err;
      throw err;
    }
    assert.fail(`${argv.join(' ')} did not throw ConfigExit`);
  }

  it('throws ConfigExit("help") whose text describes every flag and its variable', () => {
    for (const argv of [['--help'], ['-h'], ['--port', 'abc', '--help']]) {
      const e = exitOf(argv);
      assert.equal(e.kind, 'help');
      for (const f of FLAGS) {
        assert.match(e.output, new RegExp(`--${f.name}\\b`), `help mentions --${f.name}`);
        assert.ok(e.output.includes(envName(f.name)), `help mentions ${envName(f.name)}`);
      }
      assert.match(e.output, /--version/);
      assert.match(e.output, /--help/);
    }
  });

  it('says in the help that --coherence ttl is weaker and why', () => {
    const text = exitOf(['--help']).output.replace(/\s+/g, ' ');
    assert.match(text, /--coherence ttl is weaker/);
    assert.match(text, /made directly on Redis.*seen only after the ttl/);
  });

  it('throws ConfigExit("version") carrying the package.json version', () => {
    for (const argv of [['--version'], ['-v']]) {
      const e = exitOf(argv);
      assert.equal(e.kind, 'version');
      assert.equal(e.output.trim(), pkgVersion);
    }
  });
});

describe('redactedConfig', () => {
  it('replaces the password with *** and keeps everything else', () => {
    const c = load(['--addr', 'redis://alice:hunter2@cache:6390/2', '--port', '7000']);
    const r = redactedConfig(c);
    assert.equal(r.addr.password, '***');
    assert.equal(r.addr.username, 'alice');
    assert.equal(r.port, 7000);
    assert.ok(!JSON.stringify(r).includes('hunter2'));
    assert.equal(c.addr.password, 'hunter2', 'the original is not modified');
  });

  it('leaves a missing password as null', () => {
    assert.equal(redactedConfig(load([])).addr.password, null);
  });
});
