import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classifyReply, parseRedirect, ClusterReply } from '../../src/cluster/redirect.js';
import { startCluster, type RedisCluster } from '../helpers/cluster.js';
import { startRedis, RawClient, cmd, type RedisServer } from '../helpers/index.js';

// The replies are taken from a real cluster (and a cluster node that owns no slot), so that
// a change in Redis's wording would show here.

let cluster: RedisCluster;
let lonely: RedisServer;
const lonelyDir = mkdtempSync(join(tmpdir(), 'redisproxy-lonely-'));
before(async () => {
  [cluster, lonely] = await Promise.all([startCluster(), startRedis({ args: ['--cluster-enabled', 'yes', '--dir', lonelyDir] })]);
});
after(async () => {
  await cluster?.stop();
  await lonely?.stop();
  rmSync(lonelyDir, { recursive: true, force: true });
});

/** The raw reply frames of `commands` sent on one connection to `port`. */
async function raw(port: number, ...commands: string[][]): Promise<Buffer[]> {
  const c = await RawClient.connect(port);
  try {
    c.write(commands.map((a) => cmd(...a)).join(''));
    return await c.readFrames(commands.length);
  } finally {
    c.destroy();
  }
}

const kindOf = (b: Buffer) => classifyReply(b, 0, b.length);
const latin1 = (s: string) => Buffer.from(s, 'latin1');

test('MOVED from a real node: the slot and the owner\'s address', async () => {
  const slot = (await cluster.call(cluster.ports[0], 'CLUSTER', 'KEYSLOT', 'k')) as number;
  const owner = await cluster.ownerOf(slot);
  const other = (await cluster.nodes()).find((n) => n.role === 'master' && n.id !== owner.id)!;
  const [moved] = await raw(other.port, ['GET', 'k']);
  assert.equal(kindOf(moved), ClusterReply.Moved);
  assert.deepEqual(parseRedirect(moved, 0, moved.length), { kind: ClusterReply.Moved, slot, host: '127.0.0.1', port: owner.port });
});

test('ASK and TRYAGAIN from a real node while a slot moves', async () => {
  const slot = (await cluster.call(cluster.ports[0], 'CLUSTER', 'KEYSLOT', '{t}')) as number;
  const from = await cluster.ownerOf(slot);
  const to = (await cluster.nodes()).find((n) => n.role === 'master' && n.id !== from.id)!;
  assert.equal(await cluster.call(from.port, 'MSET', '{t}a', '1', '{t}b', '2'), 'OK');
  const move = await cluster.startSlotMove(slot, to.port);
  assert.equal(await cluster.call(from.port, 'MIGRATE', '127.0.0.1', to.port, '{t}a', 0, 5000), 'OK');
  // {t}a has gone, {t}b is still here: a single key is ASKed for, both at once must wait
  const [ask, tryAgain, here] = await raw(from.port, ['GET', '{t}a'], ['MGET', '{t}a', '{t}b'], ['GET', '{t}b']);
  assert.equal(kindOf(ask), ClusterReply.Ask, ask.toString('latin1'));
  assert.deepEqual(parseRedirect(ask, 0, ask.length), { kind: ClusterReply.Ask, slot, host: '127.0.0.1', port: to.port });
  assert.equal(kindOf(tryAgain), ClusterReply.TryAgain, tryAgain.toString('latin1'));
  assert.equal(parseRedirect(tryAgain, 0, tryAgain.length), null);
  assert.equal(kindOf(here), ClusterReply.Other);
  await move.migrateKeys();
  await move.finish();
});

test('CLUSTERDOWN from a node that serves no slot', async () => {
  const [down] = await raw(lonely.port, ['GET', 'k']);
  assert.match(down.toString('latin1'), /^-CLUSTERDOWN /);
  assert.equal(kindOf(down), ClusterReply.ClusterDown);
  assert.equal(parseRedirect(down, 0, down.length), null);
});

test('look-alikes and other replies are Other', () => {
  for (const s of ['+OK\r\n', '-ERR MOVED 1 a:1\r\n', '-MOVEDX 1 a:1\r\n', '-ASKING\r\n', '-TRYAGAINX\r\n', '-CLUSTERDOWNX\r\n', '-READONLYX\r\n', '-ERR READONLY\r\n', '$6\r\n-MOVED\r\n', ':1\r\n', '-\r\n', '-M', '!12\r\nMOVED 1 a:1\r\n', '*1\r\n-MOVED 1 a:1\r\n']) {
    assert.equal(kindOf(latin1(s)), ClusterReply.Other, s);
  }
  assert.equal(kindOf(latin1('-TRYAGAIN\r\n')), ClusterReply.TryAgain);
  assert.equal(kindOf(latin1('-CLUSTERDOWN\r\n')), ClusterReply.ClusterDown);
  assert.equal(kindOf(latin1("-READONLY You can't write against a read only replica.\r\n")), ClusterReply.ReadOnly);
});

test('addresses: IPv6 without brackets, host names, an empty host; malformed ones are null', () => {
  const p = (s: string, pos = 0) => parseRedirect(latin1(s), pos, latin1(s).length);
  assert.deepEqual(p('-MOVED 3999 ::1:6380\r\n'), { kind: ClusterReply.Moved, slot: 3999, host: '::1', port: 6380 });
  assert.deepEqual(p('-ASK 0 redis-2.example:7000\r\n'), { kind: ClusterReply.Ask, slot: 0, host: 'redis-2.example', port: 7000 });
  assert.deepEqual(p('-MOVED 16383 :7000\r\n'), { kind: ClusterReply.Moved, slot: 16383, host: '', port: 7000 });
  assert.deepEqual(p('xx-MOVED 1 h:2\r\n', 2), { kind: ClusterReply.Moved, slot: 1, host: 'h', port: 2 }, 'at an offset');
  for (const bad of ['-MOVED 16384 h:1\r\n', '-MOVED x h:1\r\n', '-MOVED 1 h\r\n', '-MOVED 1 h:\r\n', '-MOVED 1 h:70000\r\n', '-MOVED 1 h:1x\r\n', '-MOVED 1\r\n', '-MOVED  1 h:1\r\n']) {
    assert.equal(p(bad), null, bad);
  }
});

test('any MOVED or ASK line reads back what was written; arbitrary bytes never throw', () => {
  fc.assert(
    fc.property(fc.boolean(), fc.integer({ min: 0, max: 16383 }), fc.stringMatching(/^[a-z0-9.:-]{0,30}$/), fc.integer({ min: 0, max: 65535 }), (moved, slot, host, port) => {
      const line = latin1(`-${moved ? 'MOVED' : 'ASK'} ${slot} ${host}:${port}\r\n`);
      assert.deepEqual(parseRedirect(line, 0, line.length), { kind: moved ? ClusterReply.Moved : ClusterReply.Ask, slot, host, port });
    }),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
      const b = Buffer.concat([latin1('-'), Buffer.from(bytes)]);
      classifyReply(b, 0, b.length);
      parseRedirect(b, 0, b.length);
    }),
    { numRuns: 2000 },
  );
});
