import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CredentialCache } from '../../src/upstream/credential-cache.js';

// The proxy's own --addr credential is compared rather than digested: it must be told apart
// from everything that is not exactly it, and leave no client password behind.

const b = (s: string) => Buffer.from(s, 'latin1');
const configured = { user: 'app', password: b('app-pw') };

test('the --addr credential is remembered like any other, and only exactly it matches it', () => {
  const c = new CredentialCache(8, 1000, Date.now, configured);
  assert.equal(c.has('app', b('app-pw')), false, 'not before Redis accepted it');
  c.add('app', b('app-pw'), c.epoch);
  assert.equal(c.has('app', b('app-pw')), true);
  for (const [user, pw] of [['app', 'app-pW'], ['app', 'app-pw\0'], ['app', 'app-p'], ['app', ''], ['ap', 'papp-pw'], ['default', 'app-pw']]) {
    assert.equal(c.has(user, b(pw)), false, `${user} ${JSON.stringify(pw)}`);
  }
  c.clear();
  assert.equal(c.has('app', b('app-pw')), false, 'forgotten at a change, as the others');
});

test('a password compared where it arrived (an offset into a read) is the same credential', () => {
  const c = new CredentialCache(8, 1000, Date.now, configured);
  const read = b('*3\r\n$4\r\nAUTH\r\n$3\r\napp\r\n$6\r\napp-pw\r\n$5\r\nother\r\n');
  const at = read.indexOf('app-pw');
  c.add('app', b('app-pw'), c.epoch);
  assert.equal(c.hasKey(c.keyOf('app', read, at, 6)), true);
  assert.equal(c.hasKey(c.keyOf('app', read, at, 5)), false);
  c.add('bob', b('other'), c.epoch);
  assert.equal(c.hasKey(c.keyOf('bob', read, read.indexOf('other'), 5)), true, 'a digested one too');
});

test("no client's password stays in the comparison's or the digest's scratch space", () => {
  const c = new CredentialCache(8, 1000, Date.now, configured);
  c.has('app', b('guess-one'));
  c.has('app', b('app-pw'));
  c.has('bob', b('guess-two'));
  const inner = c as unknown as { candidate: Buffer; scratch: Buffer };
  assert.equal(inner.candidate.indexOf('guess'), -1);
  assert.equal(inner.candidate.indexOf('app-pw'), -1);
  assert.ok(inner.candidate.every((x) => x === 0));
  assert.equal(inner.scratch.indexOf('guess'), -1);
});

test('an --addr password too long to pad is digested like any other', () => {
  const long = 'x'.repeat(300);
  const c = new CredentialCache(8, 1000, Date.now, { user: 'app', password: b(long) });
  c.add('app', b(long), c.epoch);
  assert.equal(c.has('app', b(long)), true);
  assert.equal(c.has('app', b(long.slice(1))), false);
});
