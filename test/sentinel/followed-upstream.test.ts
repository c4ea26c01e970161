// FollowedUpstream in process, with a fake session and a fake real upstream: READONLY replies
// and lost connections reach the PrimaryTarget's hooks; drop() closes the client's upstream once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FollowedUpstream, isReadonlyError, type FollowHooks } from '../../src/upstream/followed-upstream.js';
import type { Upstream, UpstreamClient } from '../../src/upstream/upstream.js';

function fakes() {
  const seen = { readonly: 0, lost: 0, left: 0, replies: [] as string[], clientLost: [] as string[], innerClosed: 0 };
  const hooks: FollowHooks = {
    readonlySeen: () => seen.readonly++,
    lost: () => seen.lost++,
    left: () => seen.left++,
  };
  const client = {
    closed: false,
    onUpstreamReply: (buf: Buffer, s: number, e: number) => seen.replies.push(buf.toString('latin1', s, e)),
    onUpstreamFlush: () => undefined,
    onUpstreamDrain: () => undefined,
    onUpstreamLost: (reason: string) => seen.clientLost.push(reason),
    onUpstreamFault: () => undefined,
    sendInternal: () => undefined,
  } satisfies UpstreamClient;
  const f = new FollowedUpstream(hooks, client);
  f.inner = { close: () => seen.innerClosed++ } as unknown as Upstream;
  return { f, seen, client };
}

test('isReadonlyError: only an error reply starting READONLY, anywhere in a chunk', () => {
  const chunk = Buffer.from('+OK\r\n-READONLY You can\'t write against a read only replica.\r\n$8\r\nREADONLY\r\n');
  assert.equal(isReadonlyError(chunk, 0, 5), false);
  assert.equal(isReadonlyError(chunk, 5, 61), true);
  assert.equal(isReadonlyError(chunk, 61, chunk.length), false, 'a value that says READONLY is no error');
  assert.equal(isReadonlyError(Buffer.from('-READ\r\n'), 0, 7), false);
  assert.equal(isReadonlyError(Buffer.from('-ERR READONLY\r\n'), 0, 15), false);
});

test('a READONLY reply is passed on and tells the hooks; other replies do not', () => {
  const { f, seen } = fakes();
  const buf = Buffer.from('-READONLY no\r\n+OK\r\n');
  f.onUpstreamReply(buf, 0, 14, true);
  f.onUpstreamReply(buf, 14, 19, true);
  assert.deepEqual(seen.replies, ['-READONLY no\r\n', '+OK\r\n']);
  assert.equal(seen.readonly, 1);
});

test('a lost connection tells the hooks and the client', () => {
  const { f, seen } = fakes();
  f.onUpstreamLost('gone');
  assert.equal(seen.lost, 1);
  assert.deepEqual(seen.clientLost, ['gone']);
});

test('drop(): the client is told once, the real upstream closes, and nothing more reaches the client', () => {
  const { f, seen } = fakes();
  f.drop('the primary moved to b:2');
  f.drop('again');
  assert.deepEqual(seen.clientLost, ['the primary moved to b:2']);
  assert.equal(seen.innerClosed, 1);
  assert.equal(f.closed, true, 'the real upstream sees its client gone');
  assert.equal(f.fillGeneration(), -1, 'a dropped upstream fills nothing');
  f.onUpstreamLost('socket closed');
  assert.deepEqual(seen.clientLost, ['the primary moved to b:2'], 'no second loss');
});

test('close() by the session lets the target forget it', () => {
  const { f, seen } = fakes();
  f.close();
  assert.equal(seen.left, 1);
  assert.equal(seen.innerClosed, 1);
});
