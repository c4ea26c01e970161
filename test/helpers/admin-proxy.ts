// The usual fixture: a proxy with its admin listener on a free port, returned once it serves
// (its invalidation link is up, or /readyz answers 200).
import { eventually } from './eventually.js';
import { startProxy, type ProxyProcess, type StartProxyOptions } from './proxy.js';
import { proxyStats } from './stats.js';
import { getFreePort } from './util.js';

export interface AdminProxy {
  proxy: ProxyProcess;
  admin: number;
  url(path: string): string;
}

export interface AdminProxyOptions extends Omit<StartProxyOptions, 'redisPort'> {
  /** the admin port, when the caller configures it itself (e.g. in a config file): --admin-port is then not added */
  adminPort?: number;
  /** what "serves" means: the link is up (default) or /readyz answers 200 */
  until?: 'link' | 'readyz';
  /** how long to wait for it (default 10 s) */
  readyMs?: number;
}

/**
 * Waits until the proxy's invalidation link is up ('up', or 'ttl-only' under --coherence ttl;
 * a proxy with the cache off has no link): the cache serves only then.
 */
export async function linkUp(adminPort: number, ms = 10_000): Promise<void> {
  await eventually(
    'invalidation link up',
    async () => {
      const { link } = await proxyStats(adminPort);
      return link === null || link.state === 'up' || link.state === 'ttl-only';
    },
    ms,
    20,
  );
}

export async function startAdminProxy(redisPort: number, opts: AdminProxyOptions = {}): Promise<AdminProxy> {
  const { adminPort, until = 'link', readyMs = 10_000, ...rest } = opts;
  const admin = adminPort ?? (await getFreePort());
  const args = adminPort === undefined ? ['--admin-port', String(admin), ...(rest.args ?? [])] : rest.args ?? [];
  const proxy = await startProxy({ ...rest, redisPort, args });
  const url = (path: string) => `http://127.0.0.1:${admin}${path}`;
  try {
    if (until === 'link') await linkUp(admin, readyMs);
    else await eventually('proxy ready', async () => (await fetch(url('/readyz'))).status === 200, readyMs, 10);
  } catch (e) {
    await proxy.kill();
    throw e;
  }
  return { proxy, admin, url };
}
