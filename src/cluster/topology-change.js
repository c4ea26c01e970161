import { SLOT_COUNT } from './key-slot.js';
/** What changed from `before` (null: nothing was known) to `after`. */
export function diffSlotMaps(before, after) {
    const movedSlots = [];
    let runStart = -1;
    for (let s = 0; s <= SLOT_COUNT; s++) {
        const moved = s < SLOT_COUNT && before?.masterOf(s)?.id !== after.masterOf(s)?.id;
        if (moved && runStart < 0)
            runStart = s;
        if (!moved && runStart >= 0) {
            movedSlots.push({ start: runStart, end: s - 1 });
            runStart = -1;
        }
    }
    const added = [];
    const promoted = [];
    const demoted = [];
    const readdressed = [];
    const failed = [];
    const recovered = [];
    for (const n of after.nodes) {
        const old = before?.node(n.id);
        if (old === undefined) {
            added.push(n);
            continue;
        }
        if (old.role === 'replica' && n.role === 'master')
            promoted.push(n);
        if (old.role === 'master' && n.role === 'replica')
            demoted.push(n);
        if (old.host !== n.host || old.port !== n.port || old.tlsPort !== n.tlsPort)
            readdressed.push(n);
        if (old.health !== 'failed' && n.health === 'failed')
            failed.push(n);
        if (old.health === 'failed' && n.health !== 'failed')
            recovered.push(n);
    }
    const removed = before === null ? [] : before.nodes.filter((n) => after.node(n.id) === undefined);
    return { movedSlots, added, removed, promoted, demoted, readdressed, failed, recovered };
}
export function isNoChange(c) {
    return (c.movedSlots.length === 0 &&
        c.added.length === 0 &&
        c.removed.length === 0 &&
        c.promoted.length === 0 &&
        c.demoted.length === 0 &&
        c.readdressed.length === 0 &&
        c.failed.length === 0 &&
        c.recovered.length === 0);
}
//# sourceMappingURL=topology-change.js.map