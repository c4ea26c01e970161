// A cluster with a proxy in front of it, as most cluster test files start them: once per
// file, the proxy ready (`/readyz`) before the first test, both stopped after the last.
import { startAdminProxy, type AdminProxy, type AdminProxyOptions } from './admin-proxy.js';
import { startCluster, type RedisCluster, type StartClusterOptions } from './cluster.js';
import { eventually } from './eventually.js';
import { proxyStats } from './stats.js';

export interface ClusterProxy {
  cluster: RedisCluster;
  ap: AdminProxy;
}

/** A 6-node cluster, and a proxy (with its admin port) pointed at its first node. */
export async function startClusterProxy(opts: { cluster?: StartClusterOptions; proxy?: AdminProxyOptions } = {}): Promise<ClusterProxy> {
  const cluster = await startCluster(opts.cluster);
  try {
    const ap = await startAdminProxy(cluster.ports[0], { until: 'readyz', readyMs: 20_000, ...opts.proxy });
    return { cluster, ap };
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}

/** Stops what startClusterProxy started (either may be missing: its start failed). */
export async function stopClusterProxy(ap: AdminProxy | undefined, cluster: RedisCluster | undefined): Promise<void> {
  await ap?.proxy.stop();
  await cluster?.stop();
}

/** Resolves once the proxy reports every master's invalidation link tracking (their slots may fill). */
export async function everyLinkTracking(ap: AdminProxy, masters = 3): Promise<void> {
  await eventually('every link tracking', async () => {
    const st = (await proxyStats(ap.admin)) as unknown as { cluster: { links: Array<{ role: string; tracking: boolean }> | null } };
    const links = st.cluster.links?.filter((l) => l.role === 'master') ?? [];
    return links.length === masters && links.every((l) => l.tracking);
  }, 10_000);
}
