#!/usr/bin/env node
// Test runner behind `npm test` (which builds first).
// Finds every *.test.ts under test/ (recursively, sorted) and runs them with node's test runner.
//
//   npm test                      all test files
//   npm test -- cache resp        only files whose path contains "cache" or "resp"
//   npm test -- --test-name-pattern=ttl cache
//                                 arguments starting with "-" go to `node --test` unchanged

import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const testDir = join(root, 'test');

/** @returns {string[]} paths relative to the repo root, with forward slashes */
function findTests(dir) {
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...findTests(full));
    else if (entry.isFile() && entry.name.endsWith('.test.ts')) found.push(relative(root, full).split(sep).join('/'));
  }
  return found;
}

// The integration suites start real redis-server processes: say so plainly when it is missing.
for (const tool of ['redis-server', 'redis-cli']) {
  const found = (process.env.PATH ?? '').split(':').some((d) => {
    try {
      return statSync(join(d, tool)).isFile();
    } catch {
      return false;
    }
  });
  if (!found) {
    console.error(`run-tests: ${tool} is not installed; install it with: sudo apt-get install -y redis-server redis-tools (or run ./scripts/quickstart.sh or .ci/run once)`);
    process.exit(1);
  }
}

const args = process.argv.slice(2);
const nodeOptions = args.filter((a) => a.startsWith('-'));
const filters = args.filter((a) => !a.startsWith('-'));

const all = findTests(testDir).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
const files = filters.length === 0 ? all : all.filter((f) => filters.some((s) => f.includes(s)));

if (files.length === 0) {
  console.error(
    filters.length === 0
      ? 'run-tests: no *.test.ts files under test/'
      : `run-tests: no test file matches ${filters.map((f) => JSON.stringify(f)).join(' or ')}`,
  );
  process.exit(1);
}

// test/packaging/ installs packages and builds the image's stages in scratch directories:
// a minute or two on a busy machine, so those files run after the others, with a longer limit.
const SLOW_DIR = 'test/packaging/';
const runs = [
  { files: files.filter((f) => !f.startsWith(SLOW_DIR)), timeoutMs: 120_000 },
  { files: files.filter((f) => f.startsWith(SLOW_DIR)), timeoutMs: 600_000 },
].filter((r) => r.files.length > 0);

let child = null;
// Ctrl-C reaches the child through the terminal's process group: only outlive it to report its status.
// A SIGTERM sent to this process alone is passed on.
let stopped = false;
process.on('SIGINT', () => {
  stopped = true;
});
process.on('SIGTERM', () => {
  stopped = true;
  child?.kill('SIGTERM');
});

function runNode(run) {
  const nodeArgs = [
    '--import', 'tsx',
    '--test', '--test-concurrency=2', `--test-timeout=${run.timeoutMs}`,
    ...nodeOptions,
    ...run.files,
  ];
  return new Promise((resolve) => {
    child = spawn(process.execPath, nodeArgs, { cwd: root, stdio: 'inherit' });
    child.on('error', (err) => {
      console.error(`run-tests: could not start node: ${err.message}`);
      resolve(1);
    });
    child.on('exit', (code, signal) => {
      if (signal) console.error(`run-tests: test run ended by ${signal}`);
      resolve(code ?? 1);
    });
  });
}

let status = 0;
for (const run of runs) {
  if (stopped) break;
  const code = await runNode(run);
  if (code !== 0) status = code;
}
process.exit(stopped && status === 0 ? 1 : status);
