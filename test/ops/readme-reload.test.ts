import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT, getFreePort, startRedis } from '../helpers/index.js';
import { eventually } from '../helpers/index.js';

// The README's config-file and SIGHUP example, run by bash as written (no job control,
// no terminal), in a scratch directory. Only its two port numbers are moved to free
// ports, and Redis is given by REDISPROXY_ADDR (a variable wins over the file, and the
// example's file names no Redis). The ports must differ from the tour's proxy, which is
// still running when a reader gets to this example.

const README = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');

function example(): string {
  const i = README.indexOf('Finally, change a setting without a restart.');
  assert.ok(i > 0, 'the README has the reload example');
  const m = /```sh\n([\s\S]*?)```/.exec(README.slice(i));
  assert.ok(m, 'the example is a sh block');
  return m[1]!;
}

test('the README reload example uses ports other than the tour\'s, and no job control', () => {
  const script = example();
  const tourPorts = ['9999', '9100'];
  const ports = [...script.matchAll(/\b(?:port: |localhost:)(\d+)/g)].map((m) => m[1]!);
  assert.ok(ports.length >= 2);
  for (const p of ports) assert.ok(!tourPorts.includes(p), `port ${p} is not one the tour's proxy holds`);
  assert.doesNotMatch(script, /%\d/, 'no job specs: they need an interactive shell');
});

test('the README reload example works as written: the edited ttl is reloaded on SIGHUP', { timeout: 60_000 }, async () => {
  const script = example();
  const port = String(await getFreePort());
  const admin = String(await getFreePort());
  const runnable = script.replaceAll('9998', port).replaceAll('9101', admin);
  const redis = await startRedis();
  const dir = mkdtempSync(path.join(tmpdir(), 'redisproxy-readme-'));
  symlinkSync(path.join(REPO_ROOT, 'dist'), path.join(dir, 'dist'));
  const env: Record<string, string> = { ...(process.env as Record<string, string>), REDISPROXY_ADDR: `127.0.0.1:${redis.port}` };
  // the example's last line stops the proxy; run it whole, then check what it logged
  const sh = spawn('bash', ['-e', '-c', runnable], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  sh.stdout.on('data', (d: Buffer) => (out += d.toString()));
  sh.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<number | null>((r) => sh.on('close', (code) => r(code)));
  try {
    assert.equal(await done, 0, `the example ran to its end; output:\n${out}`);
    await eventually(`the reload is logged; output:\n${out}`, () => /configuration reloaded: ttl changed/.test(out), 10_000);
    assert.match(out, /"to":5|to=5|ttl.*5/);
    await eventually(`the last line stops the proxy; output:\n${out}`, () => /stopped/.test(out), 15_000);
  } finally {
    try {
      process.kill(-sh.pid!, 'SIGKILL'); // anything the example left behind
    } catch {
      // already gone
    }
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
