import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { CLI_PATH, REPO_ROOT, getFreePort, redisCli, sleep, startRedis } from '../helpers/index.js';
import { eventually } from '../helpers/index.js';

// `npm pack`, then the tarball installed globally into an empty prefix, as an operator
// would install it: `redisproxy --version` and a proxied PING must work, and the
// tarball must hold what runs the proxy and its docs, nothing from development.

const run = promisify(execFile);
const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string; name: string };

/** without what `npm test` sets for its own scripts */
function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^npm_/i.test(k)) env[k] = v;
  env.npm_config_prefer_offline = 'true';
  env.npm_config_audit = 'false';
  env.npm_config_fund = 'false';
  return env;
}

test('npm pack gives a package that installs into an empty prefix and runs', { timeout: 110_000 }, async () => {
  assert.ok(existsSync(CLI_PATH), 'dist/ is built (npm test builds it first)');
  const work = mkdtempSync(path.join(tmpdir(), 'redisproxy-pack-'));
  const redis = await startRedis();
  try {
    // --ignore-scripts: "prepare" would compile dist/ again under the other tests' feet; npm test just built it
    await run('npm', ['pack', '--ignore-scripts', '--pack-destination', work], { cwd: REPO_ROOT, env: cleanEnv() });
    const tarball = path.join(work, `${pkg.name}-${pkg.version}.tgz`);
    assert.ok(existsSync(tarball), `${path.basename(tarball)} was written`);

    const { stdout: listing } = await run('tar', ['-tzf', tarball]);
    const files = listing.split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));
    for (const f of ['package.json', 'README.md', 'dist/cli.js', 'dist/proxy.js', 'dist/http/status-page.js', 'docs/operations.md', 'docs/contract.md']) {
      assert.ok(files.includes(f), `the package holds ${f}`);
    }
    const unwanted = files.filter((f) => /^(src|test|bench|scripts|deploy|\.ci|\.tmp|node_modules)\/|\.map$|\.ts$|^tsconfig|\.test\.|results|\.tgz$/.test(f));
    assert.deepEqual(unwanted, [], 'no sources, tests, bench results, source maps or build files');
    // every README link into the repository resolves inside the package, so it reads whole on the registry
    const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    for (const m of readme.matchAll(/\]\((docs\/[^)#]+)/g)) {
      if (existsSync(path.join(REPO_ROOT, m[1]!))) assert.ok(files.includes(m[1]!), `README link ${m[1]} is in the package`);
    }

    const prefix = path.join(work, 'prefix');
    await run('npm', ['install', '--global', '--prefix', prefix, tarball], { env: cleanEnv(), timeout: 90_000 });
    const bin = path.join(prefix, 'bin', 'redisproxy');
    const installed = readdirSync(path.join(prefix, 'lib', 'node_modules', pkg.name, 'node_modules'));
    assert.ok(installed.includes('prom-client'), 'dependencies are installed with it');
    assert.ok(!installed.includes('typescript') && !installed.includes('puppeteer-core'), 'dev dependencies are not');

    const { stdout: version } = await run(bin, ['--version'], { env: cleanEnv() });
    assert.equal(version.trim(), pkg.version);

    const port = await getFreePort();
    const child = spawn(bin, ['--addr', `127.0.0.1:${redis.port}`, '--port', String(port)], { cwd: work, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      await eventually(`the installed proxy answers PING; output:\n${out}`, async () => (await redisCli(port, ['PING'])) === 'PONG\n', 15_000, 100);
      assert.equal(await redisCli(port, ['SET', 'pack:k', 'v']), 'OK\n');
      assert.equal(await redisCli(port, ['GET', 'pack:k']), 'v\n');
      child.kill('SIGTERM');
      assert.equal(await Promise.race([exited, sleep(15_000).then(() => 'timeout')]), 0, 'SIGTERM ends it with status 0');
    } finally {
      child.kill('SIGKILL');
    }
  } finally {
    await redis.stop();
    rmSync(work, { recursive: true, force: true });
  }
});
