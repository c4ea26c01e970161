import { readFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import type tls from 'node:tls';
import type { Config } from './config/config.js';
import { diffConfig } from './config/diff.js';
import { FLAGS } from './config/flags.js';
import { redactedConfig } from './config/redact.js';
import { packageVersion } from './config/version.js';
import { createLogger } from './log.js';
import { ReplyCache } from './cache/reply-cache.js';
import { CommandTable } from './commands/command-table.js';
import type { InvalidationLink } from './backend/invalidation-link.js';
import { CommandTableLoader } from './backend/command-table-loader.js';
import { AclWatch } from './backend/acl-watch.js';
import { HealthWatchdog } from './backend/health-watchdog.js';
import { PrimaryTarget } from './upstream/primary-target.js';
import { ClusterTarget } from './cluster/cluster-target.js';
import { detectClusterMode } from './cluster/cluster-discovery.js';
import { NodeLinks } from './cluster/node-links.js';
import { followerFromConfig } from './sentinel/follower-from-config.js';
import { registerSentinelMetrics } from './metrics/sentinel-metrics.js';
import { registerClusterMetrics } from './metrics/cluster-metrics.js';
import type { TlsClientOptions } from './backend/connect.js';
import { spawnRedisIfMissing } from './backend/spawn-redis.js';
import { Listener } from './server/listener.js';
import type { SessionContext, SessionLimits } from './session/session.js';
import { AdminServer } from './http/admin-server.js';
import { KeyReader } from './http/key-reader.js';
import { ProxyMetrics } from './metrics/proxy-metrics.js';

// Wires the stations together; holds no logic of its own.

export interface RunningProxy {
  port: number;
  adminPort: number | null;
  stats(): Record<string, unknown>;
  /** read the configuration again and apply what can change live (what SIGHUP does) */
  reload(): boolean;
  shutdown(graceMs?: number): Promise<void>;
}

export interface StartOptions {
  /** builds the configuration again for a reload (SIGHUP); without it, SIGHUP only logs */
  loadConfig?: () => Config;
  /** install SIGTERM/SIGINT/SIGHUP handlers (default true) */
  signals?: boolean;
}

const STATS_LOG_INTERVAL_MS = 60_000;

function sessionLimits(config: Config): SessionLimits {
  return {
    maxBulkLen: config.protoMaxBulkLen,
    queryBufferLimit: config.queryBufferLimit,
    outputNormal: config.outputLimitNormal,
    outputPubsub: config.outputLimitPubsub,
  };
}

function backendTls(config: Config): TlsClientOptions | undefined {
  if (!config.addr.tls) return undefined;
  return {
    ca: config.redisCa ? readFileSync(config.redisCa) : undefined,
    cert: config.redisCert ? readFileSync(config.redisCert) : undefined,
    key: config.redisKey ? readFileSync(config.redisKey) : undefined,
  };
}

function listenerTls(config: Config): tls.TlsOptions | undefined {
  if (!config.tlsCert || !config.tlsKey) return undefined;
  const ca = config.tlsCa ? readFileSync(config.tlsCa) : undefined;
  return { cert: readFileSync(config.tlsCert), key: readFileSync(config.tlsKey), ca, requestCert: !!ca, rejectUnauthorized: !!ca };
}

const isLoopback = (host: string) => host === 'localhost' || host === '::1' || host.startsWith('127.');

export async function startProxy(config: Config, opts: StartOptions = {}): Promise<RunningProxy> {
  const { log, output: logOutput } = createLogger(config.logLevel, config.logFormat);
  log.info({ config: redactedConfig(config) }, 'configuration');
  /** the settings in force: live ones follow reloads, the others stay as started */
  let current = config;
  let child: ChildProcess | null = null;
  if (config.spawnRedis) child = await spawnRedisIfMissing(config.addr, log);

  const redisTls = backendTls(config);
  const clusterMode = await isCluster(config, redisTls, log);
  const cache =
    config.capacity > 0 ? new ReplyCache({ capacity: config.capacity, ttlMs: config.ttl * 1000, maxBytes: config.maxMemory }) : null;
  let commands: CommandTable | null = null;
  // command flags also tell blocking commands apart for --backend-timeout and sharing
  const tableLoader = new CommandTableLoader((t) => {
    commands = t;
  });
  // --addr, or the primary the sentinels name: its shared pool (stateless clients share a few
  // pipelined connections) and its invalidation link (without a cache it only watches
  // reachability and, for sharing, reads COMMAND), made again at each switch
  const follower = followerFromConfig(config, redisTls, log);
  // on every link (one per master on a cluster): entries filled under the old rules go, and
  // who may share is checked again
  const aclWatch = (c: ReplyCache) =>
    new AclWatch({
      log,
      onChange: () => {
        c.invalidateAll();
        target.accessChanged();
      },
    });
  // a cluster: ClusterUpstreams route each command to its slot's master (cluster/)
  const target: PrimaryTarget | ClusterTarget = clusterMode
    ? new ClusterTarget({
        seeds: config.seeds,
        tls: redisTls,
        sharedConnections: config.sharedConnections,
        maxUserPools: config.maxUserPools,
        log,
        commands: () => commands,
        tableLoader,
        cache,
        // the cache on a cluster: one invalidation link per master, each with its watchdog
        links: cache
          ? new NodeLinks({
              seed: config.seeds[0],
              tls: redisTls,
              cache,
              coherence: config.coherence,
              log,
              equip: (link, view) => {
                link.use(aclWatch(cache));
                link.use(new HealthWatchdog(link, { cache: view, log }));
              },
            })
          : null,
      })
    : new PrimaryTarget({
        addr: config.addr,
        follower,
        tls: redisTls,
        sharedConnections: config.sharedConnections,
        maxUserPools: config.maxUserPools,
        cache,
        coherence: config.coherence,
        log,
        commands: () => commands,
        equip: (link: InvalidationLink) => {
          link.use(tableLoader);
          if (cache) link.use(aclWatch(cache));
          return link.use(new HealthWatchdog(link, { cache, log }));
        },
      });
  const cluster = target instanceof ClusterTarget ? target : null;

  let listener: Listener | null = null;
  let keyReader: KeyReader | null = null;
  // Metrics only when someone can read them (--admin-port): otherwise sessions get no observer.
  const metrics =
    config.adminPort === null
      ? null
      : new ProxyMetrics({
          clients: () => ({
            connected: listener?.sessions.size ?? 0,
            accepted: listener?.clientsTotal ?? 0,
            rejected: listener?.clientsRejected ?? 0,
            outputLimitDisconnects: listener?.outputLimitDisconnects ?? 0,
          }),
          backendConnections: () =>
            [...(listener?.sessions ?? [])].filter((s) => s.ownsConnection).length +
            (keyReader?.sessions ?? 0) +
            target.sharedConnectionsUp +
            (target.healthy ? 1 : 0),
          cache,
          cacheLimits: () => ({ capacity: current.capacity, maxBytes: current.maxMemory, ttlSeconds: current.ttl }),
          link: () => ({ state: target.linkState, connects: target.connects, healthy: target.healthy }),
          maxClients: () => current.maxClients,
          ready: () => !draining && target.trouble === null,
          knownCommand: (name) => (commands === null ? undefined : commands.lookup(name, []) !== undefined),
          version: packageVersion(),
        });
  if (metrics && follower) registerSentinelMetrics(metrics.registry, () => follower.state());
  if (metrics && cluster) registerClusterMetrics(metrics.registry, () => cluster.stats());

  // one object shared by every session, updated in place on reload
  const limits = sessionLimits(config);
  const ctx: Omit<SessionContext, 'onClose'> = {
    cache,
    commands: () => commands,
    limits,
    log,
    observer: metrics ?? undefined,
    upstreams: target,
  };
  target.start();
  const clientTls = listenerTls(config);
  listener = new Listener(ctx, config.maxClients, log, clientTls);
  listener.setTimeouts(config.idleTimeout * 1000, config.backendTimeout * 1000);
  const address = await listener.listen(config.port, config.bind);
  // (CLUSTER SLOTS through the proxy names it: an address clients can reach it at)
  if (cluster) {
    cluster.self = { host: address.address === '0.0.0.0' || address.address === '::' ? '127.0.0.1' : address.address, port: address.port };
    cluster.announce = config.clusterAnnounce;
  } else if (config.clusterAnnounce !== null) {
    log.warn({ clusterAnnounce: `${config.clusterAnnounce.host}:${config.clusterAnnounce.port}` }, '--cluster-announce has no effect: Redis at --addr is not a cluster');
  }

  if (!isLoopback(config.bind) && config.addr.password === null && !clientTls) {
    log.warn({ bind: config.bind }, 'listening on a non-loopback address without TLS while Redis has no password in --addr: anyone who can reach this port can use Redis');
  }
  if (config.httpGet && config.adminPort === null) log.warn('--http-get needs --admin-port: no HTTP reads');
  if (config.httpGet && cluster) log.warn('--http-get is not available in cluster mode: no HTTP reads');

  const sessions = listener.sessions;
  const stats = () => ({
    clients: {
      connected: sessions.size,
      total: listener.clientsTotal,
      rejected: listener.clientsRejected,
    },
    cache: cache
      ? { enabled: true, ready: cache.isReady(), entries: cache.size, bytes: cache.bytes, ...cache.stats.snapshot() }
      : { enabled: false },
    link: cache ? { state: target.linkState, connects: target.connects, lastError: target.link?.lastError ?? '' } : null,
    redis: { reachable: target.healthy, primary: target.primary?.display ?? null, sharing: target.sharing, userPools: target.userPools },
    sentinel: follower?.state(),
    cluster: cluster?.stats(),
    // RSS counts V8 garbage not yet collected; heapUsed is what is live after the last GC
    memory: processMemory(),
    // for the status page (GET / on the admin listener): the bounds in force, and what only the metrics count
    limits: { capacity: current.capacity, maxBytes: current.maxMemory, maxClients: current.maxClients, ttl: current.ttl },
    ...metrics?.pageStats(),
  });

  /** set at SIGTERM/SIGINT (or shutdown()): /readyz turns clients away from then on */
  let draining = false;
  let admin: AdminServer | null = null;
  let adminPort: number | null = null;
  if (config.adminPort !== null) {
    admin = new AdminServer(
      {
        stats,
        notReadyReason: () => (draining ? 'shutting down' : target.trouble),
        metrics: metrics ? () => metrics.render() : undefined,
        keyReader: () => {
          if (!current.httpGet || cluster) return null;
          keyReader ??= new KeyReader(ctx, config.addr, log, () => current.backendTimeout * 1000);
          return keyReader;
        },
        onKeyRead: (status) => metrics?.countHttpGet(status),
      },
      log,
    );
    adminPort = await admin.listen(config.adminPort, config.adminBind);
  }

  log.info(
    {
      listen: `${address.address}:${address.port}`,
      tls: !!clientTls,
      redis: follower ? `sentinel master "${config.sentinelMaster}"` : cluster ? `cluster seeds ${config.seeds.map((a) => a.display).join(',')}` : config.addr.display,
      cache: cache ? { capacity: config.capacity, ttl: config.ttl, coherence: config.coherence } : 'off',
      admin: adminPort,
    },
    `listening on ${address.address}:${address.port}, fronting ${follower ? `the primary of "${config.sentinelMaster}" (Sentinel)` : cluster ? `the Redis Cluster at ${config.addr.display}` : `Redis at ${config.addr.display}`}`,
  );

  const statsTimer = setInterval(() => log.debug({ stats: stats() }, 'stats'), STATS_LOG_INTERVAL_MS);
  statsTimer.unref();

  /** Apply the live settings of `next`; those that need a restart are only reported. */
  const reload = (): boolean => {
    if (!opts.loadConfig) {
      log.warn('reload requested, but this proxy was started without a way to read its configuration again');
      return false;
    }
    let next: Config;
    try {
      next = opts.loadConfig();
    } catch (err) {
      metrics?.countReload(false);
      log.error({ reason: (err as Error).message }, 'reload failed: keeping the running configuration');
      return false;
    }
    const changes = diffConfig(current, next);
    const applied = { ...current };
    for (const name of changes.live) {
      const key = FLAG_KEYS.get(name)!;
      (applied as Record<string, unknown>)[key] = next[key];
    }
    const before = current;
    current = applied;
    if (cache) {
      if (applied.ttl !== before.ttl) {
        cache.setTtl(applied.ttl * 1000);
        // entries filled under the longer ttl would outlive the new one
        if (applied.ttl < before.ttl) cache.invalidateAll();
      }
      if (applied.capacity !== before.capacity || applied.maxMemory !== before.maxMemory) {
        cache.resize(applied.capacity, applied.maxMemory);
      }
    }
    log.level = applied.logLevel;
    logOutput.setFormat(applied.logFormat);
    listener.maxClients = applied.maxClients;
    listener.setTimeouts(applied.idleTimeout * 1000, applied.backendTimeout * 1000);
    Object.assign(limits, sessionLimits(applied));
    if (!applied.httpGet && keyReader) {
      keyReader.close();
      keyReader = null;
    }
    metrics?.countReload(true);
    if (changes.restart.length > 0) {
      log.warn({ settings: changes.restart }, `changed settings need a restart to take effect: ${changes.restart.join(', ')}`);
    }
    const changed = Object.fromEntries(changes.live.map((n) => [n, { from: shown(before, n), to: shown(applied, n) }]));
    log.info(
      { changed, file: applied.configFile },
      changes.live.length > 0 ? `configuration reloaded: ${changes.live.join(', ')} changed` : 'configuration reloaded: nothing to change live',
    );
    return true;
  };

  let shuttingDown: Promise<void> | null = null;
  const shutdown = (graceMs = current.shutdownGrace * 1000): Promise<void> => {
    if (shuttingDown) return shuttingDown;
    draining = true;
    shuttingDown = (async () => {
      log.info({ graceMs }, 'shutting down: no new clients, waiting for in-flight commands');
      clearInterval(statsTimer);
      const stopped = listener.stopAccepting();
      for (const s of sessions) s.stopReading();
      const deadline = Date.now() + graceMs;
      while (Date.now() < deadline && [...sessions].some((s) => !s.idle)) {
        await new Promise((r) => setTimeout(r, 20));
      }
      for (const s of sessions) s.close();
      // (a connection the listener still holds must not keep the process up past the grace)
      const late = await Promise.race([stopped.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 1000).unref())]);
      if (late) log.warn('some client connections did not close in time; exiting anyway');
      keyReader?.close();
      target.stop();
      await admin?.close();
      child?.kill('SIGTERM');
      log.info({ stats: stats() }, 'stopped');
    })();
    return shuttingDown;
  };

  if (opts.signals !== false) {
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      signals++;
      if (signals > 1) {
        log.warn({ signal: sig }, 'second signal: exiting now');
        process.exit(1);
      }
      void shutdown().then(() => process.exit(0));
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    process.on('SIGHUP', () => {
      if (shuttingDown) return;
      log.info({ file: current.configFile }, 'SIGHUP: reloading the configuration');
      reload();
    });
  }

  return { port: address.port, adminPort, stats, reload, shutdown };
}

/** Cluster mode: several seeds, or one node that says cluster_enabled:1 (not asked with --sentinel). */
async function isCluster(config: Config, tls: TlsClientOptions | undefined, log: { warn: (o: object, m: string) => void }): Promise<boolean> {
  if (config.sentinels.length > 0) return false;
  if (config.seeds.length > 1) return true;
  try {
    return await detectClusterMode(config.seeds, tls);
  } catch (err) {
    // (Redis is not up yet: fronted as one Redis, as before cluster support)
    log.warn({ err: (err as Error).message }, 'could not ask Redis whether it runs in cluster mode: treating it as one Redis');
    return false;
  }
}

function processMemory(): { rss: number; heapUsed: number; heapTotal: number; external: number } {
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external };
}

const FLAG_KEYS = new Map(FLAGS.map((f) => [f.name, f.key]));

/** A setting's value for the reload log (the live ones hold no secret). */
function shown(c: Config, name: string): unknown {
  return c[FLAG_KEYS.get(name)!];
}
