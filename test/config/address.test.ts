// --addr on its own: one address exactly as before, and comma-separated seed nodes for Redis Cluster.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { parseAddress, parseSeeds } from '../../src/config/address.js';
import { ConfigError } from '../../src/config/errors.js';
import { loadConfig } from '../../src/config/load.js';
import { redactedConfig } from '../../src/config/redact.js';

function problem(text: string): string {
  try {
    parseSeeds(text);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `ConfigError, got ${String(e)}`);
    return e.message;
  }
  assert.fail(`${JSON.stringify(text)} was accepted`);
}

describe('one address', () => {
  for (const text of ['localhost', '10.0.0.5:6380', '[::1]:6381', '::1', 'redis://alice:s3cret@cache:6390/2', 'rediss://u:p@cache']) {
    it(`${text} is a list of one, the same as parseAddress gives`, () => {
      assert.deepEqual(parseSeeds(text), [parseAddress(text)]);
    });
  }

  it('keeps a comma inside a password as part of the password', () => {
    const [a, ...rest] = parseSeeds('redis://u:a,b@cache:7000');
    assert.equal(rest.length, 0);
    assert.equal(a!.password, 'a,b');
    assert.equal(a!.host, 'cache');
  });

  it('parseAddress refuses a list: it is for exactly one address', () => {
    assert.throws(() => parseAddress('h1:7000,h2:7001'), /^Error: "h1:7000,h2:7001" names 2 addresses, not one$/);
  });
});

describe('several seed nodes', () => {
  it('reads host:port seeds in the order written', () => {
    const seeds = parseSeeds('h1:7000,h2:7001,[::1]:7002,h4');
    assert.deepEqual(
      seeds.map((s) => [s.host, s.port, s.tls, s.db, s.display]),
      [
        ['h1', 7000, false, 0, 'h1:7000'],
        ['h2', 7001, false, 0, 'h2:7001'],
        ['::1', 7002, false, 0, '[::1]:7002'],
        ['h4', 6379, false, 0, 'h4:6379'],
      ],
    );
  });

  it('applies the scheme, credentials and database written once to every seed', () => {
    const seeds = parseSeeds('rediss://alice:p%40ss@h1:7000,h2:7001,h3/3');
    assert.deepEqual(
      seeds.map((s) => [s.host, s.port, s.tls, s.username, s.password, s.db]),
      [
        ['h1', 7000, true, 'alice', 'p@ss', 3],
        ['h2', 7001, true, 'alice', 'p@ss', 3],
        ['h3', 6379, true, 'alice', 'p@ss', 3],
      ],
    );
    assert.equal(seeds[1]!.display, 'rediss://alice@h2:7001/3');
  });

  it('takes a password-only URL as in the brief: redis://:pw@h1:7000,h2:7001', () => {
    const seeds = parseSeeds('redis://:pw@h1:7000,h2:7001');
    assert.deepEqual(seeds.map((s) => [s.host, s.port, s.username, s.password]), [['h1', 7000, null, 'pw'], ['h2', 7001, null, 'pw']]);
  });

  it('gives the Config addr as the first seed and seeds as all of them', () => {
    const c = loadConfig(['--addr', 'redis://:pw@h1:7000,h2:7001'], {});
    assert.deepEqual(c.addr, c.seeds[0]);
    assert.deepEqual(c.seeds.map((s) => s.host), ['h1', 'h2']);
    assert.deepEqual(loadConfig(['--addr', 'h1:7000'], {}).seeds, [loadConfig(['--addr', 'h1:7000'], {}).addr]);
  });

  it('hides every seed password when the config is redacted', () => {
    const r = redactedConfig(loadConfig(['--addr', 'redis://u:hunter2@h1:7000,h2:7001'], {}));
    assert.deepEqual(r.seeds.map((s) => s.password), ['***', '***']);
    assert.ok(!JSON.stringify(r).includes('hunter2'));
  });

  const bad: [string, string][] = [
    ['h1:7000,', '"h1:7000,": empty address in the list'],
    [',h1', '",h1": empty address in the list'],
    ['redis://h1,,h2', '"redis://h1,,h2": empty address in the list'],
    ['h1:7000,h2:x', '"h1:7000,h2:x": "x" is not a port number (1-65535)'],
    ['redis://:pw@h1:7000,h2:0', '"redis://:***@h1:7000,h2:0": "0" is not a port number (1-65535)'],
    ['h1:7000,h1:7000', '"h1:7000,h1:7000": h1:7000 is named twice'],
    ['h1,h1:6379', '"h1,h1:6379": h1:6379 is named twice'],
    ['h1:7000,redis://h2:7001', '"h1:7000,redis://h2:7001": write the scheme once, before the first address'],
    ['h1,redis://u:hunter2@h2', '"h1,redis://u:***@h2": write the scheme once, before the first address'],
    ['redis://h1,rediss://h2', '"redis://h1,rediss://h2": write the scheme once, before the first address'],
  ];
  for (const [text, message] of bad) {
    it(`refuses ${text}`, () => assert.equal(problem(text), message));
  }

  it('names the flag or variable in the loader error, like any other value', () => {
    assert.throws(() => loadConfig(['--addr', 'a:1,a:1'], {}), /^Error: --addr: "a:1,a:1": a:1 is named twice$/);
    assert.throws(() => loadConfig([], { REDISPROXY_ADDR: 'a:1,' }), /^Error: REDISPROXY_ADDR: "a:1,": empty address in the list$/);
  });
});
