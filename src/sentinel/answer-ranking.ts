import type { SentinelAnswer } from './sentinel-connection.js';
import { keyOf, type HostPort } from './sentinel-options.js';

// Sentinels learn a failover's new configuration one by one (over their hello channel, in
// about two seconds), so for a while some name the new primary and some the old, which may
// itself still say "master" until it is demoted. The config epoch orders configurations:
// the highest wins over the most votes; then the most votes; then the node already followed.

export interface Candidate {
  hp: HostPort;
  /** highest config epoch among the sentinels naming it */
  epoch: number;
  /** sentinels naming it */
  votes: number;
  /** index of the first sentinel (in list order) naming it */
  order: number;
  /** that sentinel, for messages */
  by: string;
}

/** Distinct addresses named, best first: highest epoch, then most sentinels, then the one followed, then list order. */
export function rankAnswers(answers: Array<SentinelAnswer | Error>, sentinels: string[], current: HostPort | null): Candidate[] {
  const byKey = new Map<string, Candidate>();
  answers.forEach((a, i) => {
    if (a instanceof Error || a.primary === null) return;
    const key = keyOf(a.primary);
    const c = byKey.get(key);
    if (c === undefined) byKey.set(key, { hp: a.primary, epoch: a.epoch, votes: 1, order: i, by: sentinels[i] });
    else {
      c.votes++;
      c.epoch = Math.max(c.epoch, a.epoch);
    }
  });
  const currentKey = current === null ? null : keyOf(current);
  return [...byKey.entries()]
    .sort(([ka, a], [kb, b]) => b.epoch - a.epoch || b.votes - a.votes || Number(kb === currentKey) - Number(ka === currentKey) || a.order - b.order)
    .map(([, c]) => c);
}
