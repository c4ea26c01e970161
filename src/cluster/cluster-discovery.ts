import { EventEmitter } from 'node:events';
import type { BackendAddress } from '../config/config.js';
import type { TlsClientOptions } from '../backend/connect.js';
import { ControlConnection } from '../backend/control-connection.js';
import { asString, RedisErrorReply, type RespValue } from '../resp/reply-value.js';
import { SlotMap, TopologyError, type ClusterNode } from './topology.js';
import { diffSlotMaps, isNoChange, type TopologyChange } from './topology-change.js';

// Knows the cluster's topology: reads it from any node that answers (the seeds first, then
// every node it has learnt of) and reads it again on demand (after MOVED, a lost connection,
// READONLY...) and on a timer. Each new map that differs from the last is announced with
// what changed:
//
//   discovery.on('change', (change, map, reason) => ...)   // first load included (everything "added")
//   discovery.on('refresh-error', (err) => ...)            // no node gave a topology this time
//
// Refreshes never overlap: one runs, and the calls made meanwhile share a single next one,
// which starts after it (a MOVED seen mid-refresh may postdate what that refresh reads).
// All nodes share the seeds' credentials and TLS setting, as the issue's `--addr` promises.

export interface ClusterDiscoveryOptions {
  /** where to start; credentials and TLS of the first apply to every node */
  seeds: BackendAddress[];
  tls?: TlsClientOptions;
  /** ms between timed refreshes; 0: only on demand */
  refreshIntervalMs: number;
  /** ms to connect to a node, and for it to answer one command */
  timeoutMs?: number;
}

export interface DiscoveryStats {
  refreshes: number;
  failures: number;
  changes: number;
  lastError: string | null;
  /** the node the last topology came from, and the command that gave it */
  lastSource: { addr: string; command: 'CLUSTER SHARDS' | 'CLUSTER SLOTS' } | null;
}

export class NotAClusterError extends Error {}

/** The address of `host:port` with the seeds' credentials and TLS (a cluster has only database 0). */
export function addressLike(seed: BackendAddress, host: string, port: number): BackendAddress {
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const display = `${seed.tls ? 'rediss://' : ''}${seed.username !== null ? `${seed.username}@` : ''}${hostPart}:${port}`;
  return { host, port, tls: seed.tls, username: seed.username, password: seed.password, db: 0, display };
}

/** A node's client address: its TLS port when the seeds use TLS and it has one. */
export function nodeAddress(seed: BackendAddress, node: ClusterNode): BackendAddress {
  return addressLike(seed, node.host, seed.tls && node.tlsPort !== null ? node.tlsPort : node.port);
}

/** Opens a connection and authenticates it (RESP2: the replies read here do not need RESP3). */
export async function openAuthed(addr: BackendAddress, tls: TlsClientOptions | undefined, timeoutMs: number): Promise<ControlConnection> {
  const conn = await ControlConnection.open(addr, tls, timeoutMs);
  if (addr.password !== null) {
    const r = await ask(conn, addr.username !== null ? ['AUTH', addr.username, addr.password] : ['AUTH', addr.password], timeoutMs);
    if (r instanceof RedisErrorReply) {
      conn.close();
      throw new Error(`AUTH at ${addr.display} failed: ${r.message}`);
    }
  }
  return conn;
}

/** One command with a deadline: a node that stops answering (frozen, partitioned) is given up. */
function ask(conn: ControlConnection, args: string[], timeoutMs: number): Promise<RespValue> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      conn.close();
      reject(new Error(`no reply to ${args[0]} ${args[1] ?? ''} within ${timeoutMs} ms`));
    }, timeoutMs);
    conn.send(args).then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: Error) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

/**
 * Whether the first seed that answers runs in cluster mode (`INFO cluster`: cluster_enabled:1).
 * Rejects when no seed answers.
 */
export async function detectClusterMode(seeds: BackendAddress[], tls?: TlsClientOptions, timeoutMs = 2000): Promise<boolean> {
  const errors: string[] = [];
  for (const seed of seeds) {
    let conn: ControlConnection | null = null;
    try {
      conn = await openAuthed(seed, tls, timeoutMs);
      const info = await ask(conn, ['INFO', 'cluster'], timeoutMs);
      if (info instanceof RedisErrorReply) throw new Error(`INFO cluster at ${seed.display}: ${info.message}`);
      return /^cluster_enabled:1\r?$/m.test(asString(info));
    } catch (e) {
      errors.push(`${seed.display}: ${(e as Error).message}`);
    } finally {
      conn?.close();
    }
  }
  throw new Error(`no seed answers (${errors.join('; ')})`);
}

export class ClusterDiscovery extends EventEmitter {
  private readonly seed: BackendAddress;
  private readonly timeoutMs: number;
  private map: SlotMap | null = null;
  /** the connection the last topology came through, kept for the next refresh */
  private conn: ControlConnection | null = null;
  private connAddr: BackendAddress | null = null;
  /** CLUSTER SHARDS failed once (older server, or refused by ACL): ask CLUSTER SLOTS from then on */
  private slotsOnly = false;
  private inflight: Promise<SlotMap> | null = null;
  private next: Promise<SlotMap> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  readonly stats: DiscoveryStats = { refreshes: 0, failures: 0, changes: 0, lastError: null, lastSource: null };

  constructor(private readonly opts: ClusterDiscoveryOptions) {
    super();
    if (opts.seeds.length === 0) throw new Error('cluster discovery needs at least one seed address');
    this.seed = opts.seeds[0];
    this.timeoutMs = opts.timeoutMs ?? 2000;
  }

  /** The last topology read, null before the first. */
  get current(): SlotMap | null {
    return this.map;
  }

  /** The first topology, then the timer. Rejects with NotAClusterError when the seeds are not cluster nodes. */
  async start(): Promise<SlotMap> {
    if (!(await detectClusterMode(this.opts.seeds, this.opts.tls, this.timeoutMs))) {
      throw new NotAClusterError(`${this.seed.display} is not a cluster node (cluster_enabled:0)`);
    }
    const map = await this.refresh('start');
    if (this.opts.refreshIntervalMs > 0 && !this.stopped) {
      this.timer = setInterval(() => {
        this.refresh('timer').catch(() => {
          /* reported as 'refresh-error' */
        });
      }, this.opts.refreshIntervalMs);
      this.timer.unref();
    }
    return map;
  }

  /** Reads the topology again; calls made while one runs share the next one. */
  refresh(reason: string): Promise<SlotMap> {
    if (this.stopped) return Promise.reject(new Error('cluster discovery stopped'));
    if (this.inflight === null) return this.run(reason);
    this.next ??= this.inflight
      .catch(() => undefined)
      .then(() => {
        this.next = null;
        return this.run(reason);
      });
    return this.next;
  }

  /** The client address of a node (credentials and TLS of the seeds). */
  addressOf(node: ClusterNode): BackendAddress {
    return nodeAddress(this.seed, node);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.dropConnection();
  }

  private run(reason: string): Promise<SlotMap> {
    const p = this.fetch()
      .then(
        (map) => {
          this.apply(map, reason);
          return map;
        },
        (err: Error) => {
          this.stats.failures++;
          this.stats.lastError = err.message;
          if (this.listenerCount('refresh-error') > 0) this.emit('refresh-error', err, reason);
          throw err;
        },
      )
      .finally(() => {
        if (this.inflight === p) this.inflight = null;
      });
    this.inflight = p;
    return p;
  }

  private apply(map: SlotMap, reason: string): void {
    this.stats.refreshes++;
    this.stats.lastError = null;
    const before = this.map;
    this.map = map;
    const change: TopologyChange = diffSlotMaps(before, map);
    if (before !== null && isNoChange(change)) return;
    this.stats.changes++;
    this.emit('change', change, map, reason);
  }

  /** The topology from the kept connection, else from each candidate in turn. */
  private async fetch(): Promise<SlotMap> {
    const errors: string[] = [];
    if (this.conn !== null) {
      try {
        return await this.readFrom(this.conn, this.connAddr!);
      } catch (e) {
        errors.push(`${this.connAddr!.display}: ${(e as Error).message}`);
        this.dropConnection();
      }
    }
    for (const addr of this.candidates()) {
      if (this.stopped) break;
      let conn: ControlConnection | null = null;
      try {
        conn = await openAuthed(addr, this.opts.tls, this.timeoutMs);
        const map = await this.readFrom(conn, addr);
        this.keepConnection(conn, addr);
        return map;
      } catch (e) {
        conn?.close();
        errors.push(`${addr.display}: ${(e as Error).message}`);
      }
    }
    throw new Error(`no cluster node gave its topology (${errors.join('; ')})`);
  }

  /** Known masters that are not failed, then the other known nodes, then the seeds; each address once. */
  private candidates(): BackendAddress[] {
    const known = this.map?.nodes.filter((n) => n.host !== '?') ?? [];
    const rank = (n: ClusterNode) => (n.health === 'failed' ? 2 : n.role === 'master' ? 0 : 1);
    const ordered = [...known].sort((a, b) => rank(a) - rank(b)).map((n) => this.addressOf(n));
    const seen = new Set<string>();
    const out: BackendAddress[] = [];
    for (const a of [...ordered, ...this.opts.seeds]) {
      const key = `${a.host}:${a.port}`;
      if (!seen.has(key) && key !== (this.connAddr && `${this.connAddr.host}:${this.connAddr.port}`)) {
        seen.add(key);
        out.push(a);
      }
    }
    return out;
  }

  private async readFrom(conn: ControlConnection, addr: BackendAddress): Promise<SlotMap> {
    let map: SlotMap | null = null;
    let command: 'CLUSTER SHARDS' | 'CLUSTER SLOTS' = 'CLUSTER SHARDS';
    if (!this.slotsOnly) {
      const shards = await ask(conn, ['CLUSTER', 'SHARDS'], this.timeoutMs);
      if (shards instanceof RedisErrorReply) {
        // unknown subcommand (before 7.0) or refused by an ACL; a node outside cluster mode fails SLOTS too
        if (/cluster support disabled/i.test(shards.message)) throw new TopologyError(shards.message);
        this.slotsOnly = true;
      } else {
        map = SlotMap.fromShards(shards, addr.host);
      }
    }
    if (map === null) {
      command = 'CLUSTER SLOTS';
      map = SlotMap.fromSlots(await ask(conn, ['CLUSTER', 'SLOTS'], this.timeoutMs), addr.host);
    }
    // a node that has not joined yet (or was reset) knows no slots: ask another
    if (map.coveredSlots === 0) throw new TopologyError('the node knows no slot owners');
    this.stats.lastSource = { addr: addr.display, command };
    return map;
  }

  private keepConnection(conn: ControlConnection, addr: BackendAddress): void {
    this.dropConnection();
    if (this.stopped) {
      conn.close();
      return;
    }
    this.conn = conn;
    this.connAddr = addr;
    conn.once('close', () => {
      if (this.conn === conn) this.dropConnection();
    });
  }

  private dropConnection(): void {
    const c = this.conn;
    this.conn = null;
    this.connAddr = null;
    c?.close();
  }
}
