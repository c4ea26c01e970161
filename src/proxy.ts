import type { ChildProcess } from 'node:child_process';
import type { Config } from './config.js';
import { createLogger } from './log.js';
import { ReplyCache } from './cache/reply-cache.js';
import { CommandTable } from './commands/command-table.js';
import { InvalidationLink } from './backend/invalidation-link.js';
import { spawnRedisIfMissing } from './backend/spawn-redis.js';
import { Listener } from './server/listener.js';
import { AdminServer } from './http/admin-server.js';

// Wires the stations together; holds no logic of its own.

export interface RunningProxy {
  port: number;
  adminPort: number | null;
  stats(): Record<string, unknown>;
  shutdown(graceMs?: number): Promise<void>;
}

/** Redis's default proto-max-bulk-len. */
const MAX_BULK_LEN = 512 * 1024 * 1024;
const DEFAULT_MAX_CLIENTS = 10000;
const SHUTDOWN_GRACE_MS = 10_000;

export async function startProxy(config: Config): Promise<RunningProxy> {
  const log = createLogger(config.logLevel);
  let child: ChildProcess | null = null;
  if (config.spawnRedis) child = await spawnRedisIfMissing(config.addr, log);

  const cache = config.capacity > 0 ? new ReplyCache({ capacity: config.capacity, ttlMs: config.ttl * 1000 }) : null;
  let commands: CommandTable | null = null;
  // No cache, no link: the cache and its coherence cost nothing when turned off.
  const link = cache
    ? new InvalidationLink({
        addr: config.addr,
        cache,
        coherence: config.coherence,
        log,
        onCommands: (t) => {
          commands = t;
        },
      })
    : null;

  const listener = new Listener(
    { addr: config.addr, cache, commands: () => commands, maxBulkLen: MAX_BULK_LEN, log },
    DEFAULT_MAX_CLIENTS,
    log,
  );
  const address = await listener.listen(config.port, config.bind);
  link?.start();

  const stats = () => ({
    clients: { connected: listener.sessions.size, total: listener.clientsTotal, rejected: listener.clientsRejected },
    cache: cache
      ? { enabled: true, ready: cache.isReady(), entries: cache.size, bytes: cache.bytes, ...cache.stats.snapshot() }
      : { enabled: false },
    link: link ? { state: link.state, connects: link.connects, lastError: link.lastError } : null,
  });

  let admin: AdminServer | null = null;
  let adminPort: number | null = null;
  if (config.adminPort !== null) {
    admin = new AdminServer(
      {
        stats,
        notReadyReason: () => (link && !link.healthy ? `link to Redis is ${link.state}` : null),
      },
      log,
    );
    adminPort = await admin.listen(config.adminPort, config.adminBind);
  }

  log.info(
    {
      listen: `${address.address}:${address.port}`,
      redis: config.addr.display,
      cache: cache ? { capacity: config.capacity, ttl: config.ttl, coherence: config.coherence } : 'off',
      admin: adminPort,
    },
    `listening on ${address.address}:${address.port}, fronting Redis at ${config.addr.display}`,
  );

  let shuttingDown: Promise<void> | null = null;
  const shutdown = (graceMs = SHUTDOWN_GRACE_MS): Promise<void> => {
    if (shuttingDown) return shuttingDown;
    shuttingDown = (async () => {
      log.info({ graceMs }, 'shutting down: no new clients, waiting for in-flight commands');
      const stopped = listener.stopAccepting();
      for (const s of listener.sessions) s.stopReading();
      const deadline = Date.now() + graceMs;
      while (Date.now() < deadline && [...listener.sessions].some((s) => !s.idle)) {
        await new Promise((r) => setTimeout(r, 20));
      }
      for (const s of listener.sessions) s.close();
      await stopped;
      link?.stop();
      await admin?.close();
      child?.kill('SIGTERM');
      log.info('stopped');
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
