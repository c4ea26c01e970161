// SYNC and PSYNC through the proxy (issue 13, part 1): from SYNC/PSYNC on the session is a byte
// relay, so the client receives what a direct connection receives: PSYNC's +FULLRESYNC line, the
// bare "\n" keep-alives Redis sends while it prepares the RDB, "$<len>\r\n" and the RDB (no
// trailing CRLF), then the replication stream with every later write, in order.
//
// Each scenario is run against Redis directly too: the direct run proves the scenario itself
// (keep-alives really happen, the writes really appear), the proxy run must look the same.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  cmd,
  escapeBytes,
  RawClient,
  REDIS_CLI,
  redisCli,
  sleep,
  splitFrames,
  startProxy,
  startRedis,
  type ProxyProcess,
  type RedisServer,
} from '../helpers/index.js';

const T = { timeout: 30_000 };
/** ENDS_AGAINST=redis points the "proxy" side at Redis itself, to check the scenarios */
const AGAINST = process.env.ENDS_AGAINST ?? 'proxy';

let dir: string;
let redis: RedisServer;
let proxy: ProxyProcess;
let proxyPort: number;
const open: RawClient[] = [];

before(async () => {
  // a disk-based full sync writes dump.rdb into Redis's working directory: keep it out of the repo
  dir = mkdtempSync(path.join(os.tmpdir(), 'redisproxy-repl-'));
  redis = await startRedis({ args: ['--dir', dir, '--repl-diskless-sync-delay', '0', '--enable-debug-command', 'yes'] });
  proxy = await startProxy({ redisPort: redis.port });
  proxyPort = AGAINST === 'redis' ? redis.port : proxy.port;
  // keys for slowSave() to be slow on
  assert.equal(await redis.cli('DEBUG', 'POPULATE', '10', 'filler'), 'OK\n');
});

after(async () => {
  for (const c of open) c.destroy();
  await proxy?.stop();
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function connect(port: number): Promise<RawClient> {
  const c = await RawClient.connect(port);
  open.push(c);
  return c;
}

/** Reads (without consuming anything itself) until `done(all bytes so far)` or the deadline. */
async function readUntil(c: RawClient, done: (b: Buffer) => boolean, timeoutMs: number, what: string): Promise<Buffer> {
  const deadline = Date.now() + timeoutMs;
  let got = Buffer.alloc(0);
  for (;;) {
    got = Buffer.concat([got, await c.readBytes(Math.max(1, Math.min(200, deadline - Date.now())), 20)]);
    if (done(got)) return got;
    if (c.closedYet) assert.fail(`${what}: connection closed; received "${escapeBytes(got)}"`);
    if (Date.now() >= deadline) assert.fail(`${what}: not within ${timeoutMs} ms; received "${escapeBytes(got)}"`);
  }
}

interface FullSync {
  /** the +FULLRESYNC line (PSYNC) or '' (SYNC) */
  header: string;
  /** how many bare "\n" keep-alives came before the payload */
  keepAlives: number;
  rdb: Buffer;
  /** bytes after the RDB received so far: the start of the replication stream */
  rest: Buffer;
}

/** Parses what a replica receives up to the end of the RDB payload, or returns null if incomplete. */
function parseFullSync(b: Buffer, psync: boolean): FullSync | null {
  let pos = 0;
  let header = '';
  if (psync) {
    const eol = b.indexOf('\r\n');
    if (eol < 0) return null;
    header = b.toString('latin1', 0, eol + 2);
    pos = eol + 2;
  }
  let keepAlives = 0;
  while (pos < b.length && b[pos] === 0x0a) {
    keepAlives++;
    pos++;
  }
  if (pos >= b.length) return null;
  assert.equal(String.fromCharCode(b[pos]), '$', `payload must start with $; received "${escapeBytes(b)}"`);
  const eol = b.indexOf('\r\n', pos);
  if (eol < 0) return null;
  const len = Number(b.toString('latin1', pos + 1, eol));
  assert.ok(Number.isInteger(len) && len > 0, `bad payload length in "${escapeBytes(b.subarray(pos, eol))}"`);
  if (b.length < eol + 2 + len) return null;
  return { header, keepAlives, rdb: b.subarray(eol + 2, eol + 2 + len), rest: b.subarray(eol + 2 + len) };
}

/** The commands in a replication stream, as arrays of strings, without the master's PINGs and SELECTs. */
function streamCommands(stream: Buffer): string[][] {
  const { frames } = splitFrames(stream);
  return frames
    .map((f) => {
      const { frames: parts } = splitFrames(f.subarray(f.indexOf('\r\n') + 2));
      return parts.map((p) => p.toString('latin1', p.indexOf('\r\n') + 2, p.length - 2));
    })
    .filter((a) => !['ping', 'select'].includes(a[0].toLowerCase()));
}

/**
 * SYNC or PSYNC ? -1 on `port`, with a slow RDB save so that Redis sends keep-alives first, then
 * writes made directly on Redis; returns what the "replica" saw.
 */
async function fullSync(port: number, psync: boolean, tag: string): Promise<{ sync: FullSync; commands: string[][] }> {
  const c = await connect(port);
  c.write(psync ? cmd('PSYNC', '?', '-1') : cmd('SYNC'));
  const sync = parseFullSync(
    await readUntil(c, (b) => parseFullSync(b, psync) !== null, 15_000, `${psync ? 'PSYNC' : 'SYNC'} full sync ${port === redis.port ? 'directly' : 'through the proxy'}`),
    psync,
  )!;
  const w = await connect(redis.port);
  w.write(cmd('SET', `${tag}:a`, '1') + cmd('SET', `${tag}:b`, '2') + cmd('DEL', `${tag}:a`));
  assert.deepEqual((await w.readFrames(3)).map(String), ['+OK\r\n', '+OK\r\n', ':1\r\n']);
  const want = [
    ['SET', `${tag}:a`, '1'],
    ['SET', `${tag}:b`, '2'],
    ['DEL', `${tag}:a`],
  ];
  let stream = sync.rest;
  const enough = (b: Buffer) => streamCommands(b).filter((a) => a[1]?.startsWith(`${tag}:`)).length >= want.length;
  if (!enough(stream)) stream = Buffer.concat([stream, await readUntil(c, (b) => enough(Buffer.concat([stream, b])), 5000, 'replication stream')]);
  c.destroy();
  w.destroy();
  return { sync, commands: streamCommands(stream).filter((a) => a[1]?.startsWith(`${tag}:`)) };
}

async function slowSave(on: boolean): Promise<void> {
  // ~1.5 s of BGSAVE (10 keys x 150 ms): Redis sends a "\n" keep-alive every second meanwhile
  await redis.cli('CONFIG', 'SET', 'rdb-key-save-delay', on ? '150000' : '0');
}

for (const psync of [true, false]) {
  const name = psync ? 'PSYNC ? -1' : 'SYNC';
  test(`${name} through the proxy: same header, keep-alives, RDB and then every later write in order, as direct`, T, async () => {
    await slowSave(true);
    try {
      const direct = await fullSync(redis.port, psync, `${psync ? 'p' : 's'}direct`);
      const proxied = await fullSync(proxyPort, psync, `${psync ? 'p' : 's'}proxy`);
      for (const [side, r] of [
        ['direct', direct],
        ['proxy', proxied],
      ] as const) {
        if (psync) assert.match(r.sync.header, /^\+FULLRESYNC [0-9a-f]{40} \d+\r\n$/, `${side}: header`);
        else assert.equal(r.sync.header, '');
        assert.ok(r.sync.keepAlives >= 1, `${side}: expected keep-alive "\\n" bytes before the RDB, got ${r.sync.keepAlives}`);
        assert.equal(r.sync.rdb.toString('latin1', 0, 9), 'REDIS0010', `${side}: RDB header`);
      }
      const strip = (cmds: string[][], tag: string) => cmds.map((a) => a.map((s) => s.replace(tag, 'T')));
      assert.deepEqual(strip(proxied.commands, `${psync ? 'p' : 's'}proxy`), strip(direct.commands, `${psync ? 'p' : 's'}direct`));
      assert.deepEqual(strip(proxied.commands, `${psync ? 'p' : 's'}proxy`), [
        ['SET', 'T:a', '1'],
        ['SET', 'T:b', '2'],
        ['DEL', 'T:a'],
      ]);
    } finally {
      await slowSave(false);
    }
  });
}

test('PSYNC through the proxy: the relayed stream does not stop the proxy serving other clients and their GETs stay coherent', T, async () => {
  const replica = await connect(proxyPort);
  replica.write(cmd('PSYNC', '?', '-1'));
  await readUntil(replica, (b) => parseFullSync(b, true) !== null, 15_000, 'PSYNC full sync');
  const c = await connect(proxyPort);
  c.write(cmd('SET', 'coh:k', 'one') + cmd('GET', 'coh:k') + cmd('GET', 'coh:k'));
  assert.deepEqual((await c.readFrames(3)).map(String), ['+OK\r\n', '$3\r\none\r\n', '$3\r\none\r\n']);
  // a write made directly: the GET through the proxy must see it (the stream the replica relays is not the cache's business)
  assert.equal(await redis.cli('SET', 'coh:k', 'two'), 'OK\n');
  let v = '';
  for (let i = 0; i < 50 && v !== '$3\r\ntwo\r\n'; i++) {
    await sleep(20);
    c.write(cmd('GET', 'coh:k'));
    v = String(await c.readFrame());
  }
  assert.equal(v, '$3\r\ntwo\r\n');
  const stream = await readUntil(replica, (b) => streamCommands(b).some((a) => a[1] === 'coh:k' && a[2] === 'two'), 5000, 'stream with SET coh:k two');
  assert.deepEqual(
    streamCommands(stream).filter((a) => a[1] === 'coh:k'),
    [
      ['SET', 'coh:k', 'one'],
      ['SET', 'coh:k', 'two'],
    ],
  );
});

test('redis-cli --rdb through the proxy writes an RDB file, as it does directly', T, async () => {
  for (const [side, port] of [
    ['direct', redis.port],
    ['proxy', proxyPort],
  ] as const) {
    const file = path.join(dir, `${side}.rdb`);
    // redis-cli reports on stderr; redisCli() rejects when it exits with an error
    await redisCli(port, ['--rdb', file], { timeoutMs: 15_000 });
    const data = readFileSync(file);
    assert.equal(data.toString('latin1', 0, 5), 'REDIS', `${side}: file starts with "${escapeBytes(data.subarray(0, 16))}"`);
  }
});

test('redis-cli --replica through the proxy: full sync, then the writes made directly, as it does directly', T, async () => {
  for (const [side, port] of [
    ['direct', redis.port],
    ['proxy', proxyPort],
  ] as const) {
    const child = spawn(REDIS_CLI, ['-h', '127.0.0.1', '-p', String(port), '--replica'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('latin1')));
    child.stderr.on('data', (d: Buffer) => (out += d.toString('latin1')));
    try {
      const wait = async (re: RegExp, what: string) => {
        for (let i = 0; i < 300 && !re.test(out); i++) await sleep(20);
        assert.match(out, re, `${side}: ${what}; redis-cli printed: ${JSON.stringify(out)}`);
      };
      await wait(/SYNC done/, 'the full sync did not finish');
      assert.equal(await redis.cli('SET', `rr:${side}`, '1'), 'OK\n');
      assert.equal(await redis.cli('DEL', `rr:${side}`), '1\n');
      await wait(new RegExp(`"set","rr:${side}","1"[\\s\\S]*"del","rr:${side}"`, 'i'), 'the writes did not appear in order (master pings may come between)');
    } finally {
      child.kill('SIGKILL');
    }
  }
});
