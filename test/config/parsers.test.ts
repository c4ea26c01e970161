// The value types on their own: what each accepts, and that a refusal is its own `expects` phrase.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

import { Problem } from '../../src/config/errors.js';
import * as v from '../../src/config/parsers.js';

function refusal(type: v.ValueType<unknown>, text: string): string {
  try {
    type.parse(text);
  } catch (e) {
    assert.ok(e instanceof Problem, `Problem, got ${String(e)}`);
    return e.message;
  }
  assert.fail(`${JSON.stringify(text)} was accepted`);
}

describe('value types', () => {
  it('reads an announced address as host:port, an IPv6 host in brackets; empty is none', () => {
    assert.deepEqual(v.announceAddress.parse('203.0.113.7:7000'), { host: '203.0.113.7', port: 7000 });
    assert.deepEqual(v.announceAddress.parse('proxy.example.com:6379'), { host: 'proxy.example.com', port: 6379 });
    assert.deepEqual(v.announceAddress.parse('[2001:db8::1]:6380'), { host: '2001:db8::1', port: 6380 });
    assert.equal(v.announceAddress.parse(''), null);
    for (const bad of ['203.0.113.7', '2001:db8::1:6380', 'host:0', 'host:65536', ':6379', 'a b:1', '[x]:1']) {
      assert.equal(refusal(v.announceAddress, bad), `${JSON.stringify(bad)} is not host:port (an IPv6 address in brackets: [2001:db8::1]:6379), or empty`);
    }
  });

  it('reads sizes as Redis writes them: no unit or b is bytes, k/m/g are 1000s, kb/mb/gb are 1024s', () => {
    const cases: [string, number][] = [
      ['0', 0], ['4096', 4096], ['10b', 10], ['1k', 1000], ['1kb', 1024], ['2m', 2_000_000], ['2MB', 2 * 1024 ** 2],
      ['1g', 1e9], ['1gb', 1024 ** 3], [' 64 mb ', 64 * 1024 ** 2],
    ];
    for (const [text, n] of cases) assert.equal(v.bytes.parse(text), n, text);
    assert.equal(refusal(v.bytes, '1tb'), '"1tb" is not a size (e.g. 0, 4096, 64mb, 1gb)');
    assert.equal(refusal(v.bytes, '-1'), '"-1" is not a size (e.g. 0, 4096, 64mb, 1gb)');
    assert.equal(refusal(v.bytes, '99999999999gb'), '"99999999999gb" is too large');
  });

  it('keeps request limits at 1mb or more, as Redis does', () => {
    assert.equal(v.requestLimit.parse('1mb'), 1024 * 1024);
    assert.match(refusal(v.requestLimit, '1023kb'), /^"1023kb" is below 1mb/);
    assert.equal(refusal(v.requestLimit, 'big'), '"big" is not a size (e.g. 0, 4096, 64mb, 1gb)');
  });

  it('reads durations as plain decimals, never exponents or signs', () => {
    assert.equal(v.seconds.parse('0'), 0);
    assert.equal(v.seconds.parse('2.5'), 2.5);
    assert.equal(v.seconds.parse('.5'), 0.5);
    for (const bad of ['-1', '1e3', '', 'NaN', String(v.MAX_TTL_SECONDS + 1)]) {
      assert.equal(refusal(v.seconds, bad), `${JSON.stringify(bad)} is not a number of seconds >= 0`);
    }
    assert.equal(v.ttlSeconds.parse(String(v.MAX_TTL_SECONDS)), v.MAX_TTL_SECONDS);
    assert.equal(refusal(v.ttlSeconds, '0'), '"0" is not a number of seconds > 0');
    assert.match(refusal(v.ttlSeconds, String(v.MAX_TTL_SECONDS + 1)), /is too long/);
  });

  it('reads output limits as three parts, each with its own type', () => {
    assert.deepEqual(v.outputLimit.parse('32mb 8mb 60'), { hardBytes: 32 * 1024 ** 2, softBytes: 8 * 1024 ** 2, softSeconds: 60 });
    assert.equal(refusal(v.outputLimit, '1mb 2mb'), '"1mb 2mb" is not "<hard> <soft> <seconds>" (e.g. "32mb 8mb 60")');
    assert.equal(refusal(v.outputLimit, '1mb lots 3'), '"lots" is not a size (e.g. 0, 4096, 64mb, 1gb)');
  });

  it('reads ports, "off", choices and booleans', () => {
    assert.equal(v.port.parse('65535'), 65535);
    assert.equal(v.portOrOff.parse('OFF'), null);
    assert.equal(v.coherence.parse('Tracking'), 'tracking');
    assert.equal(v.logFormat.parse('JSON'), 'json');
    assert.equal(refusal(v.logFormat, 'xml'), '"xml" is not a log format (auto, json, text)');
    assert.equal(v.boolean.parse(' Yes '), true);
    assert.equal(v.boolean.parse('0'), false);
    assert.equal(v.count.parse('1'), 1);
    assert.equal(refusal(v.count, '0'), '"0" is not a whole number >= 1');
    assert.equal(v.existingFile.parse(''), null);
    assert.equal(refusal(v.existingFile, '/no/such/file.pem'), '"/no/such/file.pem": no such file');
  });

  it('a port is exactly the digits 1-65535', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 7 }), (text) => {
        const n = v.toPort(text);
        const good = /^\d{1,5}$/.test(text) && Number(text) >= 1 && Number(text) <= 65535;
        assert.equal(n, good ? Number(text) : null);
      }),
    );
    fc.assert(fc.property(fc.integer({ min: 1, max: 65535 }), (n) => assert.equal(v.port.parse(String(n)), n)));
  });

  it('refuses with the phrase it shows as its "Value": "<text>" is not <expects>', () => {
    const types: [v.ValueType<unknown>, string][] = [
      [v.port, 'x'], [v.portOrOff, 'x'], [v.bindAddress, ''], [v.ttlSeconds, 'x'], [v.seconds, 'x'], [v.wholeNumber, 'x'],
      [v.count, 'x'], [v.keyCount, 'x'], [v.coherence, 'x'], [v.logLevel, 'x'], [v.logFormat, 'x'], [v.boolean, 'x'],
      [v.bytes, 'x'], [v.outputLimit, 'x'],
    ];
    for (const [type, text] of types) assert.equal(refusal(type, text), `${JSON.stringify(text)} is not ${type.expects}`);
  });
});
