import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { diffConfig } from '../../src/config/diff.js';
import { ConfigError, ConfigExit } from '../../src/config/errors.js';
import { FILE_KEYS, FLAGS } from '../../src/config/flags.js';
import { loadConfig } from '../../src/config/load.js';
import { CLI_PATH } from '../helpers/index.js';

// --config files: precedence (flag > env > file > default), validation, --print-config.

let dir = '';
before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'redisproxy-config-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

function configError(argv: string[], env: NodeJS.ProcessEnv = {}): string {
  try {
    loadConfig(argv, env);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `ConfigError, got ${String(e)}`);
    assert.ok(!e.message.includes('\n'), `one line: ${JSON.stringify(e.message)}`);
    return e.message;
  }
  assert.fail(`${argv.join(' ')} was accepted`);
}

function run(args: string[], env: Record<string, string> = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const clean: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('REDISPROXY_')) clean[k] = v;
    const child = spawn(process.execPath, [CLI_PATH, ...args], { env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

describe('precedence', () => {
  test('the file beats defaults, the environment beats the file, a flag beats both', () => {
    const f = file('p.yaml', 'ttl: 60\ncapacity: 500\nadmin-port: 9100\nlog-level: warn\n');
    const fromFile = loadConfig(['--config', f], {});
    assert.equal(fromFile.ttl, 60);
    assert.equal(fromFile.capacity, 500);
    assert.equal(fromFile.adminPort, 9100);
    assert.equal(fromFile.logLevel, 'warn');
    assert.equal(fromFile.port, 9999, 'what the file leaves out keeps its default');
    assert.equal(fromFile.configFile, f);

    const env = { REDISPROXY_TTL: '30', REDISPROXY_CAPACITY: '400' };
    const fromEnv = loadConfig(['--config', f], env);
    assert.equal(fromEnv.ttl, 30);
    assert.equal(fromEnv.capacity, 400);
    assert.equal(fromEnv.adminPort, 9100);

    const fromFlag = loadConfig(['--config', f, '--ttl', '5'], env);
    assert.equal(fromFlag.ttl, 5);
    assert.equal(fromFlag.capacity, 400);
  });

  test('REDISPROXY_CONFIG names the file too', () => {
    const f = file('env.yaml', 'capacity: 7\n');
    assert.equal(loadConfig([], { REDISPROXY_CONFIG: f }).capacity, 7);
  });

  test('JSON by extension or by content; booleans, numbers and sizes as YAML or JSON values', () => {
    const json = file('c.json', '{ "capacity": 3, "spawn-redis": true, "max-memory": "64mb", "http-get": "yes" }');
    const a = loadConfig(['--config', json], {});
    assert.equal(a.capacity, 3);
    assert.equal(a.spawnRedis, true);
    assert.equal(a.maxMemory, 64 * 1024 * 1024);
    assert.equal(a.httpGet, true);
    const sniffed = file('settings.conf', '{"ttl": 1.5}');
    assert.equal(loadConfig(['--config', sniffed], {}).ttl, 1.5);
    const yaml = file('c.yml', 'admin-port: off\noutput-limit-normal: 1mb 512k 10\naddr: redis://u:pw@cache:6390/2\n');
    const b = loadConfig(['--config', yaml], {});
    assert.equal(b.adminPort, null);
    assert.deepEqual(b.outputLimitNormal, { hardBytes: 1024 * 1024, softBytes: 512 * 1000, softSeconds: 10 });
    assert.equal(b.addr.password, 'pw');
  });

  test('an empty file sets nothing', () => {
    assert.deepEqual(loadConfig(['--config', file('empty.yaml', '')], {}), { ...loadConfig([], {}), configFile: path.join(dir, 'empty.yaml') });
  });

  test("relative file paths in the file are taken from the file's directory", () => {
    file('cert.pem', 'x');
    file('key.pem', 'x');
    const f = file('tls.yaml', 'tls-cert: cert.pem\ntls-key: key.pem\n');
    const c = loadConfig(['--config', f], {});
    assert.equal(c.tlsCert, path.join(dir, 'cert.pem'));
    assert.equal(c.tlsKey, path.join(dir, 'key.pem'));
  });

  test('every flag but --config itself may be written in the file', () => {
    assert.deepEqual(FILE_KEYS, FLAGS.map((f) => f.name).filter((n) => n !== 'config'));
  });
});

describe('validation: one line naming the file and the key', () => {
  const cases: [string, string, string | RegExp][] = [
    ['bad-value.yaml', 'ttl: -5\n', 'bad-value.yaml: ttl: "-5" is not a number of seconds > 0'],
    ['bad-port.yaml', 'admin-port: 70000\n', 'bad-port.yaml: admin-port: "70000" is not a port number (1-65535) or "off"'],
    ['typo.yaml', 'tll: 5\n', 'typo.yaml: tll: unknown key (did you mean "ttl"?)'],
    ['camel.yaml', 'adminPort: 9100\n', 'camel.yaml: adminPort: unknown key (did you mean "admin-port"?)'],
    ['unknown.yaml', 'colour: blue\n', 'unknown.yaml: colour: unknown key'],
    ['self.yaml', 'config: other.yaml\n', 'self.yaml: config: unknown key'],
    ['null.yaml', 'ttl:\n', 'null.yaml: ttl: missing value'],
    ['list.yaml', 'capacity: [1, 2]\n', 'capacity: expected a single value (text, number or true/false), not a list'],
    ['top.yaml', '- ttl\n', 'top.yaml: expected a map of settings (e.g. "ttl: 60"), not a list'],
    ['broken.yaml', 'ttl: [1\n', /broken\.yaml: not valid YAML: .*line 2/],
    ['dup.yaml', 'ttl: 1\nttl: 2\n', /dup\.yaml: not valid YAML: Map keys must be unique/],
    ['broken.json', '{"ttl": 5,}', /broken\.json: not valid JSON: /],
  ];
  for (const [name, text, expected] of cases) {
    test(`${name}: ${String(expected)}`, () => {
      const f = file(name, text);
      const message = configError(['--config', f]);
      if (typeof expected === 'string') assert.ok(message.endsWith(expected), `${message} ends with ${expected}`);
      else assert.match(message, expected);
      assert.ok(message.startsWith(f), `${message} names the file`);
    });
  }

  test('a missing file', () => {
    assert.equal(configError(['--config', path.join(dir, 'nope.yaml')]), `${path.join(dir, 'nope.yaml')}: cannot read the config file (ENOENT)`);
  });

  test('a bad value in the file does not matter when a flag overrides it', () => {
    const f = file('overridden.yaml', 'ttl: -5\n');
    assert.equal(loadConfig(['--config', f, '--ttl', '9'], {}).ttl, 9);
  });

  test('the cli exits 2 with that one line on stderr', async () => {
    const f = file('cli-bad.yaml', 'capacity: lots\n');
    const r = await run(['--config', f]);
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `redisproxy: ${f}: capacity: "lots" is not a whole number of keys >= 0 (0 turns the cache off)\n`);
  });
});

describe('--print-config', () => {
  test('prints the resulting configuration as JSON, password hidden, and exits 0', async () => {
    const f = file('print.yaml', 'addr: redis://alice:s3cret-pw@cache.example:6390/4\nttl: 60\n');
    const r = await run(['--config', f, '--capacity', '42', '--print-config'], { REDISPROXY_TTL: '45' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.ok(!r.stdout.includes('s3cret-pw'), 'the password never appears');
    const printed = JSON.parse(r.stdout) as Record<string, unknown> & { addr: Record<string, unknown> };
    assert.equal(printed.addr.password, '***');
    assert.equal(printed.addr.username, 'alice');
    assert.equal(printed.addr.db, 4);
    assert.equal(printed.ttl, 45, 'env over file');
    assert.equal(printed.capacity, 42, 'flag over env');
    assert.equal(printed.configFile, f);
  });

  test('a bad value still fails with exit 2', async () => {
    const r = await run(['--ttl', 'x', '--print-config']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^redisproxy: --ttl: /);
  });

  test('is a ConfigExit for the caller, like --help', () => {
    assert.throws(() => loadConfig(['--print-config'], {}), (e: unknown) => e instanceof ConfigExit && e.kind === 'print-config');
  });
});

describe('diffConfig', () => {
  test('sorts changes into live ones and ones that need a restart', () => {
    const a = loadConfig([], {});
    const b = loadConfig(['--ttl', '5', '--capacity', '10', '--max-clients', '3', '--port', '7000', '--coherence', 'ttl', '--tls-ca', ''], {});
    assert.deepEqual(diffConfig(a, b), { live: ['ttl', 'capacity', 'max-clients'], restart: ['port', 'coherence'] });
  });

  test('turning the cache on or off needs a restart', () => {
    const on = loadConfig([], {});
    const off = loadConfig(['--capacity', '0'], {});
    assert.deepEqual(diffConfig(on, off), { live: [], restart: ['capacity'] });
  });
});
