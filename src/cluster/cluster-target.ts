import type { Logger } from 'pino';
import type { BackendAddress } from '../config/config.js';
import type { TlsClientOptions } from '../backend/connect.js';
import type { LinkState } from '../backend/invalidation-link.js';
import type { CommandTableLoader } from '../backend/command-table-loader.js';
import type { CommandTable } from '../commands/command-table.js';
import { OwnConnection } from '../upstream/own-connection.js';
import { SharedPool } from '../upstream/shared-pool.js';
import { AwaitingAuth } from '../upstream/awaiting-auth.js';
import type { AuthAnswer, Upstream, UpstreamClient, UpstreamProvider } from '../upstream/upstream.js';
import { ClusterDiscovery, addressLike, openAuthed } from './cluster-discovery.js';
import { ClusterReply } from './redirect.js';
import type { SlotMap } from './topology.js';
import type { NodeLinks, NodeLinkStats } from './node-links.js';
import type { ReplyCache } from '../cache/reply-cache.js';
import type { SelfAddress } from './keyspace-self.js';
import type { TopologyChange } from './topology-change.js';
import { ClusterUpstream, addrKey, type ClusterRouting } from './cluster-upstream.js';
import { ClusterUserPools } from './cluster-user-pools.js';
import { UserLaneSeat } from './user-lane-seat.js';
import type { UserLogin } from './user-login.js';

// A Redis Cluster behind the proxy (--addr naming one or more of its nodes): the provider of
// ClusterUpstreams, which route each command to its slot's master. It owns what is bound to
// the cluster rather than to one client:
//
//   ClusterDiscovery ──'change'──▶ the slot map; a SharedPool per master (made for new
//                                  masters, stopped a little after a node stops being one),
//                                  and per master the pools of authenticated users
//                                  (ClusterUserPools: ACL rules are each node's own)
//   MOVED seen by a client ──▶ that slot goes to the named node until the map is read again
//   MOVED, a lost node connection, READONLY, CLUSTERDOWN ──▶ the map is read again (at most
//                                  one refresh in flight, see ClusterDiscovery); and on a timer
//
// The command table (key positions for routing, flags for sharing) is read from a node once.

export interface ClusterTargetOptions {
  seeds: BackendAddress[];
  tls: TlsClientOptions | undefined;
  /** size of each master's shared pool, and of each user's pool on it; 0: none */
  sharedConnections: number;
  /** most ACL users with a pool on one master (0: authenticated clients get lanes of their own) */
  maxUserPools?: number;
  log: Logger;
  commands: () => CommandTable | null;
  tableLoader: CommandTableLoader;
  refreshIntervalMs?: number;
  /** the cache's links, one per master (null: no cache) */
  links: NodeLinks | null;
  cache: ReplyCache | null;
}

/** A pool kept a little after its node stopped being a master: its seats' last replies (MOVED) still come. */
const POOL_GRACE_MS = 5000;
const RETRY_START_MS = 1000;

export interface ClusterStats {
  state: 'discovering' | 'ok' | 'degraded';
  nodes: ReturnType<SlotMap['describe']>;
  /** per node: its invalidation link, and the entries dropped for its slots (null without a cache) */
  links: NodeLinkStats[] | null;
  coveredSlots: number;
  redirects: { moved: number; ask: number; tryagain: number; clusterdown: number; readonly: number };
  refreshes: number;
  refreshFailures: number;
  topologyChanges: number;
  lastError: string | null;
  source: string | null;
}

export class ClusterTarget implements UpstreamProvider, ClusterRouting {
  readonly discovery: ClusterDiscovery;
  private map: SlotMap | null = null;
  private readonly pools = new Map<string, SharedPool>();
  /** the pools of authenticated clients, and their AUTH checks, per master (null: no per-user sharing) */
  private readonly users: ClusterUserPools | null;
  /** slots a MOVED sent elsewhere since the map was read */
  private readonly moved = new Map<number, BackendAddress>();
  private readonly redirects = { moved: 0, ask: 0, tryagain: 0, clusterdown: 0, readonly: 0 };
  private stopped = false;
  private startError: string | null = null;

  constructor(private readonly opts: ClusterTargetOptions) {
    const maxUserPools = opts.maxUserPools ?? 0;
    this.users =
      opts.sharedConnections > 0 && maxUserPools > 0
        ? new ClusterUserPools({ tls: opts.tls, size: opts.sharedConnections, maxPools: maxUserPools, log: opts.log, links: opts.links })
        : null;
    this.discovery = new ClusterDiscovery({ seeds: opts.seeds, tls: opts.tls, refreshIntervalMs: opts.refreshIntervalMs ?? 5000 });
    this.discovery.on('change', (change: TopologyChange, map: SlotMap, reason: string) => this.onChange(change, map, reason));
    this.discovery.on('refresh-error', (err: Error, reason: string) => {
      opts.log.warn({ reason, err: err.message }, 'cluster topology refresh failed');
    });
  }

  /** Reads the topology (retrying until a node answers), then the command table. */
  start(): void {
    const attempt = (delay: number): void => {
      if (this.stopped) return;
      this.discovery.start().then(
        () => this.loadCommands(RETRY_START_MS),
        (err: Error) => {
          this.startError = err.message;
          this.opts.log.warn({ err: err.message }, 'cluster: no topology yet, trying again');
          setTimeout(() => attempt(Math.min(delay * 2, 10_000)), delay).unref();
        },
      );
    };
    attempt(RETRY_START_MS);
  }

  private loadCommands(delay: number): void {
    if (this.stopped || this.map === null) return;
    const addr = this.discovery.addressOf(this.map.masters[0]);
    openAuthed(addr, this.opts.tls, 5000)
      .then(async (conn) => {
        try {
          await this.opts.tableLoader.attach(conn);
        } finally {
          conn.close();
        }
      })
      .catch((err: Error) => {
        this.opts.log.warn({ node: addr.display, err: err.message }, 'cluster: COMMAND failed, trying again');
        setTimeout(() => this.loadCommands(Math.min(delay * 2, 10_000)), delay).unref();
      });
  }

  /** A pool's connections track for its master's link; one that stops being tracked drops that master's slots. */
  private trackPool(pool: SharedPool, key: string): void {
    const links = this.opts.links;
    const link = links?.linkFor(key) ?? null;
    if (links === null || link === null) return;
    pool.tracking = link;
    link.on('tracking', () => {
      if (this.pools.get(key) === pool) pool.onTracking();
    });
    // a master's link lost: the node may be gone, read the map again
    link.on('down', () => {
      if (this.pools.get(key) === pool) this.refresh(`the link to ${key} is down`);
    });
    // a tracked shared connection closed: what was read through it is reported no more
    pool.onTrackingLost = () => void links.trackingLost(key);
  }

  /** Is the link of the master at `addr` tracking ('ttl-only': no tracking needed); null: its slots may not fill. */
  trackingOf(addr: BackendAddress): 'tracking' | 'ttl-only' | null {
    const link = this.opts.links?.linkFor(addrKey(addr)) ?? null;
    if (link === null) return null;
    if (link.state === 'ttl-only') return 'ttl-only';
    return link.state === 'up' && link.redirectId !== null ? 'tracking' : null;
  }

  get fills(): boolean {
    return this.opts.links !== null;
  }

  stop(): void {
    this.stopped = true;
    this.opts.links?.stop();
    this.discovery.stop();
    for (const p of this.pools.values()) p.stop();
    this.pools.clear();
    this.users?.stop();
  }

  private onChange(change: TopologyChange, map: SlotMap, reason: string): void {
    const first = this.map === null;
    this.map = map;
    this.startError = null;
    this.moved.clear();
    this.masters = map.masters.filter((m) => m.slots.length > 0).map((m) => this.discovery.addressOf(m));
    // links first: a new master's pool points its tracking at the new master's link
    this.opts.links?.update(map, change);
    const masters = new Set(map.masters.map((m) => addrKey(this.discovery.addressOf(m))));
    if (this.opts.sharedConnections > 0) {
      for (const m of map.masters) {
        const addr = this.discovery.addressOf(m);
        const key = addrKey(addr);
        if (this.pools.has(key)) continue;
        const pool = new SharedPool(addr, this.opts.tls, this.opts.sharedConnections, this.opts.log);
        this.pools.set(key, pool);
        this.trackPool(pool, key);
        pool.start();
      }
      for (const [key, pool] of this.pools) {
        if (masters.has(key)) continue;
        this.pools.delete(key);
        setTimeout(() => pool.stop(), POOL_GRACE_MS).unref();
      }
    }
    // (after the links: a new master's user pools point their tracking at its link; every
    // master's, as for the pools above: home() may name one that owns no slot)
    this.users?.update(map.masters.map((m) => this.discovery.addressOf(m)));
    const nodes = map.describe();
    const summary = map.masters.map((m) => `${m.host}:${m.port} [${nodes.find((n) => n.id === m.id)?.slots ?? ''}]`).join(', ');
    this.opts.log.info(
      {
        reason,
        nodes,
        movedSlots: change.movedSlots.length,
        promoted: change.promoted.map((n) => `${n.host}:${n.port}`),
        failed: change.failed.map((n) => `${n.host}:${n.port}`),
      },
      first ? `cluster: ${map.masters.length} masters: ${summary}` : `cluster topology changed (${reason}): masters ${summary}`,
    );
  }

  // ── ClusterRouting ──

  commands(): CommandTable | null {
    return this.opts.commands();
  }

  addrOfSlot(slot: number): BackendAddress | null {
    const m = this.moved.get(slot);
    if (m !== undefined) return m;
    const node = this.map?.masterOf(slot);
    return node === undefined ? null : this.discovery.addressOf(node);
  }

  /** where the proxy listens (set once it does): CLUSTER SLOTS/SHARDS/NODES name a client's own socket's local end, this where it has none */
  self: SelfAddress = { host: '127.0.0.1', port: 0 };
  /** --cluster-announce: what CLUSTER SLOTS/SHARDS/NODES name instead (null: a client's own socket's local end) */
  announce: SelfAddress | null = null;

  /** the masters that own slots, in the map's order (made again at each change) */
  private masters: BackendAddress[] = [];

  masterAddrs(): BackendAddress[] {
    return this.masters;
  }

  home(): BackendAddress | null {
    const first = this.map?.masters[0];
    return first === undefined ? (this.opts.seeds[0] ?? null) : this.discovery.addressOf(first);
  }

  addressOf(host: string, port: number): BackendAddress {
    return addressLike(this.opts.seeds[0], host, port);
  }

  connect(addr: BackendAddress, shared: boolean, client: UpstreamClient, login?: UserLogin | null): Upstream {
    // an authenticated client's lane: a seat on the node's pool of its user, once the node took its credentials
    if (shared && login != null && this.users !== null) return new UserLaneSeat(this.users, addr, this.opts.tls, login, client);
    if (shared) {
      const conn = this.pools.get(addrKey(addr))?.pick();
      if (conn) return conn.seat(client);
    }
    // (a node with no pool yet, or whose pool is down: this client's own connection)
    // (tracked for the master's link only on a client's own lanes: a shared client's fallback
    // connection has no FillOwner to die with it, so nothing is filled through it)
    const tracking = shared ? null : (this.opts.links?.targetFor(addrKey(addr)) ?? null);
    return new OwnConnection({ addr, tls: this.opts.tls, tracking }, client);
  }

  seatable(addr: BackendAddress): boolean {
    const pool = this.pools.get(addrKey(addr));
    return pool !== undefined && pool.probe.open && pool.connectionsUp > 0;
  }

  masterFor(addr: BackendAddress): BackendAddress {
    const map = this.map;
    if (map === null) return addr;
    const key = addrKey(addr);
    const node = map.nodes.find((n) => addrKey(this.discovery.addressOf(n)) === key);
    const master = node?.role === 'replica' && node.masterId !== null ? map.node(node.masterId) : undefined;
    return master === undefined ? addr : this.discovery.addressOf(master);
  }

  redirected(kind: ClusterReply, slot: number, to: BackendAddress | null): void {
    switch (kind) {
      case ClusterReply.Moved:
        this.redirects.moved++;
        if (to !== null) this.moved.set(slot, to);
        this.refresh('MOVED');
        break;
      case ClusterReply.Ask:
        this.redirects.ask++;
        break;
      case ClusterReply.TryAgain:
        this.redirects.tryagain++;
        break;
      case ClusterReply.ClusterDown:
        this.redirects.clusterdown++;
        this.refresh('CLUSTERDOWN');
        break;
      case ClusterReply.ReadOnly:
        this.redirects.readonly++;
        this.refresh('READONLY');
        break;
    }
  }

  refresh(reason: string): void {
    if (this.stopped || this.map === null) return;
    this.discovery.refresh(reason).catch(() => {
      /* reported as 'refresh-error' */
    });
  }

  // ── UpstreamProvider ──

  share(client: UpstreamClient): Upstream | null {
    if (this.opts.sharedConnections === 0 || this.opts.commands() === null || this.map === null) return null;
    const home = this.home();
    const pool = home === null ? undefined : this.pools.get(addrKey(home));
    // (the probe of the home node's pool says whether a fresh connection needs a password)
    if (pool === undefined || !pool.probe.open || pool.connectionsUp === 0) {
      // where the cluster wants one: no connection until the client's first request (see AwaitingAuth)
      return this.users !== null && pool?.probe.locked === true ? new AwaitingAuth(client) : null;
    }
    return new ClusterUpstream(this, client, true);
  }

  canPool(user: string): boolean {
    const home = this.home();
    return this.users !== null && this.map !== null && this.opts.commands() !== null && home !== null && this.users.canPool(home, user);
  }

  /** A client's AUTH is checked by its home node: the reply it gets is that node's. */
  verify(args: Buffer[], then: AuthAnswer): void {
    const home = this.home();
    if (this.users === null || home === null) then(null);
    else this.users.verify(home, args, then);
  }

  /**
   * A router of the user's pools, if every master takes the credentials (null: the AUTH goes
   * down lanes of the client's own). Its home lane is opened at once: the client is then its
   * user's client on that node, as a direct one would be (an ACL DELUSER closes it).
   */
  joinPool(user: string, password: Buffer, client: UpstreamClient, then: (seat: Upstream | null) => void): void {
    if (this.users === null) return then(null);
    this.users.admit(this.masters, user, password, (login) => {
      if (login === null || client.closed || this.stopped) return then(null);
      const up = new ClusterUpstream(this, client, true, login);
      up.homeLane();
      then(up);
    });
  }

  open(client: UpstreamClient): Upstream {
    return new ClusterUpstream(this, client, false);
  }

  /** counts changes of rules or passwords (ClusterRouting.accessEpoch) */
  accessEpoch = 0;

  accessChanging(): void {
    this.accessEpoch++;
    for (const p of this.pools.values()) p.probe.hold();
    this.users?.accessChanging();
  }

  accessChanged(): void {
    this.accessEpoch++;
    for (const p of this.pools.values()) p.probe.now();
    this.users?.accessChanged();
  }

  // ── what /stats, /readyz, metrics read ──

  get healthy(): boolean {
    return this.map !== null && this.map.coveredSlots === 16384 && this.discovery.stats.lastError === null;
  }

  // (what the proxy shows of a single Redis's link; a cluster has no one link yet)
  get linkState(): LinkState {
    return this.map === null ? 'connecting' : 'up';
  }
  get connects(): number {
    return this.discovery.stats.refreshes;
  }
  readonly link = null;
  readonly primary = null;

  get sharedConnectionsUp(): number {
    let n = this.users?.connectionsUp ?? 0;
    for (const p of this.pools.values()) n += p.connectionsUp;
    return n;
  }

  /** for /stats: user pools (one per user and master, summed), AUTHs answered from memory, and checked by a node */
  get userPools(): { users: number; authFromMemory: number; authChecks: number } | null {
    return this.users?.stats() ?? null;
  }

  get sharing(): boolean {
    for (const p of this.pools.values()) if (p.probe.open && p.connectionsUp > 0) return true;
    return false;
  }

  get trouble(): string | null {
    if (this.map === null) return `cluster topology not known yet${this.startError ? ` (${this.startError})` : ''}`;
    if (this.opts.commands() === null) return 'the command table has not been read from the cluster yet';
    if (this.map.coveredSlots < 16384) return `${16384 - this.map.coveredSlots} slots have no master`;
    return null;
  }

  stats(): ClusterStats {
    const s = this.discovery.stats;
    // (the last map read, not the last that changed routing: a replica's health changes
    // without a change of slots, e.g. from "loading" to "online" once it has synced)
    const seen = this.discovery.current ?? this.map;
    return {
      state: this.map === null ? 'discovering' : this.trouble === null ? 'ok' : 'degraded',
      links: this.opts.links?.stats(seen) ?? null,
      // (as the proxy reaches them: a TLS port when the seeds use TLS)
      nodes: seen?.describe().map((d, i) => ({ ...d, addr: addrKey(this.discovery.addressOf(seen.nodes[i])) })) ?? [],
      coveredSlots: this.map?.coveredSlots ?? 0,
      redirects: { ...this.redirects },
      refreshes: s.refreshes,
      refreshFailures: s.failures,
      topologyChanges: s.changes,
      lastError: s.lastError,
      source: s.lastSource ? `${s.lastSource.command} from ${s.lastSource.addr}` : null,
    };
  }
}
