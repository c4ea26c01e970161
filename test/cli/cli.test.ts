// Runs the built CLI (dist/cli.js, made by `npm run build`) as a child process.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const builtCli = join(root, 'dist', 'cli.js');
const pkgVersion = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;

const ALL_FLAGS = [
  '--addr', '--port', '--bind', '--ttl', '--capacity', '--coherence', '--log-level',
  '--admin-port', '--admin-bind', '--spawn-redis', '--help', '--version',
];

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** The environment of this test run without any REDISPROXY_* variable, plus `extra`. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('REDISPROXY_')) env[k] = v;
  return { ...env, ...extra };
}

function run(args: string[], opts: { env?: Record<string, string>; cli?: string } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [opts.cli ?? builtCli, ...args], {
      env: cleanEnv(opts.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`cli ${args.join(' ')} did not exit within 20 s`));
    }, 20_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

function assertUsageError(r: Run, startsWith: string): void {
  assert.equal(r.status, 2, `exit status 2 (stderr: ${r.stderr})`);
  assert.equal(r.stdout, '', 'nothing on stdout');
  assert.ok(r.stderr.endsWith('\n'), 'stderr ends with a newline');
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `exactly one line on stderr: ${JSON.stringify(r.stderr)}`);
  assert.ok(lines[0]!.startsWith(`redisproxy: ${startsWith}`), `stderr ${JSON.stringify(lines[0])} starts with "redisproxy: ${startsWith}"`);
}

before(() => {
  assert.ok(existsSync(builtCli), `${builtCli} is missing: run "npm run build" first`);
});

describe('cli: help and version', () => {
  for (const flag of ['--help', '-h']) {
    it(`${flag} exits 0 and lists every flag on stdout`, async () => {
      const r = await run([flag]);
      assert.equal(r.status, 0);
      assert.equal(r.stderr, '');
      assert.match(r.stdout, /^Usage: redisproxy/);
      for (const f of ALL_FLAGS) assert.match(r.stdout, new RegExp(`${f}\\b`), `help lists ${f}`);
      assert.match(r.stdout.replace(/\s+/g, ' '), /--coherence ttl is weaker/);
    });
  }

  for (const flag of ['--version', '-v']) {
    it(`${flag} prints the package.json version and exits 0`, async () => {
      const r = await run([flag]);
      assert.equal(r.status, 0);
      assert.equal(r.stderr, '');
      assert.equal(r.stdout, `${pkgVersion}\n`);
    });
  }

  it('--help wins over a bad value given with it', async () => {
    const r = await run(['--port', 'abc', '--help']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^Usage: redisproxy/);
  });
});

describe('cli: a bad flag exits 2 with one line on stderr naming the flag', () => {
  const cases: [string[], string][] = [
    [['--port', 'abc'], '--port: "abc" is not a port number (1-65535)'],
    [['--port=0'], '--port: "0"'],
    [['--port', '65536'], '--port: "65536"'],
    [['--port'], '--port: missing value'],
    [['--ttl', '-5'], '--ttl: "-5" is not a number of seconds > 0'],
    [['--ttl=0'], '--ttl: "0"'],
    [['--capacity', '-1'], '--capacity: "-1"'],
    [['--capacity', '2.5'], '--capacity: "2.5"'],
    [['--coherence', 'sometimes'], '--coherence: "sometimes" is not a coherence mode'],
    [['--log-level', 'chatty'], '--log-level: "chatty" is not a log level'],
    [['--admin-port', 'x'], '--admin-port: "x"'],
    [['--addr', 'http://localhost'], '--addr: "http://localhost": unsupported scheme'],
    [['--addr', 'localhost:notaport'], '--addr: "localhost:notaport"'],
    [['--addr', '[::1'], '--addr: "[::1"'],
    [['--frobnicate'], '--frobnicate: unknown option'],
    [['--prot=1'], '--prot=1: unknown option'],
    [['--spawn-redis=yes'], '--spawn-redis: takes no value'],
    [['extra'], 'unexpected argument "extra"'],
    // values Redis itself refuses (CONFIG SET): every request would fail
    [['--query-buffer-limit', '0'], '--query-buffer-limit: "0" is below 1mb'],
    [['--proto-max-bulk-len', '1'], '--proto-max-bulk-len: "1" is below 1mb'],
    [['--port', '7700', '--admin-port', '7700'], "--admin-port: 7700 is already the proxy's own --port"],
  ];
  for (const [args, expected] of cases) {
    it(`${args.join(' ')} -> exit 2, "${expected}"`, async () => {
      assertUsageError(await run(args), expected);
    });
  }
});

describe('cli: a bad environment variable exits 2 naming the variable', () => {
  const cases: [Record<string, string>, string][] = [
    [{ REDISPROXY_PORT: 'abc' }, 'REDISPROXY_PORT: "abc" is not a port number (1-65535)'],
    [{ REDISPROXY_TTL: '-1' }, 'REDISPROXY_TTL: "-1"'],
    [{ REDISPROXY_SPAWN_REDIS: 'perhaps' }, 'REDISPROXY_SPAWN_REDIS: "perhaps" is not a boolean'],
    [{ REDISPROXY_ADDR: 'redis://host/x' }, 'REDISPROXY_ADDR: "redis://host/x"'],
  ];
  for (const [env, expected] of cases) {
    it(`${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')} -> exit 2, "${expected}"`, async () => {
      assertUsageError(await run([], { env }), expected);
    });
  }
});

// The start-up path, against a stand-in proxy.js next to a copy of the built cli and config,
// so it does not depend on (or touch) the real proxy module.
describe('cli: handing over to startProxy', () => {
  let dir = '';
  const fakeCli = () => join(dir, 'dist', 'cli.js');

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'redisproxy-cli-test-'));
    mkdirSync(join(dir, 'dist'));
    // the cli and the modules it loads before proxy.js
    copyFileSync(join(root, 'dist', 'cli.js'), join(dir, 'dist', 'cli.js'));
    cpSync(join(root, 'dist', 'config'), join(dir, 'dist', 'config'), { recursive: true });
    copyFileSync(join(root, 'package.json'), join(dir, 'package.json'));
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
    writeFileSync(
      join(dir, 'dist', 'proxy.js'),
      `export async function startProxy(config) {
        const mode = process.env.FAKE_PROXY_MODE;
        if (mode === 'reject') throw new Error('listen EADDRINUSE: address already in use 127.0.0.1:' + config.port + '\\n    at somewhere');
        if (mode === 'aggregate') throw new AggregateError([Object.assign(new Error('connect ECONNREFUSED ::1:6379'), { code: 'ECONNREFUSED' }), Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' })]);
        process.stdout.write(JSON.stringify(config) + '\\n');
        return { close: async () => {} };
      }\n`,
    );
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('passes the parsed config to startProxy, flags beating (even bad) env values', async () => {
    const r = await run(['--port=7001', '--addr', 'redis://u:pw@db.example:6390/3', '--spawn-redis'], {
      cli: fakeCli(),
      env: { REDISPROXY_TTL: '12.5', REDISPROXY_PORT: 'abc' },
    });
    assert.equal(r.status, 0, r.stderr);
    const config = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(config.port, 7001);
    assert.equal(config.ttl, 12.5);
    assert.equal(config.spawnRedis, true);
    assert.deepEqual(config.addr, {
      host: 'db.example', port: 6390, tls: false, username: 'u', password: 'pw', db: 3, display: 'u@db.example:6390/3',
    });
  });

  it('exits 1 with one line on stderr when startProxy rejects', async () => {
    const r = await run([], { cli: fakeCli(), env: { FAKE_PROXY_MODE: 'reject' } });
    assert.equal(r.status, 1);
    assert.equal(r.stderr, 'redisproxy: listen EADDRINUSE: address already in use 127.0.0.1:9999 at somewhere\n');
  });

  it('spells out an AggregateError with an empty message', async () => {
    const r = await run([], { cli: fakeCli(), env: { FAKE_PROXY_MODE: 'aggregate' } });
    assert.equal(r.status, 1);
    assert.equal(r.stderr, 'redisproxy: connect ECONNREFUSED ::1:6379; connect ECONNREFUSED 127.0.0.1:6379\n');
  });

  it('exits 1 with one line when proxy.js cannot be loaded', async () => {
    writeFileSync(join(dir, 'dist', 'broken-cli.js'), readFileSync(fakeCli(), 'utf8').replace("'./proxy.js'", "'./no-such-proxy.js'"));
    const r = await run([], { cli: join(dir, 'dist', 'broken-cli.js') });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^redisproxy: Cannot find module .*no-such-proxy\.js/);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1);
  });
});
