// The shape of one validated configuration, shared by every station of the proxy.
// loadConfig (load.ts) builds it; nothing else does.

export interface BackendAddress {
  host: string;
  port: number;
  tls: boolean;
  username: string | null;
  password: string | null;
  /** database for the proxy's own connections (never imposed on clients) */
  db: number;
  /** host:port (with user, never password) for logs */
  display: string;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
/** auto: readable lines on a terminal, JSON otherwise */
export type LogFormat = 'auto' | 'json' | 'text';
export type Coherence = 'tracking' | 'ttl';

export interface OutputLimitConfig {
  hardBytes: number;
  softBytes: number;
  softSeconds: number;
}

export interface Config {
  /** the first (usually the only) address --addr names */
  addr: BackendAddress;
  /** every address --addr names, `addr` first: the seed nodes of a Redis Cluster, or just `[addr]` */
  seeds: BackendAddress[];
  port: number;
  bind: string;
  /** seconds; fractions allowed */
  ttl: number;
  /** keys; 0 turns the cache off */
  capacity: number;
  coherence: Coherence;
  logLevel: LogLevel;
  /** admin HTTP listener (metrics, health, stats); null = off */
  adminPort: number | null;
  adminBind: string;
  /** start a private redis-server at --addr when nothing answers there */
  spawnRedis: boolean;
  /** bytes of cached keys and values; 0 = no byte bound (the key bound always holds) */
  maxMemory: number;
  maxClients: number;
  /** connections to Redis shared by clients that hold no connection state; 0 = each client its own */
  sharedConnections: number;
  /** most ACL users with a pool of shared connections at once; 0 = authenticated clients get their own */
  maxUserPools: number;
  /** behind Redis Cluster: the address CLUSTER SLOTS/SHARDS/NODES name (null: the one each client reached) */
  clusterAnnounce: { host: string; port: number } | null;
  /** seconds a silent client is kept (0 = forever), like Redis's `timeout` */
  idleTimeout: number;
  /** seconds Redis may take to answer a non-blocking command (0 = no limit) */
  backendTimeout: number;
  /** seconds in-flight commands get to finish on SIGTERM/SIGINT */
  shutdownGrace: number;
  /** Redis's client-output-buffer-limit, per class */
  outputLimitNormal: OutputLimitConfig;
  outputLimitPubsub: OutputLimitConfig;
  /** bytes held for one unfinished request (client-query-buffer-limit) */
  queryBufferLimit: number;
  /** longest bulk argument accepted (proto-max-bulk-len) */
  protoMaxBulkLen: number;
  /** TLS towards clients: certificate and key files, and optionally a CA to require client certificates */
  tlsCert: string | null;
  tlsKey: string | null;
  tlsCa: string | null;
  /** TLS towards Redis (rediss://): CA to verify it, optional client certificate and key */
  redisCa: string | null;
  redisCert: string | null;
  redisKey: string | null;
  /** the --config file (absolute path) the settings were read from; null = none */
  configFile: string | null;
  /** serve GET /v1/keys/:key on the admin listener */
  httpGet: boolean;
  logFormat: LogFormat;
  /** --sentinel: the sentinels to ask for the primary; empty: --addr is the Redis (no Sentinel) */
  sentinels: Array<{ host: string; port: number }>;
  /** the master name the sentinels monitor; null without --sentinel */
  sentinelMaster: string | null;
  /** credentials for the sentinels themselves (the data nodes' are --addr's) */
  sentinelUsername: string | null;
  sentinelPassword: string | null;
  /** TLS towards the sentinels, with an optional CA and client certificate */
  sentinelTls: boolean;
  sentinelCa: string | null;
  sentinelCert: string | null;
  sentinelKey: string | null;
}
