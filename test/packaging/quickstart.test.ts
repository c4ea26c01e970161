import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT, getFreePort, redisCli, startRedis } from '../helpers/index.js';
import { eventually } from '../helpers/index.js';

// ./scripts/quickstart.sh installs once and starts fast after: in a copy of the
// repository that was installed and built before, it runs neither npm ci nor the build;
// a changed source rebuilds, a changed lock file installs again.

interface Run {
  out: () => string;
  stop: () => Promise<void>;
}

function quickstart(dir: string, args: string[]): Run {
  const child = spawn('bash', ['scripts/quickstart.sh', ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((r) => child.on('close', () => r()));
  return {
    out: () => out,
    stop: async () => {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        return;
      }
      await exited;
    },
  };
}

test('quickstart installs once and builds only what changed', { timeout: 110_000 }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'redisproxy-quickstart-'));
  const redis = await startRedis();
  try {
    // a clone where quickstart ran before: dependencies (hard links) and dist/ in place, built after
    // every source and folder (a folder's time changes when a file is added or removed)
    for (const f of ['package.json', 'package-lock.json', 'tsconfig.json', 'src', 'dist']) cpSync(path.join(REPO_ROOT, f), path.join(dir, f), { recursive: true });
    mkdirSync(path.join(dir, 'scripts'));
    cpSync(path.join(REPO_ROOT, 'scripts', 'quickstart.sh'), path.join(dir, 'scripts', 'quickstart.sh'));
    assert.equal(spawnSync('cp', ['-al', path.join(REPO_ROOT, 'node_modules'), path.join(dir, 'node_modules')]).status, 0);
    const at = (rel: string, secondsAgo: number) => {
      const t = new Date(Date.now() - secondsAgo * 1000);
      utimesSync(path.join(dir, rel), t, t);
    };
    at('package-lock.json', 300);
    at('node_modules/.package-lock.json', 200); // installed after the lock file was written
    at('tsconfig.json', 300);
    for (const f of spawnSync('find', ['src'], { cwd: dir, encoding: 'utf8' }).stdout.split('\n').filter(Boolean)) at(f, 300);
    at('dist/cli.js', 100); // built after the sources

    const args = async () => ['--addr', `127.0.0.1:${redis.port}`, '--port', String(await getFreePort())];
    const started = async (a: string[], what: string, ms: number) => {
      const port = Number(a[3]);
      const run = quickstart(dir, a);
      try {
        await eventually(what, async () => (await redisCli(port, ['PING'])) === 'PONG\n', ms, 100);
      } catch (e) {
        throw new Error(`${(e as Error).message}\noutput:\n${run.out()}`);
      } finally {
        await run.stop();
      }
      return run.out();
    };

    const t0 = Date.now();
    const fast = await started(await args(), 'a second start answers at once', 15_000);
    assert.doesNotMatch(fast, /quickstart: installing dependencies|quickstart: building/, 'nothing installed or built again');
    assert.ok(Date.now() - t0 < 15_000);

    at('src/cli.ts', 0); // a source changed
    const rebuilt = await started(await args(), 'a changed source is built, then the proxy answers', 60_000);
    assert.match(rebuilt, /quickstart: building dist\//);
    assert.doesNotMatch(rebuilt, /installing dependencies/);

    at('package-lock.json', 0); // the lock file changed: install again (stopped once it starts)
    const run = quickstart(dir, await args());
    try {
      await eventually('a changed lock file installs again', () => /quickstart: installing dependencies \(npm ci\)/.test(run.out()), 15_000, 100);
    } finally {
      await run.stop();
    }
  } finally {
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
