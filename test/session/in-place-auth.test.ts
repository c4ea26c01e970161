import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalAuthAt, type AuthArgs } from '../../src/session/in-place-auth.js';
import { cmd } from '../helpers/resp.js';

// Which reads the in-place AUTH takes: only a whole AUTH of 2 or 3 arguments in the canonical
// multibulk form at the head of the read; everything else is the decoder's.

const b = (s: string) => Buffer.from(s, 'latin1');
const at = (s: string): { end: number; user: string | null; pw: string } | null => {
  const buf = b(s);
  const f: AuthArgs = { userOff: 0, userLen: -1, pwOff: 0, pwLen: 0 };
  const end = canonicalAuthAt(buf, buf.length, f);
  if (end < 0) return null;
  return { end, user: f.userLen < 0 ? null : buf.toString('latin1', f.userOff, f.userOff + f.userLen), pw: buf.toString('latin1', f.pwOff, f.pwOff + f.pwLen) };
};

test('AUTH user password and AUTH password, in any case, with what follows left for the rest of the read', () => {
  const two = cmd('AUTH', 'app', 'pw\r\n$x');
  assert.deepEqual(at(two), { end: two.length, user: 'app', pw: 'pw\r\n$x' });
  assert.deepEqual(at(cmd('auth', 'pw')), { end: cmd('auth', 'pw').length, user: null, pw: 'pw' });
  assert.deepEqual(at(cmd('AuTh', '', '')), { end: cmd('AuTh', '', '').length, user: '', pw: '' });
  const rest = cmd('AUTH', 'app', 'pw') + cmd('GET', 'hot');
  assert.equal(at(rest)?.end, cmd('AUTH', 'app', 'pw').length);
});

test('anything else is left to the decoder', () => {
  const whole = cmd('AUTH', 'app', 'pw');
  for (let cut = 0; cut < whole.length; cut++) assert.equal(at(whole.slice(0, cut)), null, `cut at ${cut}`);
  for (const s of [
    cmd('AUTH', 'a', 'b', 'c'),
    cmd('AUTH'),
    cmd('HELLO', '2', 'AUTH', 'app', 'pw'),
    cmd('AUTX', 'app', 'pw'),
    'AUTH app pw\r\n',
    '*3\r\n$4\r\nAUTH\r\n$03\r\napp\r\n$2\r\npw\r\n',
    '*3\r\n$4\r\nAUTH\r\n$3\r\napp\r\n$2\r\npwx\r\n',
    '*3\r\n$4\r\nAUTH\r\n$3\r\napp\r\n$-1\r\n',
    '*03\r\n$4\r\nAUTH\r\n$3\r\napp\r\n$2\r\npw\r\n',
  ]) {
    assert.equal(at(s), null, JSON.stringify(s));
  }
});
