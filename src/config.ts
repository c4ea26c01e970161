// One validated configuration for the whole process: flags > REDISPROXY_* env > defaults.
// (The parsing and validation live in loadConfig below; the shape is shared by every station.)

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

export interface Config {
  addr: BackendAddress;
  port: number;
  bind: string;
  /** seconds; fractions allowed */
  ttl: number;
  /** keys; 0 turns the cache off */
  capacity: number;
  coherence: 'tracking' | 'ttl';
  logLevel: LogLevel;
  /** admin HTTP listener (metrics, health, stats); null = off */
  adminPort: number | null;
  adminBind: string;
  /** start a private redis-server at --addr when nothing answers there */
  spawnRedis: boolean;
}

export class ConfigError extends Error {}
