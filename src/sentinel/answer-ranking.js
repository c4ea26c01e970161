import { keyOf } from './sentinel-options.js';
/** Distinct addresses named, best first: highest epoch, then most sentinels, then the one followed, then list order. */
export function rankAnswers(answers, sentinels, current) {
    const byKey = new Map();
    answers.forEach((a, i) => {
        if (a instanceof Error || a.primary === null)
            return;
        const key = keyOf(a.primary);
        const c = byKey.get(key);
        if (c === undefined)
            byKey.set(key, { hp: a.primary, epoch: a.epoch, votes: 1, order: i, by: sentinels[i] });
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
//# sourceMappingURL=answer-ranking.js.map