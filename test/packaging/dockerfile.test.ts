import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT, getFreePort, redisCli, sleep, startRedis } from '../helpers/index.js';
import { eventually } from '../helpers/index.js';
import { buildStages, contextFiles, parseDockerfile } from './dockerfile-runner.js';

// No container runtime where this project is developed, so the image is checked by
// doing what `docker build` and `docker run` would do with this Dockerfile: every
// stage's COPY and RUN in a scratch directory (the same `npm ci --omit=dev`, the same
// build), then the image's CMD with the image's ENV, against a real Redis. The image
// itself is built where Docker runs (see the README, "Docker").

const DOCKERFILE = readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');

/** the test process's environment, less what `npm test` adds (an image has none of it) */
function hostEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^npm_/i.test(k) && k !== 'NODE_ENV') env[k] = v;
  // the same commands; the npm cache on this machine answers what it can
  env.npm_config_prefer_offline = 'true';
  env.npm_config_audit = 'false';
  env.npm_config_fund = 'false';
  return env;
}

test('the Dockerfile is a multi-stage build on official slim Node 20 that runs production dependencies as non-root', () => {
  const stages = parseDockerfile(DOCKERFILE);
  assert.ok(stages.length >= 2, 'a build stage and a run stage');
  for (const s of stages) assert.match(s.from, /^node:20(\.\d+)*-(bookworm-|bullseye-)?slim$/, `${s.from} is an official slim Node 20 image`);
  const final = stages[stages.length - 1]!;
  const runs = final.steps.filter((s) => s.op === 'RUN').map((s) => s.args);
  assert.ok(runs.some((r) => /\bnpm ci\b.*--omit=dev/.test(r)), 'the run stage installs production dependencies only');
  assert.ok(!runs.some((r) => /npm run build|tsc/.test(r)), 'the run stage does not compile');
  assert.ok(final.steps.some((s) => s.op === 'COPY' && s.args.startsWith('--from=')), 'dist/ comes from the build stage');
  const user = final.steps.filter((s) => s.op === 'USER').pop()?.args;
  assert.ok(user && user !== 'root' && user !== '0', `runs as ${user}, not root`);
  const health = final.steps.find((s) => s.op === 'HEALTHCHECK')?.args ?? '';
  assert.match(health, /\/readyz/);
  assert.doesNotMatch(health + runs.join('\n'), /\b(curl|wget)\b/, 'no curl or wget added for the health check');
  const files = contextFiles(REPO_ROOT);
  assert.ok(files.includes('src/cli.ts') && files.includes('package-lock.json'));
  assert.ok(!files.some((f) => /^(test|bench|dist|node_modules|\.git|deploy|docs)\//.test(f)), `the build context holds only what the build needs: ${files.filter((f) => !f.startsWith('src/')).join(', ')}`);
});

test('the Dockerfile\'s build and start steps, run as the image would run them, give a proxy that answers and drains on SIGTERM', { timeout: 600_000 }, async () => {
  const scratch = mkdtempSync(path.join(tmpdir(), 'redisproxy-image-'));
  const redis = await startRedis();
  try {
    const image = await buildStages(parseDockerfile(DOCKERFILE), REPO_ROOT, scratch, hostEnv());
    const app = path.join(image.root, image.workdir);
    assert.ok(existsSync(path.join(app, 'dist', 'cli.js')), 'dist/ is in the image');
    assert.ok(!existsSync(path.join(app, 'src')), 'sources are not in the image');
    assert.ok(existsSync(path.join(app, 'node_modules', 'prom-client')), 'production dependencies are');
    for (const dev of ['typescript', 'puppeteer-core', 'fast-check', 'tsx']) {
      assert.ok(!existsSync(path.join(app, 'node_modules', dev)), `${dev} (a dev dependency) is not`);
    }
    assert.equal(image.env.REDISPROXY_BIND, '0.0.0.0', 'listens on every interface inside the container');
    assert.deepEqual(image.exposed.sort(), [Number(image.env.REDISPROXY_PORT), Number(image.env.REDISPROXY_ADMIN_PORT)].sort(), 'EXPOSE names the proxy and admin ports');
    assert.deepEqual(image.cmd.slice(0, 1), ['node']);

    // `docker run -e REDISPROXY_ADDR=... ` with the ports moved to free ones on this machine
    const port = await getFreePort();
    const admin = await getFreePort();
    const env = {
      ...hostEnv(),
      ...image.env,
      REDISPROXY_ADDR: `127.0.0.1:${redis.port}`,
      REDISPROXY_PORT: String(port),
      REDISPROXY_ADMIN_PORT: String(admin),
    };
    const child = spawn(process.execPath, image.cmd.slice(1), { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      await eventually(`the proxy answers PING; output:\n${out}`, async () => (await redisCli(port, ['PING'])) === 'PONG\n', 15_000, 100);
      assert.equal(await redisCli(port, ['SET', 'image:k', 'v']), 'OK\n');
      assert.equal(await redisCli(port, ['GET', 'image:k']), 'v\n');
      assert.match(out, /^\{"level":/m, 'logs are JSON (REDISPROXY_LOG_FORMAT)');

      // the image's HEALTHCHECK command, in the image's environment
      assert.ok(image.healthcheck, 'a HEALTHCHECK in exec form');
      const health = async () =>
        new Promise<number | null>((resolve) => {
          const h = spawn(process.execPath, image.healthcheck!.slice(1), { cwd: app, env, stdio: 'ignore' });
          h.on('exit', (code) => resolve(code));
        });
      await eventually('the HEALTHCHECK passes once the proxy is ready', async () => (await health()) === 0, 10_000, 200);

      child.kill('SIGTERM');
      const code = await Promise.race([exited, sleep(15_000).then(() => 'timeout')]);
      assert.equal(code, 0, `SIGTERM drains and exits 0; output:\n${out}`);
      assert.match(out, /shutting down/);
      assert.notEqual(await health(), 0, 'the HEALTHCHECK fails once the proxy is gone');
    } finally {
      child.kill('SIGKILL');
    }
  } finally {
    await redis.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
});
