// Which of the addresses the sentinels name is tried first (no I/O).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rankAnswers } from '../../src/sentinel/answer-ranking.js';
import type { SentinelAnswer } from '../../src/sentinel/sentinel-connection.js';

const S = ['s0', 's1', 's2'];
const at = (port: number, epoch: number): SentinelAnswer => ({ primary: { host: '127.0.0.1', port }, epoch });
const ports = (answers: Array<SentinelAnswer | Error>, current: number | null = null) =>
  rankAnswers(answers, S, current === null ? null : { host: '127.0.0.1', port: current }).map((c) => c.hp.port);

test('a newer config epoch wins over more sentinels naming an older one', () => {
  // s2 has heard of the failover, s0 and s1 not yet
  assert.deepEqual(ports([at(6379, 3), at(6379, 3), at(6380, 4)], 6379), [6380, 6379]);
});

test('among equal epochs the most named comes first, then the one followed, then list order', () => {
  assert.deepEqual(ports([at(1, 0), at(2, 0), at(2, 0)]), [2, 1]);
  assert.deepEqual(ports([at(1, 0), at(2, 0)], 2), [2, 1]);
  assert.deepEqual(ports([at(1, 0), at(2, 0)]), [1, 2]);
});

test('sentinels that failed or know no such master name nothing; each address is tried once', () => {
  const ranked = rankAnswers([new Error('down'), { primary: null, epoch: -1 }, at(7, 1), at(7, 2)], ['a', 'b', 'c', 'd'], null);
  assert.deepEqual(ranked.map((c) => [c.hp.port, c.epoch, c.votes, c.by]), [[7, 2, 2, 'c']]);
  assert.deepEqual(rankAnswers([new Error('down')], ['a'], null), []);
});
