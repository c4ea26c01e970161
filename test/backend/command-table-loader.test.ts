import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CommandTableLoader } from '../../src/backend/command-table-loader.js';
import { RedisErrorReply, type RespValue } from '../../src/resp/reply-value.js';
import type { CommandTable } from '../../src/commands/command-table.js';
import { FakeConnection } from './fakes.js';

// The loader against a fake connection: what it asks, what it keeps, and that a refusal
// rejects (which makes the link drop the connection and retry).

const GET: RespValue = ['get', 2, ['readonly', 'fast'], 1, 1, 1];
const SET: RespValue = ['set', -3, ['write', 'denyoom'], 1, 1, 1];

test('each attach reads COMMAND into a new table, kept and handed on', async () => {
  const seen: CommandTable[] = [];
  const loader = new CommandTableLoader((t) => seen.push(t));
  const table = (): CommandTable | null => loader.table;
  assert.equal(table(), null);
  await loader.attach(new FakeConnection(() => [GET]));
  assert.equal(table()?.size, 1);
  assert.equal(table()?.lookup('get', [])?.writes, false);
  // a Redis restarted as another version: read again, the new table replaces the old
  const conn = new FakeConnection(() => [GET, SET]);
  await loader.attach(conn);
  assert.deepEqual(conn.sent, [['COMMAND']]);
  assert.equal(table()?.size, 2);
  assert.equal(table()?.lookup('set', [])?.writes, true);
  assert.deepEqual(seen, [seen[0], loader.table]);
  assert.notEqual(seen[0], seen[1]);
  loader.detach();
  assert.equal(loader.table, seen[1], 'the table outlives its connection');
});

test('a refused COMMAND rejects and keeps the last table', async () => {
  const loader = new CommandTableLoader();
  await loader.attach(new FakeConnection(() => [GET]));
  const before = loader.table;
  await assert.rejects(loader.attach(new FakeConnection(() => new RedisErrorReply('NOPERM no permission'))), /NOPERM/);
  await assert.rejects(loader.attach(new FakeConnection(() => 'OK')), /did not return an array/);
  assert.equal(loader.table, before);
});
