import { Counter, Gauge, type Registry } from 'prom-client';
import type { ClusterStats } from '../cluster/cluster-target.js';

// What /metrics says of the cluster (only in cluster mode), read when scraped: the nodes and
// their roles, redirects and retries, topology refreshes, and with the cache on each master's
// invalidation link and the entries dropped for its slots, by reason.

export function registerClusterMetrics(reg: Registry, stats: () => ClusterStats): void {
  new Gauge({
    name: 'redisproxy_cluster_nodes', help: 'Cluster nodes in the last topology, by role', labelNames: ['role'], registers: [reg],
    collect() {
      this.reset();
      const nodes = stats().nodes;
      this.set({ role: 'master' }, nodes.filter((n) => n.role === 'master').length);
      this.set({ role: 'replica' }, nodes.filter((n) => n.role === 'replica').length);
    },
  });
  new Gauge({
    name: 'redisproxy_cluster_slots_covered', help: 'Slots (of 16384) that have a master in the last topology', registers: [reg],
    collect() { this.set(stats().coveredSlots); },
  });
  new Counter({
    name: 'redisproxy_cluster_redirects_total', help: 'MOVED and ASK followed, TRYAGAIN, CLUSTERDOWN and READONLY retried, inside the proxy', labelNames: ['kind'], registers: [reg],
    collect() {
      this.reset();
      const r = stats().redirects;
      for (const kind of ['moved', 'ask', 'tryagain', 'clusterdown', 'readonly'] as const) this.inc({ kind }, r[kind]);
    },
  });
  new Counter({
    name: 'redisproxy_cluster_topology_refreshes_total', help: 'Topology reads, by outcome (changed: a new map differed from the last)', labelNames: ['outcome'], registers: [reg],
    collect() {
      this.reset();
      const s = stats();
      this.inc({ outcome: 'ok' }, s.refreshes);
      this.inc({ outcome: 'failed' }, s.refreshFailures);
      this.inc({ outcome: 'changed' }, s.topologyChanges);
    },
  });
  new Gauge({
    name: 'redisproxy_cluster_link_tracking', help: '1 while the master\'s invalidation link tracks (its slots may fill), 0 otherwise; cache on only', labelNames: ['node'], registers: [reg],
    collect() {
      this.reset();
      for (const l of stats().links ?? []) if (l.role === 'master') this.set({ node: l.addr }, l.tracking ? 1 : 0);
    },
  });
  new Counter({
    name: 'redisproxy_cluster_entries_dropped_total', help: 'Cache entries dropped for a node\'s slots, by reason', labelNames: ['node', 'reason'], registers: [reg],
    collect() {
      this.reset();
      for (const l of stats().links ?? []) {
        for (const [reason, n] of Object.entries(l.dropped)) if (n > 0) this.inc({ node: l.addr, reason }, n);
      }
    },
  });
}
