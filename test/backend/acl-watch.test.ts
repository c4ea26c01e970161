import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AclWatch } from '../../src/backend/acl-watch.js';
import { RedisErrorReply, type RespValue } from '../../src/resp/reply-value.js';
import { sleep } from '../helpers/index.js';
import { FakeConnection, capturingLogger } from './fakes.js';

// The ACL watch against a fake connection whose ACL LIST the test sets: a connection's
// first reading is the baseline, a later difference calls onChange, a refusal stops it.

const RULES_A: RespValue = ['user default on nopass ~* &* +@all'];
const RULES_B: RespValue = ['user default on nopass ~* &* +@all', 'user app on #abc ~app:* +get'];

function setup(intervalMs = 5) {
  let list: RespValue = RULES_A;
  let changes = 0;
  const { log, lines } = capturingLogger();
  const watch = new AclWatch({ log, intervalMs, onChange: () => changes++ });
  const conn = new FakeConnection(() => list);
  return {
    watch,
    conn,
    lines,
    changes: () => changes,
    setList: (l: RespValue) => (list = l),
  };
}

test('the first reading is the baseline; a change made on Redis calls onChange once, an unchanged list never', async () => {
  const s = setup();
  await s.watch.attach(s.conn);
  assert.deepEqual(s.conn.sent, [['ACL', 'LIST']], 'the baseline is read before the link is up');
  assert.equal(s.changes(), 0);
  s.watch.up();
  await s.conn.sends(4);
  assert.equal(s.changes(), 0, 'the same rules, read again');
  s.setList(RULES_B);
  const n = s.conn.sent.length;
  await s.conn.sends(n + 3);
  assert.equal(s.changes(), 1, 'one change, one call');
  assert.ok(s.lines.some((l) => /ACL rules changed on Redis/.test(l.msg)));
  s.watch.detach();
});

test('after a reconnect the first reading is a new baseline, not a change', async () => {
  const s = setup();
  await s.watch.attach(s.conn);
  s.watch.detach();
  s.setList(RULES_B);
  const again = new FakeConnection(() => RULES_B);
  await s.watch.attach(again);
  s.watch.up();
  await again.sends(3);
  assert.equal(s.changes(), 0);
  s.watch.detach();
});

test('NOPERM stops the watch for good, across reconnects; LOADING only skips a turn', async () => {
  const s = setup();
  s.setList(new RedisErrorReply('LOADING Redis is loading the dataset in memory'));
  await s.watch.attach(s.conn);
  s.watch.up();
  await s.conn.sends(3);
  assert.equal(s.watch.watching, true, 'asked again after LOADING');
  s.setList(new RedisErrorReply("NOPERM User app has no permissions to run the 'acl|list' command"));
  await s.conn.sends(s.conn.sent.length + 1);
  await sleep(30);
  assert.equal(s.watch.watching, false);
  const asked = s.conn.sent.length;
  await sleep(30);
  assert.equal(s.conn.sent.length, asked, 'not asked again');
  s.watch.detach();
  const next = new FakeConnection(() => RULES_A);
  await s.watch.attach(next);
  s.watch.up();
  await sleep(30);
  assert.deepEqual(next.sent, [], 'nor on a new connection');
  assert.equal(s.changes(), 0);
  assert.ok(s.lines.some((l) => /ACL LIST is refused/.test(l.msg)));
});

test('nothing is asked before up, nor after detach; an answer from a connection let go is ignored', async () => {
  const s = setup();
  await s.watch.attach(s.conn);
  await sleep(30);
  assert.equal(s.conn.sent.length, 1, 'only the baseline before up');
  s.watch.up();
  await s.conn.sends(2);
  s.conn.hold = true;
  await s.conn.sends(3);
  s.setList(RULES_B);
  s.watch.detach();
  s.conn.release();
  await sleep(30);
  assert.equal(s.conn.sent.length, 3);
  assert.equal(s.changes(), 0);
});
