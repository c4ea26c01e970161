import { SLOT_COUNT } from './key-slot.js';
import type { ClusterNode, SlotMap, SlotRange } from './topology.js';

// What differs between two snapshots of the cluster. The cache needs the slots whose owner
// changed (a failover moves every slot of its shard: the promoted replica knows nothing of
// the old master's tracking); the log and the connection pools need the nodes.

export interface TopologyChange {
  /** slots whose master is another node now (or that gained or lost their owner), merged into ranges */
  readonly movedSlots: readonly SlotRange[];
  readonly added: readonly ClusterNode[];
  readonly removed: readonly ClusterNode[];
  /** replicas that are masters now */
  readonly promoted: readonly ClusterNode[];
  /** masters that are replicas now */
  readonly demoted: readonly ClusterNode[];
  /** same id, another host or port */
  readonly readdressed: readonly ClusterNode[];
  /** nodes that became failed, or stopped being failed */
  readonly failed: readonly ClusterNode[];
  readonly recovered: readonly ClusterNode[];
}

/** What changed from `before` (null: nothing was known) to `after`. */
export function diffSlotMaps(before: SlotMap | null, after: SlotMap): TopologyChange {
  const movedSlots: SlotRange[] = [];
  let runStart = -1;
  for (let s = 0; s <= SLOT_COUNT; s++) {
    const moved = s < SLOT_COUNT && before?.masterOf(s)?.id !== after.masterOf(s)?.id;
    if (moved && runStart < 0) runStart = s;
    if (!moved && runStart >= 0) {
      movedSlots.push({ start: runStart, end: s - 1 });
      runStart = -1;
    }
  }
  const added: ClusterNode[] = [];
  const promoted: ClusterNode[] = [];
  const demoted: ClusterNode[] = [];
  const readdressed: ClusterNode[] = [];
  const failed: ClusterNode[] = [];
  const recovered: ClusterNode[] = [];
  for (const n of after.nodes) {
    const old = before?.node(n.id);
    if (old === undefined) {
      added.push(n);
      continue;
    }
    if (old.role === 'replica' && n.role === 'master') promoted.push(n);
    if (old.role === 'master' && n.role === 'replica') demoted.push(n);
    if (old.host !== n.host || old.port !== n.port || old.tlsPort !== n.tlsPort) readdressed.push(n);
    if (old.health !== 'failed' && n.health === 'failed') failed.push(n);
    if (old.health === 'failed' && n.health !== 'failed') recovered.push(n);
  }
  const removed = before === null ? [] : before.nodes.filter((n) => after.node(n.id) === undefined);
  return { movedSlots, added, removed, promoted, demoted, readdressed, failed, recovered };
}

export function isNoChange(c: TopologyChange): boolean {
  return (
    c.movedSlots.length === 0 &&
    c.added.length === 0 &&
    c.removed.length === 0 &&
    c.promoted.length === 0 &&
    c.demoted.length === 0 &&
    c.readdressed.length === 0 &&
    c.failed.length === 0 &&
    c.recovered.length === 0
  );
}
