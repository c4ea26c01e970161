// What a SIGHUP changes: the settings that differ, split by whether a running proxy can take them on.
import { FLAGS } from './flags.js';
/**
 * Which settings differ between two configurations, split by FlagSpec.live. Capacity is live
 * between two non-zero values only: turning the cache on or off changes which connections exist.
 */
export function diffConfig(before, after) {
    const changes = { live: [], restart: [] };
    for (const f of FLAGS) {
        if (JSON.stringify(before[f.key]) === JSON.stringify(after[f.key]))
            continue;
        let live = f.live === true;
        if (f.key === 'capacity' && (before.capacity === 0) !== (after.capacity === 0))
            live = false;
        (live ? changes.live : changes.restart).push(f.name);
    }
    return changes;
}
//# sourceMappingURL=diff.js.map