import { readFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import type tls from 'node:tls';
import { redactedConfig, type Config } from './config.js';
import { createLogger } from './log.js';
import { ReplyCache } from './cache/reply-cache.js';
import { CommandTable } from './commands/command-table.js';
import { InvalidationLink } from './backend/invalidation-link.js';
import type { TlsClientOptions } from './backend/connect.js';
import { spawnRedisIfMissing } from './backend/spawn-redis.js';
import { Listener } from './server/listener.js';
import type { SessionLimits } from './server/client-session.js';
import { AdminServer } from './http/admin-server.js';

// Wires the stations together; holds no logic of its own.

export interface RunningProxy {
  port: number;
  adminPort: number | null;
  stats(): Record<string, unknown>;
  shutdown(graceMs?: number): Promise<void>;
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

export async function startProxy(config: Config): Promise<RunningProxy> {
  const log = createLogger(config.logLevel);
  log.debug({ config: redactedConfig(config) }, 'configuration');
  let child: ChildProcess | null = null;
  if (config.spawnRedis) child = await spawnRedisIfMissing(config.addr, log);

  const cache =
    config.capacity > 0 ? new ReplyCache({ capacity: config.capacity, ttlMs: config.ttl * 1000, maxBytes: config.maxMemory }) : null;
  let commands: CommandTable | null = null;
  const redisTls = backendTls(config);
  // Without a cache the link only watches reachability: no COMMAND, no tracking.
  const link = new InvalidationLink({
    addr: config.addr,
    tls: redisTls,
    cache,
    coherence: config.coherence,
    log,
    onCommands: (t) => {
      commands = t;
    },
  });

  const clientTls = listenerTls(config);
  const listener = new Listener(
    { addr: config.addr, tls: redisTls, cache, commands: () => commands, limits: sessionLimits(config), log },
    config.maxClients,
    log,
    clientTls,
  );
  listener.setTimeouts(config.idleTimeout * 1000, config.backendTimeout * 1000);
  const address = await listener.listen(config.port, config.bind);
  link.start();

  if (!isLoopback(config.bind) && config.addr.password === null && !clientTls) {
    log.warn({ bind: config.bind }, 'listening on a non-loopback address without TLS while Redis has no password in --addr: anyone who can reach this port can use Redis');
  }

  const stats = () => ({
    clients: {
      connected: listener.sessions.size,
      total: listener.clientsTotal,
      rejected: listener.clientsRejected,
    },
    cache: cache
      ? { enabled: true, ready: cache.isReady(), entries: cache.size, bytes: cache.bytes, ...cache.stats.snapshot() }
      : { enabled: false },
    link: cache ? { state: link.state, connects: link.connects, lastError: link.lastError } : null,
    redis: { reachable: link.healthy },
  });

  let admin: AdminServer | null = null;
  let adminPort: number | null = null;
  if (config.adminPort !== null) {
    admin = new AdminServer(
      {
        stats,
        notReadyReason: () => (link.healthy ? null : cache ? `invalidation link to Redis is ${link.state}` : 'Redis is unreachable'),
      },
      log,
    );
    adminPort = await admin.listen(config.adminPort, config.adminBind);
  }

  log.info(
    {
      listen: `${address.address}:${address.port}`,
      tls: !!clientTls,
      redis: config.addr.display,
      cache: cache ? { capacity: config.capacity, ttl: config.ttl, coherence: config.coherence } : 'off',
      admin: adminPort,
    },
    `listening on ${address.address}:${address.port}, fronting Redis at ${config.addr.display}`,
  );

  const statsTimer = setInterval(() => log.debug({ stats: stats() }, 'stats'), STATS_LOG_INTERVAL_MS);
  statsTimer.unref();

  let shuttingDown: Promise<void> | null = null;
  const shutdown = (graceMs = config.shutdownGrace * 1000): Promise<void> => {
    if (shuttingDown) return shuttingDown;
    shuttingDown = (async () => {
      log.info({ graceMs }, 'shutting down: no new clients, waiting for in-flight commands');
      clearInterval(statsTimer);
      const stopped = listener.stopAccepting();
      for (const s of listener.sessions) s.stopReading();
      const deadline = Date.now() + graceMs;
      while (Date.now() < deadline && [...listener.sessions].some((s) => !s.idle)) {
        await new Promise((r) => setTimeout(r, 20));
      }
      for (const s of listener.sessions) s.close();
      await stopped;
      link.stop();
      await admin?.close();
      child?.kill('SIGTERM');
      log.info({ stats: stats() }, 'stopped');
    })();
    return shuttingDown;
  };

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

  return { port: address.port, adminPort, stats, shutdown };
}
