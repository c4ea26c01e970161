import { createHash } from 'node:crypto';
import { SLOT_COUNT } from './key-slot.js';
import { arrayReply, bulkReply, integerReply, mapReply, textReply } from './keyspace-resp.js';

// The proxy's own answer to CLUSTER SLOTS / SHARDS / NODES / INFO / MYID: one master, at the
// proxy's address, owning all 16384 slots, with no replicas. A cluster-aware client pointed at
// the proxy then sends everything to the proxy, which routes it; a cluster-unaware one never
// asks. The shapes are those of a real Redis 7 node that owns every slot alone (the tests
// compare them byte for byte with one), with the proxy's address and id in place of its own.
//
// The id is a function of the address, so it is the same across restarts, and two proxies
// at different addresses never share one.

export interface SelfAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * The proxy as one client reached it: its socket's local end (an IPv4-mapped IPv6 address
 * unwrapped), so that a proxy listening on every address names one the client can reach;
 * `listening` (where the proxy listens) when the socket has no address (a Unix socket).
 */
export function selfAsReached(listening: SelfAddress, socket: { readonly localAddress?: string; readonly localPort?: number } | undefined): SelfAddress {
  const host = socket?.localAddress;
  const port = socket?.localPort;
  if (host === undefined || host === '' || port === undefined) return listening;
  return { host: host.startsWith('::ffff:') && host.includes('.') ? host.slice(7) : host, port };
}

export function selfNodeId(self: SelfAddress): string {
  return createHash('sha1').update(`redisproxy ${self.host}:${self.port}`).digest('hex');
}

const LAST_SLOT = SLOT_COUNT - 1;

/** `*1 [0 16383 [host port id {}]]` */
export function clusterSlotsReply(self: SelfAddress, resp3: boolean): Buffer {
  const node = arrayReply([bulkReply(self.host), integerReply(self.port), bulkReply(selfNodeId(self)), Buffer.from(resp3 ? '%0\r\n' : '*0\r\n', 'latin1')]);
  return arrayReply([arrayReply([integerReply(0), integerReply(LAST_SLOT), node])]);
}

export function clusterShardsReply(self: SelfAddress, resp3: boolean): Buffer {
  const node = mapReply(
    [
      ['id', bulkReply(selfNodeId(self))],
      ['port', integerReply(self.port)],
      ['ip', bulkReply(self.host)],
      ['endpoint', bulkReply(self.host)],
      ['role', bulkReply('master')],
      ['replication-offset', integerReply(0)],
      ['health', bulkReply('online')],
    ],
    resp3,
  );
  const shard = mapReply(
    [
      ['slots', arrayReply([integerReply(0), integerReply(LAST_SLOT)])],
      ['nodes', arrayReply([node])],
    ],
    resp3,
  );
  return arrayReply([shard]);
}

/** The bus port is given as 0: there is no cluster bus at the proxy. */
export function clusterNodesReply(self: SelfAddress, resp3: boolean): Buffer {
  return textReply(`${selfNodeId(self)} ${self.host}:${self.port}@0 myself,master - 0 0 0 connected 0-${LAST_SLOT}\n`, resp3);
}

export function clusterInfoReply(resp3: boolean): Buffer {
  const lines = [
    'cluster_state:ok',
    `cluster_slots_assigned:${SLOT_COUNT}`,
    `cluster_slots_ok:${SLOT_COUNT}`,
    'cluster_slots_pfail:0',
    'cluster_slots_fail:0',
    'cluster_known_nodes:1',
    'cluster_size:1',
    'cluster_current_epoch:0',
    'cluster_my_epoch:0',
    'cluster_stats_messages_sent:0',
    'cluster_stats_messages_received:0',
    'total_cluster_links_buffer_limit_exceeded:0',
  ];
  return textReply(lines.map((l) => `${l}\r\n`).join(''), resp3);
}

export function clusterMyIdReply(self: SelfAddress): Buffer {
  return bulkReply(selfNodeId(self));
}
