import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger, formatLine } from '../../src/log.js';

// The readable one-line format for terminals, and the switch between it and JSON.

function sink(isTTY: boolean): { stream: Writable & { isTTY?: boolean }; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  }) as Writable & { isTTY?: boolean };
  stream.isTTY = isTTY;
  return { stream, lines };
}

test('a pino line becomes "HH:MM:SS LEVEL msg key=value", quoting only where needed', () => {
  const line = JSON.stringify({
    level: 'warn', time: '2026-01-02T03:04:05.000Z', pid: 1, msg: 'closing client', client: '127.0.0.1:5000',
    bytes: 42, reason: 'over the limit', nested: { a: 1 }, err: { type: 'Error', message: 'boom now', stack: '...' }, empty: '',
  });
  const out = formatLine(`${line}\n`);
  assert.match(out, /^\d\d:\d\d:\d\d WARN  closing client client=127\.0\.0\.1:5000 bytes=42 reason="over the limit" nested=\{"a":1\} err="boom now" empty=""\n$/);
  assert.ok(!out.includes('pid='), 'pid and time are left out');
});

test('a line that is not JSON passes through', () => {
  assert.equal(formatLine('plain text\n'), 'plain text\n');
});

test('auto writes text to a terminal and JSON otherwise; the format can change live', () => {
  const tty = sink(true);
  const a = createLogger('info', 'auto', tty.stream);
  a.log.info({ k: 'v' }, 'hello');
  assert.match(tty.lines[0]!, /^\d\d:\d\d:\d\d INFO  hello k=v\n$/);

  const pipe = sink(false);
  const b = createLogger('info', 'auto', pipe.stream);
  b.log.info({ k: 'v' }, 'hello');
  assert.deepEqual(Object.keys(JSON.parse(pipe.lines[0]!)), ['level', 'time', 'pid', 'k', 'msg']);
  b.output.setFormat('text');
  b.log.info('now text');
  assert.match(pipe.lines[1]!, /^\d\d:\d\d:\d\d INFO  now text\n$/);
});

test('the level can change live', () => {
  const s = sink(false);
  const { log } = createLogger('info', 'json', s.stream);
  log.debug('hidden');
  log.level = 'debug';
  log.debug('shown');
  assert.equal(s.lines.length, 1);
  assert.equal(JSON.parse(s.lines[0]!).msg, 'shown');
});
