import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cmd } from '../helpers/resp.js';
import { pino } from 'pino';
import { AuthVerifier } from '../../src/upstream/auth-verifier.js';
import { CredentialCache } from '../../src/upstream/credential-cache.js';
import { SharedPool } from '../../src/upstream/shared-pool.js';
import { encodeCommand } from '../../src/resp/encode.js';
import { UserPools } from '../../src/upstream/user-pools.js';
import type { Upstream } from '../../src/upstream/upstream.js';
import { FakeRedis, RecordingClient, until, stoppedAfterEach } from './fake-redis.js';

// The parts of per-user sharing that need no real Redis: the credential memory, the AUTH
// check connection (pairing, a lost connection, a second loss), and a user pool's login
// (no client before its +OK; a refusal closes it for good).

const log = pino({ level: 'silent' });
const b = (s: string) => Buffer.from(s, 'latin1');

const stops = stoppedAfterEach();

test('the credential memory keeps a digest, never the password, and forgets everything at a change', () => {
  const c = new CredentialCache(2);
  c.add('app', b('s3cret-pw'), c.epoch);
  assert.equal(c.has('app', b('s3cret-pw')), true);
  assert.equal(c.has('app', b('s3cret-pW')), false, 'another password');
  assert.equal(c.has('ap', b('ps3cret-pw')), false, 'the same bytes split differently');
  // nothing in the object holds the password's bytes
  const seen = JSON.stringify([...(c as unknown as { verified: Map<string, number> }).verified]);
  assert.ok(!seen.includes('s3cret'), seen);
  // nor its scratch space, once a digest is made
  assert.equal((c as unknown as { scratch: Buffer }).scratch.indexOf('s3cret'), -1);
  const epoch = c.epoch;
  c.clear();
  assert.equal(c.has('app', b('s3cret-pw')), false);
  c.add('app', b('s3cret-pw'), epoch);
  assert.equal(c.has('app', b('s3cret-pw')), false, 'a check sent before the change is not remembered');
});

test('a remembered credential answers for a second only: Redis is asked again after it', () => {
  let t = 1_000_000;
  const c = new CredentialCache(8, 1000, () => t);
  c.add('app', b('pw'), c.epoch);
  t += 999;
  assert.equal(c.has('app', b('pw')), true);
  t += 1;
  assert.equal(c.has('app', b('pw')), false);
  assert.equal(c.size, 0, 'and forgotten');
});

test('a credential longer than the scratch space is remembered too, and told apart', () => {
  const c = new CredentialCache(8);
  const long = 'x'.repeat(2000);
  c.add('app', b(`${long}a`), c.epoch);
  assert.equal(c.has('app', b(`${long}a`)), true);
  assert.equal(c.has('app', b(`${long}b`)), false);
  assert.equal(c.has('app', b('x')), false);
});

test('the credential memory is bounded: the oldest goes first', () => {
  const c = new CredentialCache(2);
  for (const u of ['a', 'b', 'c']) c.add(u, b('pw'), c.epoch);
  assert.equal(c.size, 2);
  assert.deepEqual(['a', 'b', 'c'].map((u) => c.has(u, b('pw'))), [false, true, true]);
});

test("AUTH checks are pipelined on one connection and each gets Redis's reply as it came", async () => {
  const fake = await FakeRedis.start();
  stops.push(() => fake.stop());
  const v = new AuthVerifier(fake.addr, undefined, log);
  stops.push(() => v.stop());
  const got: (string | null)[] = [];
  v.check(encodeCommand(['AUTH', 'app', 'pw1']), (r) => got.push(r?.toString('latin1') ?? null));
  v.check(encodeCommand(['AUTH', 'bob', 'x']), (r) => got.push(r?.toString('latin1') ?? null));
  const conn = await fake.conn(0);
  await conn.gets(cmd('AUTH', 'app', 'pw1') + cmd('AUTH', 'bob', 'x'));
  await conn.send('+OK\r\n-WRONGPASS invalid username-password pair or user is disabled.\r\n');
  await until('both answers', () => got.length === 2);
  assert.deepEqual(got, ['+OK\r\n', '-WRONGPASS invalid username-password pair or user is disabled.\r\n']);
  assert.equal(fake.conns.length, 1, 'one connection for both');
});

test('a check whose connection is lost is sent once more on a new one; a second loss answers null', async () => {
  const fake = await FakeRedis.start();
  stops.push(() => fake.stop());
  const v = new AuthVerifier(fake.addr, undefined, log);
  stops.push(() => v.stop());
  const got: (string | null)[] = [];
  v.check(encodeCommand(['AUTH', 'pw']), (r) => got.push(r?.toString('latin1') ?? null));
  (await fake.conn(0)).close();
  const second = await fake.conn(1);
  await second.gets(cmd('AUTH', 'pw'));
  assert.deepEqual(got, [], 'not answered yet');
  second.close();
  await until('the answer', () => got.length === 1);
  assert.deepEqual(got, [null]);
});

test("a user pool's connection takes no client before its AUTH is answered +OK", async () => {
  const fake = await FakeRedis.start();
  stops.push(() => fake.stop());
  const pool = new SharedPool(fake.addr, undefined, 1, log, { user: 'app', command: encodeCommand(['AUTH', 'app', 'pw']) });
  stops.push(() => pool.stop());
  const ups: boolean[] = [];
  pool.whenUp((up) => ups.push(up));
  pool.start();
  const conn = await fake.conn(0);
  await conn.gets(cmd('AUTH', 'app', 'pw'));
  assert.equal(pool.pick(), null, 'no seat before the answer');
  await conn.send('+OK\r\n');
  await until('the pool up', () => ups.length === 1);
  assert.deepEqual(ups, [true]);
  const shared = pool.pick();
  assert.ok(shared !== null);
  assert.equal(shared.user, 'app');
  const client = new RecordingClient();
  const seat = shared.seat(client);
  assert.equal(seat.seatLogin?.toString('latin1'), cmd('AUTH', 'app', 'pw'), 'a move to an own connection sends the same AUTH');
  seat.send([b(cmd('GET', 'k'))], cmd('GET', 'k').length, 1);
  await conn.gets(cmd('GET', 'k'));
  await conn.send('$1\r\nv\r\n');
  await until('the reply', () => client.replies.length === 1);
  assert.deepEqual(client.texts, ['$1\r\nv\r\n'], "the AUTH's reply went to nobody");
});

test("a refused login closes the pool's connection for good and tells the pool", async () => {
  const fake = await FakeRedis.start();
  stops.push(() => fake.stop());
  const pool = new SharedPool(fake.addr, undefined, 1, log, { user: 'app', command: encodeCommand(['AUTH', 'app', 'old']) });
  stops.push(() => pool.stop());
  const refused: string[] = [];
  pool.onLoginRefused = (why) => refused.push(why);
  const ups: boolean[] = [];
  pool.whenUp((up) => ups.push(up));
  pool.start();
  const conn = await fake.conn(0);
  await conn.gets(cmd('AUTH', 'app', 'old'));
  await conn.send('-WRONGPASS invalid username-password pair or user is disabled.\r\n');
  await until('the refusal', () => refused.length === 1);
  assert.deepEqual(ups, [false]);
  assert.match(refused[0], /^WRONGPASS/);
  await until('the connection closed', () => conn.ended);
  await new Promise((r) => setTimeout(r, 400)); // past the reconnect delay
  assert.equal(fake.conns.length, 1, 'no reconnect');
  assert.equal(pool.pick(), null);
});

test("UserPools: clients with the same credentials while they are checked wait for that check's +OK; a refusal is Redis's for each of them", async () => {
  const fake = await FakeRedis.start();
  stops.push(() => fake.stop());
  const users = new UserPools({ addr: fake.addr, tls: undefined, size: 1, maxPools: 4, log, idleMs: 60_000 });
  stops.push(() => users.stop());
  const answers: (string | null)[] = [];
  const ask = (...args: string[]) => users.verify(args.map(b), (r) => answers.push(r?.toString('latin1') ?? null));
  ask('AUTH', 'app', 'pw');
  ask('AUTH', 'app', 'pw');
  ask('AUTH', 'app', 'pw');
  const verifier = await fake.conn(0);
  await verifier.gets(cmd('AUTH', 'app', 'pw'));
  await verifier.send('+OK\r\n');
  await until('three answers', () => answers.length === 3);
  assert.deepEqual(answers, ['+OK\r\n', '+OK\r\n', '+OK\r\n']);
  assert.equal(users.verifier.checks, 1, 'one check for the three');
  assert.equal(verifier.text, cmd('AUTH', 'app', 'pw'));
  // wrong passwords are never answered on another's behalf: each goes to Redis
  answers.length = 0;
  ask('AUTH', 'app', 'bad');
  ask('AUTH', 'app', 'bad');
  await verifier.gets(cmd('AUTH', 'app', 'bad'));
  const WRONGPASS = '-WRONGPASS invalid username-password pair or user is disabled.\r\n';
  await verifier.send(WRONGPASS);
  await until('the second check', () => verifier.text.endsWith(cmd('AUTH', 'app', 'bad') + cmd('AUTH', 'app', 'bad')));
  await verifier.send(WRONGPASS);
  await until('two answers', () => answers.length === 2);
  assert.deepEqual(answers, [WRONGPASS, WRONGPASS]);
  assert.equal(users.verifier.checks, 3);
  // nor across a change of rules: a client that joined before it asks again
  answers.length = 0;
  ask('AUTH', 'bob', 'pw');
  ask('AUTH', 'bob', 'pw');
  users.accessChanged();
  await verifier.gets(cmd('AUTH', 'bob', 'pw'));
  await verifier.send('+OK\r\n');
  await until('the joined client asks again', () => verifier.text.endsWith(cmd('AUTH', 'bob', 'pw') + cmd('AUTH', 'bob', 'pw')));
  await verifier.send('+OK\r\n');
  await until('two answers', () => answers.length === 2);
  assert.deepEqual(answers, ['+OK\r\n', '+OK\r\n']);
  assert.equal(users.credentials.has('bob', b('pw')), true, 'the check sent after the change is remembered');
});

test('UserPools: a pool per user, up to the bound; an unused pool closes', async () => {
  const fake = await FakeRedis.start();
  stops.push(() => fake.stop());
  const users = new UserPools({ addr: fake.addr, tls: undefined, size: 1, maxPools: 1, log, idleMs: 100 });
  stops.push(() => users.stop());
  users.start();
  assert.equal(users.canPool('app'), true);
  const client = new RecordingClient();
  let seat: Upstream | null | undefined;
  users.join('app', b('pw'), client, (s) => (seat = s));
  const conn = await fake.conn(0);
  await conn.gets(cmd('AUTH', 'app', 'pw'));
  await conn.send('+OK\r\n');
  await until('a seat', () => seat !== undefined);
  assert.ok(seat);
  assert.equal(seat.seatUser, 'app');
  assert.equal(users.users, 1);
  assert.equal(users.canPool('app'), true, 'its pool exists');
  assert.equal(users.canPool('bob'), false, 'past --max-user-pools');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(users.users, 1, 'a pool with a client stays');
  seat.close();
  await until('the unused pool closed', () => users.users === 0, 2000);
  await until('its connection closed', () => conn.ended);
  assert.equal(users.canPool('bob'), true);
});

test('UserPools: at an access change the memory is emptied and a pool Redis now refuses takes nobody new, and closes once its last client leaves', async () => {
  const fake = await FakeRedis.start();
  stops.push(() => fake.stop());
  const users = new UserPools({ addr: fake.addr, tls: undefined, size: 1, maxPools: 4, log, idleMs: 60_000 });
  stops.push(() => users.stop());
  users.start();
  // a verified AUTH is remembered
  let answer: string | null | undefined;
  users.verify([b('AUTH'), b('app'), b('pw')], (r) => (answer = r?.toString('latin1') ?? null));
  const verifier = await fake.conn(0);
  await verifier.gets(cmd('AUTH', 'app', 'pw'));
  await verifier.send('+OK\r\n');
  await until('the check', () => answer !== undefined);
  assert.equal(answer, '+OK\r\n');
  assert.equal(users.credentials.has('app', b('pw')), true);
  let seat: Upstream | null | undefined;
  users.join('app', b('pw'), new RecordingClient(), (s) => (seat = s));
  const poolConn = await fake.find('the pool connection', (c) => c !== verifier && c.text.startsWith(cmd('AUTH', 'app', 'pw')));
  await poolConn.send('+OK\r\n');
  await until('a seat', () => seat !== undefined);
  assert.ok(seat);
  users.accessChanged();
  assert.equal(users.credentials.has('app', b('pw')), false, 'forgotten at once');
  await verifier.gets(cmd('AUTH', 'app', 'pw') + cmd('AUTH', 'app', 'pw'));
  await verifier.send('-WRONGPASS invalid username-password pair or user is disabled.\r\n');
  await until('the pool retired', () => users.users === 0);
  assert.equal(poolConn.ended, false, 'its client keeps its connection, as on Redis');
  seat.close();
  await until('the retired pool closed', () => poolConn.ended, 3000);
});
