import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConnState } from '../../src/session/conn-state.js';
import { stateRecord, type StateChange } from '../../src/session/pending.js';
import { StateCommand, SubscriptionKind } from '../../src/commands/session-commands.js';

// ConnState with no Redis at all: a state command's expected change and the reply Redis
// would give, and what the state is after.

const b = (s: string) => Buffer.from(s, 'latin1');
const OK = b('+OK\r\n');

function change(command: StateCommand, fields: Partial<StateChange> = {}): StateChange {
  return Object.assign(stateRecord(command).change!, fields);
}

/** a (un)subscribe confirmation as Redis 7 sends it in RESP2 (channel null: $-1) */
function confirmation(kind: string, channel: string | null, count: number): Buffer {
  const ch = channel === null ? '$-1\r\n' : `$${channel.length}\r\n${channel}\r\n`;
  return b(`*3\r\n$${kind.length}\r\n${kind}\r\n${ch}:${count}\r\n`);
}

/** A state with everything away from its defaults. */
function busyState(): ConnState {
  const s = new ConnState();
  s.user = 'alice';
  s.db = 5;
  s.proto = 3;
  s.watching = true;
  s.tracking = true;
  s.confirm(SubscriptionKind.Channel, confirmation('subscribe', 'a', 1), 'subscribe', 1);
  s.confirm(SubscriptionKind.Pattern, confirmation('psubscribe', 'p*', 2), 'psubscribe', 1);
  return s;
}

test('a fresh state is settled, and not while any piece of state is in doubt', () => {
  const fresh = () => new ConnState();
  assert.equal(fresh().settled, true);
  const cases: [string, (s: ConnState) => void][] = [
    ['a state command in flight', (s) => s.inFlight++],
    ['a predicted transaction', (s) => s.setMulti(true)],
    ['WATCH', (s) => (s.watching = true)],
    ['client tracking', (s) => (s.tracking = true)],
    ['a subscription', (s) => s.confirm(SubscriptionKind.Shard, confirmation('ssubscribe', 'x', 1), 'ssubscribe', 1)],
  ];
  for (const [what, set] of cases) {
    const s = fresh();
    set(s);
    assert.equal(s.settled, false, what);
  }
});

test('SELECT changes the database only on +OK', () => {
  const s = new ConnState();
  assert.equal(s.apply(change(StateCommand.Select, { num: 3 }), OK), false);
  assert.equal(s.db, 3);
  assert.equal(s.apply(change(StateCommand.Select, { num: 99 }), b('-ERR DB index is out of range\r\n')), false);
  assert.equal(s.db, 3);
  assert.equal(s.settled, true);
});

test('AUTH changes the user on +OK and says so; a refused AUTH changes nothing', () => {
  const s = new ConnState();
  assert.equal(s.apply(change(StateCommand.Auth, { user: 'bob' }), OK), true);
  assert.equal(s.user, 'bob');
  assert.equal(s.apply(change(StateCommand.Auth, { user: 'eve' }), b('-WRONGPASS invalid username-password pair or user is disabled.\r\n')), false);
  assert.equal(s.user, 'bob');
});

test('HELLO 3 AUTH: the protocol and the user change on its map', () => {
  const s = new ConnState();
  const helloMap = b('%1\r\n+server\r\n+redis\r\n');
  assert.equal(s.apply(change(StateCommand.Hello, { num: 3, user: 'carol' }), helloMap), true);
  assert.equal(s.proto, 3);
  assert.equal(s.user, 'carol');
  // HELLO 2 answered with an array, no AUTH: the protocol changes, the user is proven as default only if unknown
  const t = new ConnState();
  assert.equal(t.apply(change(StateCommand.Hello, { num: 2 }), b('*2\r\n+server\r\n+redis\r\n')), false);
  assert.equal(t.proto, 2);
  assert.equal(t.user, 'default');
  assert.equal(s.apply(change(StateCommand.Hello, { num: 2 }), b('*2\r\n+server\r\n+redis\r\n')), false);
  assert.equal(s.user, 'carol', 'a HELLO without AUTH keeps the user');
  assert.equal(s.proto, 2);
});

test('a refused HELLO changes neither the protocol nor the user', () => {
  const s = new ConnState();
  assert.equal(s.apply(change(StateCommand.Hello, { num: 3, user: 'carol' }), b('-WRONGPASS invalid username-password pair\r\n')), false);
  assert.equal(s.apply(change(StateCommand.Hello, { num: 4 }), b('-NOPROTO unsupported protocol version\r\n')), false);
  assert.equal(s.proto, 2);
  assert.equal(s.user, null);
});

test('RESET puts everything back and says the user changed; a refused one keeps all', () => {
  const s = busyState();
  assert.equal(s.subCount, 2);
  assert.equal(s.apply(change(StateCommand.Reset), b('-NOPERM this user has no permissions to run the \'reset\' command\r\n')), false);
  assert.equal(s.db, 5);
  assert.equal(s.subCount, 2);
  assert.equal(s.apply(change(StateCommand.Reset), b('+RESET\r\n')), true);
  assert.equal(s.user, null);
  assert.equal(s.db, 0);
  assert.equal(s.proto, 2);
  assert.equal(s.watching, false);
  assert.equal(s.tracking, false);
  assert.equal(s.subCount, 0);
  for (const set of s.subs) assert.equal(set.size, 0);
  assert.equal(s.settled, true);
  s.prove();
  assert.equal(s.user, 'default', 'proven again by the next reply');
});

test('MULTI: a refusal drops the predicted transaction, the "nested" error and +OK keep it', () => {
  const s = new ConnState();
  s.setMulti(true);
  s.apply(change(StateCommand.Multi), OK);
  assert.notEqual(s.multi, null);
  s.apply(change(StateCommand.Multi), b('-ERR MULTI calls can not be nested\r\n'));
  assert.notEqual(s.multi, null, 'the outer transaction is still being queued');
  assert.equal(s.settled, false);
  s.apply(change(StateCommand.Multi), b("-NOPERM this user has no permissions to run the 'multi' command\r\n"));
  assert.equal(s.multi, null);
  assert.equal(s.settled, true);
});

test('EXEC clears WATCH whatever it answered, except "EXEC without MULTI"', () => {
  const replies = ['*1\r\n+OK\r\n', '*-1\r\n', '_\r\n', '-EXECABORT Transaction discarded because of previous errors.\r\n'];
  for (const reply of replies) {
    const s = new ConnState();
    s.watching = true;
    s.apply(change(StateCommand.Exec), b(reply));
    assert.equal(s.watching, false, JSON.stringify(reply));
  }
  const s = new ConnState();
  s.watching = true;
  s.apply(change(StateCommand.Exec), b('-ERR EXEC without MULTI\r\n'));
  assert.equal(s.watching, true);
  assert.equal(s.settled, false);
});

test('WATCH, UNWATCH and DISCARD follow their +OK only', () => {
  const s = new ConnState();
  s.apply(change(StateCommand.Watch), b('-ERR WATCH inside MULTI is not allowed\r\n'));
  assert.equal(s.watching, false);
  s.apply(change(StateCommand.Watch), OK);
  assert.equal(s.watching, true);
  assert.equal(s.settled, false);
  s.apply(change(StateCommand.Discard), b('-ERR DISCARD without MULTI\r\n'));
  assert.equal(s.watching, true);
  s.apply(change(StateCommand.Discard), OK);
  assert.equal(s.watching, false);
  s.apply(change(StateCommand.Watch), OK);
  s.apply(change(StateCommand.Unwatch), OK);
  assert.equal(s.watching, false);
  assert.equal(s.settled, true);
});

test('CLIENT TRACKING on and off, on +OK only', () => {
  const s = new ConnState();
  s.apply(change(StateCommand.Client, { on: true }), b('-ERR Prefix ... overlaps\r\n'));
  assert.equal(s.tracking, false);
  s.apply(change(StateCommand.Client, { on: true }), OK);
  assert.equal(s.tracking, true);
  assert.equal(s.settled, false);
  s.apply(change(StateCommand.Client, { on: false }), OK);
  assert.equal(s.tracking, false);
  assert.equal(s.settled, true);
});

test('SUBSCRIBE a b: two confirmations, counted down, channels counted', () => {
  const s = new ConnState();
  let remaining = 2;
  remaining = s.confirm(SubscriptionKind.Channel, confirmation('subscribe', 'a', 1), 'subscribe', remaining);
  assert.equal(remaining, 1);
  assert.equal(s.subCount, 1);
  remaining = s.confirm(SubscriptionKind.Channel, confirmation('subscribe', 'b', 2), 'subscribe', remaining);
  assert.equal(remaining, 0);
  assert.equal(s.subCount, 2);
  assert.deepEqual([...s.subs[SubscriptionKind.Channel]].sort(), ['a', 'b']);
  assert.equal(s.subs[SubscriptionKind.Pattern].size, 0);
  assert.equal(s.settled, false);
  // the same channel again is one subscription
  s.confirm(SubscriptionKind.Channel, confirmation('subscribe', 'a', 2), 'subscribe', 1);
  assert.equal(s.subCount, 2);
  // a pattern is counted beside the channels
  s.confirm(SubscriptionKind.Pattern, confirmation('psubscribe', 'n*', 3), 'psubscribe', 1);
  assert.equal(s.subCount, 3);
});

test('UNSUBSCRIBE with no channel expects one confirmation per subscribed channel, counted at the head', () => {
  const s = new ConnState();
  s.confirm(SubscriptionKind.Channel, confirmation('subscribe', 'a', 1), 'subscribe', 1);
  s.confirm(SubscriptionKind.Channel, confirmation('subscribe', 'b', 2), 'subscribe', 1);
  s.confirm(SubscriptionKind.Pattern, confirmation('psubscribe', 'p*', 3), 'psubscribe', 1);
  let remaining = s.confirm(SubscriptionKind.Channel, confirmation('unsubscribe', 'b', 2), 'unsubscribe', 0);
  assert.equal(remaining, 1, 'two channels were subscribed: one more confirmation to come');
  assert.equal(s.subCount, 2);
  remaining = s.confirm(SubscriptionKind.Channel, confirmation('unsubscribe', 'a', 1), 'unsubscribe', remaining);
  assert.equal(remaining, 0);
  assert.equal(s.subs[SubscriptionKind.Channel].size, 0);
  assert.equal(s.subCount, 1, 'the pattern is still there');
  assert.equal(s.settled, false);
  // with no channel subscribed, Redis still sends one confirmation (a null channel)
  assert.equal(s.confirm(SubscriptionKind.Channel, confirmation('unsubscribe', null, 1), 'unsubscribe', 0), 0);
  assert.equal(s.subCount, 1);
});

// Known bug, kept visible until conn-state.ts is fixed: confirm() tells an unsubscribe by
// confirmationName.startsWith('un'), so "punsubscribe" and "sunsubscribe" count as
// subscribes: the set keeps the pattern, subCount never returns to 0, the connection is
// never settled again.
test('PUNSUBSCRIBE and SUNSUBSCRIBE remove what they name', () => {
  const s = new ConnState();
  s.confirm(SubscriptionKind.Pattern, confirmation('psubscribe', 'p*', 1), 'psubscribe', 1);
  s.confirm(SubscriptionKind.Shard, confirmation('ssubscribe', 'x', 1), 'ssubscribe', 1);
  assert.equal(s.subCount, 2);
  s.confirm(SubscriptionKind.Pattern, confirmation('punsubscribe', 'p*', 0), 'punsubscribe', 1);
  s.confirm(SubscriptionKind.Shard, confirmation('sunsubscribe', 'x', 0), 'sunsubscribe', 1);
  assert.equal(s.subCount, 0);
  assert.equal(s.settled, true);
});

test('an error answers the whole (un)subscribe command', () => {
  const s = new ConnState();
  assert.equal(s.confirm(SubscriptionKind.Channel, b("-NOPERM this user has no permissions to access the 'x' channel\r\n"), 'subscribe', 3), 0);
  assert.equal(s.subCount, 0);
  assert.equal(s.confirm(SubscriptionKind.Shard, b('-CROSSSLOT Keys in request don\'t hash to the same slot\r\n'), 'ssubscribe', 2), 0);
  assert.equal(s.settled, true);
});
