import { asString, field, RedisErrorReply, type RespValue } from '../resp/reply-value.js';
import { SLOT_COUNT } from './key-slot.js';

/** The key a node is known by across the cluster code: `host:port` of the address the proxy reaches it at. */
export function addrKey(addr: { readonly host: string; readonly port: number }): string {
  return `${addr.host}:${addr.port}`;
}

// Who owns which slot, read from a node's `CLUSTER SHARDS` (Redis 7) or `CLUSTER SLOTS` reply.
// A SlotMap is a snapshot, never changed once built: a refresh builds a new one and
// topology-change.ts says what differs. Both replies give the same map for the same cluster,
// since the ranges are rebuilt from the slot table rather than copied from the reply.

export type NodeRole = 'master' | 'replica';
/** `unknown` when the reply does not say (CLUSTER SLOTS) */
export type NodeHealth = 'online' | 'failed' | 'loading' | 'unknown';

/** inclusive */
export interface SlotRange {
  readonly start: number;
  readonly end: number;
}

export interface ClusterNode {
  readonly id: string;
  /** where clients should connect: the node's preferred endpoint, `?` when it has none */
  readonly host: string;
  /** plain TCP port; 0 when the node has none */
  readonly port: number;
  readonly tlsPort: number | null;
  readonly role: NodeRole;
  /** a replica's master (null for masters and for replicas of an unknown master) */
  readonly masterId: string | null;
  readonly health: NodeHealth;
  /** the slots a master owns, sorted and merged; empty for replicas */
  readonly slots: readonly SlotRange[];
}

export class TopologyError extends Error {}

/** What a parser found before slots are resolved: a node and the ranges it claims. */
interface NodeDraft {
  id: string;
  host: string;
  port: number;
  tlsPort: number | null;
  role: NodeRole;
  masterId: string | null;
  health: NodeHealth;
  claims: SlotRange[];
}

export class SlotMap {
  /** every node: masters by their first slot (slotless ones last), each followed by its replicas */
  readonly nodes: readonly ClusterNode[];
  /** how many of the 16384 slots have an owner */
  readonly coveredSlots: number;
  /** slot → index in `nodes` of its master, -1 when nobody owns it */
  private readonly owners: Int16Array;
  private readonly byId: Map<string, ClusterNode>;

  private constructor(drafts: NodeDraft[]) {
    const masters = drafts.filter((d) => d.role === 'master');
    const owner = new Int16Array(SLOT_COUNT).fill(-1);
    for (let m = 0; m < masters.length; m++) {
      for (const r of masters[m].claims) owner.fill(m, r.start, r.end + 1);
    }
    const ranges: SlotRange[][] = masters.map(() => []);
    let covered = 0;
    for (let s = 0; s < SLOT_COUNT; ) {
      const m = owner[s];
      let e = s;
      while (e + 1 < SLOT_COUNT && owner[e + 1] === m) e++;
      if (m >= 0) {
        ranges[m].push({ start: s, end: e });
        covered += e - s + 1;
      }
      s = e + 1;
    }
    const order = masters.map((_, i) => i).sort((a, b) => firstSlot(ranges[a]) - firstSlot(ranges[b]) || cmp(masters[a].id, masters[b].id));
    const nodes: ClusterNode[] = [];
    const indexOfMaster = new Int16Array(masters.length);
    for (const m of order) {
      indexOfMaster[m] = nodes.length;
      nodes.push(freeze(masters[m], ranges[m]));
      const replicas = drafts.filter((d) => d.role === 'replica' && d.masterId === masters[m].id).sort((a, b) => cmp(a.id, b.id));
      for (const r of replicas) nodes.push(freeze(r, []));
    }
    const known = new Set(nodes.map((n) => n.id));
    for (const d of drafts.filter((x) => !known.has(x.id)).sort((a, b) => cmp(a.id, b.id))) nodes.push(freeze({ ...d, masterId: null }, []));
    for (let s = 0; s < SLOT_COUNT; s++) if (owner[s] >= 0) owner[s] = indexOfMaster[owner[s]];
    this.nodes = nodes;
    this.owners = owner;
    this.coveredSlots = covered;
    this.byId = new Map(nodes.map((n) => [n.id, n]));
  }

  /** the master that owns `slot`, if any */
  masterOf(slot: number): ClusterNode | undefined {
    const i = this.owners[slot];
    return i < 0 ? undefined : this.nodes[i];
  }

  node(id: string): ClusterNode | undefined {
    return this.byId.get(id);
  }

  get masters(): ClusterNode[] {
    return this.nodes.filter((n) => n.role === 'master');
  }

  replicasOf(masterId: string): ClusterNode[] {
    return this.nodes.filter((n) => n.role === 'replica' && n.masterId === masterId);
  }

  /** For the log and /stats: one entry per node, slots as `0-5460,5462`. */
  describe(): Array<{ id: string; addr: string; role: NodeRole; health: NodeHealth; master?: string; slots?: string }> {
    return this.nodes.map((n) => ({
      id: n.id,
      addr: `${n.host}:${n.port || n.tlsPort}`,
      role: n.role,
      health: n.health,
      ...(n.masterId !== null ? { master: n.masterId } : {}),
      ...(n.role === 'master' ? { slots: formatRanges(n.slots) } : {}),
    }));
  }

  /** Parse a `CLUSTER SHARDS` reply (RESP2 or RESP3). `askedHost`: the host the reply came from. */
  static fromShards(reply: RespValue, askedHost: string): SlotMap {
    const shards = expectArray(reply, 'CLUSTER SHARDS');
    const drafts: NodeDraft[] = [];
    for (const shard of shards) {
      const flat = expectArray(field(shard, 'slots') ?? null, 'a shard\'s slots');
      const claims: SlotRange[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) claims.push(range(flat[i], flat[i + 1]));
      const members: NodeDraft[] = expectArray(field(shard, 'nodes') ?? null, 'a shard\'s nodes').map((raw) => {
        const port = field(raw, 'port');
        const tlsPort = field(raw, 'tls-port');
        const health = asString(field(raw, 'health') ?? 'unknown');
        return {
          id: text(field(raw, 'id'), 'node id'),
          host: endpoint(field(raw, 'endpoint'), field(raw, 'ip'), askedHost),
          port: port === undefined ? 0 : int(port, 'port'),
          tlsPort: tlsPort === undefined ? null : int(tlsPort, 'tls-port'),
          role: asString(field(raw, 'role') ?? '') === 'master' ? 'master' : 'replica',
          masterId: null,
          // Redis says `fail`; `failed` is accepted too
          health: health === 'fail' || health === 'failed' ? 'failed' : health === 'online' || health === 'loading' ? health : 'unknown',
          claims: [],
        };
      });
      // a shard may list a failed old master beside the replica that took over: the slots
      // belong to the master that is not failed
      const master = members.find((n) => n.role === 'master' && n.health !== 'failed') ?? members.find((n) => n.role === 'master');
      for (const n of members) {
        if (n === master) n.claims = claims;
        else if (n.role === 'replica') n.masterId = master?.id ?? null;
        drafts.push(n);
      }
    }
    return new SlotMap(dedupe(drafts));
  }

  /** Parse a `CLUSTER SLOTS` reply (RESP2 or RESP3). `askedHost`: the host the reply came from. */
  static fromSlots(reply: RespValue, askedHost: string): SlotMap {
    const entries = expectArray(reply, 'CLUSTER SLOTS');
    const byId = new Map<string, NodeDraft>();
    const get = (raw: RespValue, role: NodeRole, masterId: string | null): NodeDraft => {
      const n = expectArray(raw, 'a node of CLUSTER SLOTS');
      const host = endpoint(n[0], field(n[3] ?? null, 'ip'), askedHost);
      const port = int(n[1], 'port');
      // Redis before 4 gives no id: the address is the identity then
      const id = n.length > 2 ? text(n[2], 'node id') : `${host}:${port}`;
      let d = byId.get(id);
      if (d === undefined) {
        d = { id, host, port, tlsPort: null, role, masterId, health: 'unknown', claims: [] };
        byId.set(id, d);
      }
      return d;
    };
    for (const raw of entries) {
      const e = expectArray(raw, 'a CLUSTER SLOTS entry');
      if (e.length < 3) throw new TopologyError('a CLUSTER SLOTS entry without a master');
      const master = get(e[2], 'master', null);
      master.claims.push(range(e[0], e[1]));
      for (let i = 3; i < e.length; i++) get(e[i], 'replica', master.id);
    }
    return new SlotMap([...byId.values()]);
  }
}

function freeze(d: NodeDraft, slots: SlotRange[]): ClusterNode {
  return Object.freeze({
    id: d.id,
    host: d.host,
    port: d.port,
    tlsPort: d.tlsPort,
    role: d.role,
    masterId: d.masterId,
    health: d.health,
    slots: Object.freeze(slots),
  });
}

/** A node listed twice (it should not be) counts once: the entry that claims slots wins. */
function dedupe(drafts: NodeDraft[]): NodeDraft[] {
  const byId = new Map<string, NodeDraft>();
  for (const d of drafts) {
    const seen = byId.get(d.id);
    if (seen === undefined || (seen.claims.length === 0 && d.claims.length > 0)) byId.set(d.id, d);
  }
  return [...byId.values()];
}

export function formatRanges(ranges: readonly SlotRange[]): string {
  return ranges.map((r) => (r.start === r.end ? `${r.start}` : `${r.start}-${r.end}`)).join(',');
}

function firstSlot(ranges: SlotRange[]): number {
  return ranges.length === 0 ? SLOT_COUNT : ranges[0].start;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A node's address for clients. The preferred endpoint, unless it is unknown: `?` (the node
 * has none of the configured type) falls back to its IP; empty or null means "the host you
 * asked" (cluster-preferred-endpoint-type unknown-endpoint).
 */
function endpoint(preferred: RespValue | undefined, ip: RespValue | undefined, askedHost: string): string {
  const e = preferred === undefined || preferred === null ? '' : asString(preferred);
  if (e !== '' && e !== '?') return e;
  const i = ip === undefined || ip === null ? '' : asString(ip);
  if (i !== '' && i !== '?') return i;
  return e === '?' ? '?' : askedHost;
}

function expectArray(v: RespValue, what: string): RespValue[] {
  if (v instanceof RedisErrorReply) throw new TopologyError(`${what}: ${v.message}`);
  if (!Array.isArray(v)) throw new TopologyError(`${what}: not an array`);
  return v;
}

function int(v: RespValue, what: string): number {
  const n = typeof v === 'number' ? v : Number(asString(v));
  if (!Number.isInteger(n) || n < 0) throw new TopologyError(`${what}: ${String(v)} is not a number`);
  return n;
}

function range(a: RespValue, b: RespValue): SlotRange {
  const start = int(a, 'slot');
  const end = int(b, 'slot');
  if (start > end || end >= SLOT_COUNT) throw new TopologyError(`bad slot range ${start}-${end}`);
  return { start, end };
}

function text(v: RespValue | undefined, what: string): string {
  if (v === undefined || v === null || Array.isArray(v) || v instanceof RedisErrorReply) throw new TopologyError(`${what} missing`);
  return asString(v);
}
