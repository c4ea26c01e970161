// One validated configuration for the whole process:
// flags > REDISPROXY_* env > the --config file > defaults.
// (The parsing and validation live in loadConfig below; the shape is shared by every station.)

import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { ConfigFileError, readConfigFile, type ConfigFileValues } from './config-file.js';

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
  /** bytes of cached keys and values; 0 = no byte bound (the key bound always holds) */
  maxMemory: number;
  maxClients: number;
  /** connections to Redis shared by clients that hold no connection state; 0 = each client its own */
  sharedConnections: number;
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
}

export interface OutputLimitConfig {
  hardBytes: number;
  softBytes: number;
  softSeconds: number;
}

export class ConfigError extends Error {}

// ---------------------------------------------------------------------------
// Parsing and validation


/**
 * Thrown by loadConfig for --help, --version and --print-config: not an error, the caller prints
 * `output` to stdout and exits 0.
 */
export class ConfigExit extends Error {
  constructor(
    readonly kind: 'help' | 'version' | 'print-config',
    readonly output: string,
  ) {
    super(`${kind} requested`);
    this.name = 'ConfigExit';
  }
}

export const DEFAULT_REDIS_PORT = 6379;

/** Longest ttl accepted: ttl * 1000 must fit a Node timer (2^31 - 1 ms, about 24.8 days). */
export const MAX_TTL_SECONDS = 2_147_483;

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const COHERENCE_MODES: readonly Config['coherence'][] = ['tracking', 'ttl'];
const LOG_FORMATS: readonly LogFormat[] = ['auto', 'json', 'text'];

/** A problem with one value; the caller prefixes the flag or env variable name. */
class Problem extends Error {}

/**
 * Parses a backing Redis address: `localhost`, `host`, `host:port`, `[::1]:port`, a bare
 * IPv6 literal, `redis://[user:password@]host[:port][/db]` or `rediss://...` (tls).
 * Throws ConfigError with a one-line message (without a flag name) when it cannot.
 */
export function parseAddress(text: string): BackendAddress {
  try {
    return parseAddressOrThrow(text);
  } catch (e) {
    if (e instanceof Problem) throw new ConfigError(e.message);
    throw e;
  }
}

/** The address as it may appear in an error message: any password replaced by "***". */
function redactAddressText(text: string): string {
  return text.replace(/^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^:@/]*:)[^@]*@/, '$1***@');
}

function parseAddressOrThrow(text: string): BackendAddress {
  const quoted = JSON.stringify(redactAddressText(text));
  if (text.trim() === '') throw new Problem('empty address (expected host, host:port or redis://host:port)');
  if (/\s/.test(text)) throw new Problem(`${quoted} is not an address (contains white space)`);

  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(text);
  if (scheme) {
    const name = scheme[1]!.toLowerCase();
    if (name !== 'redis' && name !== 'rediss') {
      throw new Problem(`${quoted}: unsupported scheme "${name}://" (use redis:// or rediss://)`);
    }
    return parseRedisUrl(text, name === 'rediss');
  }

  let host: string;
  let portText: string | null = null;
  if (text.startsWith('[')) {
    const m = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
    if (!m) throw new Problem(`${quoted} is not an address (expected [ipv6]:port)`);
    host = m[1]!;
    portText = m[2] ?? null;
    if (isIP(host) !== 6) throw new Problem(`${quoted}: "${host}" is not an IPv6 address`);
  } else if ((text.match(/:/g) ?? []).length > 1) {
    // several colons and no brackets: a bare IPv6 literal, default port
    if (isIP(text) !== 6) throw new Problem(`${quoted} is not an address (write IPv6 with a port as [addr]:port)`);
    host = text;
  } else {
    const colon = text.indexOf(':');
    host = colon < 0 ? text : text.slice(0, colon);
    portText = colon < 0 ? null : text.slice(colon + 1);
  }
  checkHost(host, quoted);
  const port = portText === null ? DEFAULT_REDIS_PORT : parsePortIn(portText, quoted);
  return makeAddress(host, port, false, null, null, 0);
}

function parseRedisUrl(text: string, tls: boolean): BackendAddress {
  const quoted = JSON.stringify(redactAddressText(text));
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Problem(`${quoted} is not a valid redis:// URL`);
  }
  if (url.search !== '' || url.hash !== '') {
    throw new Problem(`${quoted}: query strings and fragments are not supported`);
  }
  let host = url.hostname;
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host === '') throw new Problem(`${quoted}: no host`);
  checkHost(host, quoted);

  // URL drops a port equal to the scheme default; redis:// has none, so url.port is what was written
  const port = url.port === '' ? DEFAULT_REDIS_PORT : parsePortIn(url.port, quoted);

  let db = 0;
  const path = url.pathname;
  if (path !== '' && path !== '/') {
    const m = /^\/(\d+)$/.exec(path);
    if (!m) throw new Problem(`${quoted}: "${path.slice(1)}" is not a database number`);
    db = Number(m[1]);
    if (!Number.isSafeInteger(db)) throw new Problem(`${quoted}: "${m[1]}" is not a database number`);
  }

  const username = decodeUserInfo(url.username, 'user name', quoted);
  const password = decodeUserInfo(url.password, 'password', quoted);
  return makeAddress(host, port, tls, username, password, db);
}

function decodeUserInfo(raw: string, what: string, quoted: string): string | null {
  if (raw === '') return null;
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new Problem(`${quoted}: bad percent-encoding in the ${what}`);
  }
}

function checkHost(host: string, quoted: string): void {
  if (host === '') throw new Problem(`${quoted}: no host`);
  if (/[\/@?#\[\]]/.test(host)) throw new Problem(`${quoted}: "${host}" is not a host name`);
}

function parsePortIn(portText: string, quoted: string): number {
  const port = toPort(portText);
  if (port === null) throw new Problem(`${quoted}: "${portText}" is not a port number (1-65535)`);
  return port;
}

function toPort(text: string): number | null {
  if (!/^\d{1,5}$/.test(text)) return null;
  const n = Number(text);
  return n >= 1 && n <= 65535 ? n : null;
}

function makeAddress(
  host: string,
  port: number,
  tls: boolean,
  username: string | null,
  password: string | null,
  db: number,
): BackendAddress {
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const userPart = username !== null ? `${username}@` : '';
  const display = `${tls ? 'rediss://' : ''}${userPart}${hostPart}:${port}${db !== 0 ? `/${db}` : ''}`;
  return { host, port, tls, username, password, db, display };
}

// --- per-flag value parsers: return the value or throw Problem -----------------

function parsePort(text: string): number {
  const port = toPort(text);
  if (port === null) throw new Problem(`${JSON.stringify(text)} is not a port number (1-65535)`);
  return port;
}

function parseAdminPort(text: string): number | null {
  if (text.toLowerCase() === 'off') return null;
  const port = toPort(text);
  if (port === null) throw new Problem(`${JSON.stringify(text)} is not a port number (1-65535) or "off"`);
  return port;
}

function parseBind(text: string): string {
  if (text === '' || /\s/.test(text)) throw new Problem(`${JSON.stringify(text)} is not an address to listen on`);
  return text;
}

function parseTtl(text: string): number {
  const n = /^(\d+(\.\d*)?|\.\d+)$/.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(n) || n <= 0) {
    throw new Problem(`${JSON.stringify(text)} is not a number of seconds > 0`);
  }
  if (n > MAX_TTL_SECONDS) {
    throw new Problem(`${JSON.stringify(text)} is too long (at most ${MAX_TTL_SECONDS} seconds, about 24 days)`);
  }
  return n;
}

function parseWholeNumber(text: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n)) throw new Problem(`${JSON.stringify(text)} is not a whole number >= 0`);
  return n;
}

function parseCapacity(text: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n)) {
    throw new Problem(`${JSON.stringify(text)} is not a whole number of keys >= 0 (0 turns the cache off)`);
  }
  return n;
}

function parseCoherence(text: string): Config['coherence'] {
  const v = text.toLowerCase();
  if (!(COHERENCE_MODES as readonly string[]).includes(v)) {
    throw new Problem(`${JSON.stringify(text)} is not a coherence mode (tracking or ttl)`);
  }
  return v as Config['coherence'];
}

function parseLogLevel(text: string): LogLevel {
  const v = text.toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(v)) {
    throw new Problem(`${JSON.stringify(text)} is not a log level (${LOG_LEVELS.join(', ')})`);
  }
  return v as LogLevel;
}

function parseLogFormat(text: string): LogFormat {
  const v = text.toLowerCase();
  if (!(LOG_FORMATS as readonly string[]).includes(v)) {
    throw new Problem(`${JSON.stringify(text)} is not a log format (${LOG_FORMATS.join(', ')})`);
  }
  return v as LogFormat;
}

function parseBoolean(text: string): boolean {
  const v = text.trim().toLowerCase();
  if (v === '1' || v === 'true' || v === 'yes') return true;
  if (v === '0' || v === 'false' || v === 'no') return false;
  throw new Problem(`${JSON.stringify(text)} is not a boolean (1/0, true/false, yes/no)`);
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1000, kb: 1024, m: 1000 ** 2, mb: 1024 ** 2, g: 1000 ** 3, gb: 1024 ** 3 };

/** "64mb", "1gb", "512k", "1000" (bytes), as Redis writes memory sizes. */
export function parseBytes(text: string): number {
  const m = /^(\d+)\s*([a-z]*)$/i.exec(text.trim());
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new Problem(`${JSON.stringify(text)} is not a size (e.g. 0, 4096, 64mb, 1gb)`);
  const n = Number(m[1]) * unit;
  if (!Number.isSafeInteger(n)) throw new Problem(`${JSON.stringify(text)} is too large`);
  return n;
}

const MB = 1024 * 1024;

/** A size Redis itself would accept for client-query-buffer-limit / proto-max-bulk-len (>= 1mb). */
function parseRequestLimit(text: string): number {
  const n = parseBytes(text);
  if (n < MB) throw new Problem(`${JSON.stringify(text)} is below 1mb, the least Redis allows (every request would be refused)`);
  return n;
}

function parseSeconds(text: string): number {
  const n = /^(\d+(\.\d*)?|\.\d+)$/.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(n) || n < 0 || n > MAX_TTL_SECONDS) throw new Problem(`${JSON.stringify(text)} is not a number of seconds >= 0`);
  return n;
}

function parseCount(text: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new Problem(`${JSON.stringify(text)} is not a whole number >= 1`);
  return n;
}

/** "<hard> <soft> <seconds>", as in Redis's client-output-buffer-limit. */
function parseOutputLimit(text: string): OutputLimitConfig {
  const parts = text.trim().split(/\s+/);
  if (parts.length !== 3) throw new Problem(`${JSON.stringify(text)} is not "<hard> <soft> <seconds>" (e.g. "32mb 8mb 60")`);
  return { hardBytes: parseBytes(parts[0]!), softBytes: parseBytes(parts[1]!), softSeconds: parseSeconds(parts[2]!) };
}

function parsePath(text: string): string | null {
  if (text === '') return null;
  if (!existsSync(text)) throw new Problem(`${JSON.stringify(text)}: no such file`);
  return text;
}

function parseConfigPath(text: string): string | null {
  return text === '' ? null : path.resolve(text);
}

function parseAddrFlag(text: string): BackendAddress {
  return parseAddressOrThrow(text);
}

// --- the flag table ----------------------------------------------------------

export interface FlagSpec<K extends keyof Config = keyof Config> {
  /** long flag name without dashes; also gives the env variable name */
  name: string;
  key: K;
  /** placeholder in help; absent for boolean flags */
  arg?: string;
  help: string;
  /** default as text, run through `parse` like any other value */
  default: string;
  /** shown in help/README when the text default is not self-explanatory */
  defaultLabel?: string;
  parse: (text: string) => Config[K];
  /** a change takes effect on SIGHUP without a restart */
  live?: boolean;
  /** extra words for the reload column of the docs (e.g. which clients see it) */
  liveNote?: string;
  /** the README's wording (markdown), when it says more than `help` */
  doc?: string;
}

function flag<K extends keyof Config>(spec: FlagSpec<K>): FlagSpec {
  return spec as unknown as FlagSpec;
}

export const FLAGS: readonly FlagSpec[] = [
  flag({
    name: 'addr', key: 'addr', arg: '<address>', default: 'localhost:6379', parse: parseAddrFlag,
    doc: 'Backing Redis: `host`, `host:port`, `[::1]:port`, `redis://[user:password@]host:port[/db]`, or `rediss://...` for TLS. Percent-encode special characters in the user name and password.',
    help: 'backing Redis: host, host:port, [::1]:port, redis://[user:password@]host:port[/db], or rediss://... for TLS',
  }),
  flag({
    name: 'port', key: 'port', arg: '<port>', default: '9999', parse: parsePort, help: 'port the proxy listens on (1-65535)',
    doc: 'Port the proxy listens on (1-65535).',
  }),
  flag({
    name: 'bind', key: 'bind', arg: '<address>', default: '127.0.0.1', parse: parseBind,
    help: 'address the proxy listens on (0.0.0.0 or :: for all)',
    doc: 'Address the proxy listens on.',
  }),
  flag({
    name: 'ttl', key: 'ttl', arg: '<seconds>', default: '7200', parse: parseTtl, live: true, liveNote: 'a shorter ttl empties the cache',
    help: 'how long a cached GET reply may be served, in seconds (fractions allowed, > 0)',
    doc: 'How long a cached reply may be served. Fractions are allowed; must be > 0.',
  }),
  flag({
    name: 'capacity', key: 'capacity', arg: '<keys>', default: '1000', parse: parseCapacity, live: true, liveNote: 'shrinking evicts; turning the cache on or off needs a restart',
    help: 'most keys kept in the cache (least recently used go first); 0 turns the cache off',
    doc: 'Most keys kept in the cache. `0` turns the cache off.',
  }),
  flag({
    name: 'coherence', key: 'coherence', arg: '<mode>', default: 'tracking', parse: parseCoherence,
    doc: '`tracking` or `ttl`. `ttl` is weaker: a write made directly on Redis, not through the proxy, is seen only after the ttl.',
    help: 'tracking: Redis tells the proxy when a cached key changes (CLIENT TRACKING). ttl: weaker, no invalidation; writes made directly on Redis (not through this proxy) are seen only after the ttl',
  }),
  flag({
    name: 'log-level', key: 'logLevel', arg: '<level>', default: 'info', parse: parseLogLevel, live: true,
    help: `log level: ${LOG_LEVELS.join(', ')}`,
    doc: '`fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`.',
  }),
  flag({
    name: 'admin-port', key: 'adminPort', arg: '<port>', default: 'off', parse: parseAdminPort,
    help: 'port of the admin HTTP listener (metrics, health, stats), or off',
    doc: 'Port of the admin HTTP listener (metrics, health, stats). `off` turns it off.',
  }),
  flag({
    name: 'admin-bind', key: 'adminBind', arg: '<address>', default: '127.0.0.1', parse: parseBind,
    help: 'address the admin HTTP listener binds to',
    doc: 'Address the admin listener binds to.',
  }),
  flag({
    name: 'spawn-redis', key: 'spawnRedis', default: 'false', defaultLabel: 'off', parse: parseBoolean,
    doc: 'When nothing answers at `--addr`, start a private `redis-server` there. `--no-spawn-redis` turns it off.',
    help: 'when nothing answers at --addr, start a private redis-server there (needs redis-server on PATH); --no-spawn-redis turns it off',
  }),
  flag({
    name: 'max-memory', key: 'maxMemory', arg: '<bytes>', default: '0', parse: parseBytes, live: true, liveNote: 'shrinking evicts',
    help: 'most bytes of cached keys and values (e.g. 64mb); 0 = bounded by --capacity alone',
    doc: 'Most bytes of cached keys and values (e.g. `64mb`). `0` means only `--capacity` bounds the cache.',
  }),
  flag({
    name: 'max-clients', key: 'maxClients', arg: '<n>', default: '10000', parse: parseCount, live: true, liveNote: 'connected clients stay',
    help: 'most clients at once; the next one gets -ERR max number of clients reached',
    doc: 'Most clients at once. The next one gets `-ERR max number of clients reached`.',
  }),
  flag({
    name: 'shared-connections', key: 'sharedConnections', arg: '<n>', default: '2', parse: parseWholeNumber,
    help: 'connections to Redis shared (pipelined) by clients that hold no connection state; 0 gives every client its own',
    doc: 'Connections to Redis shared, pipelined, by clients that hold no connection state (no SELECT, AUTH, HELLO, MULTI, WATCH, subscription, blocking command or CLIENT command yet). A client moves to a connection of its own the moment it needs one. Sharing is used only while Redis lets a new connection in without a password. `0` gives every client its own connection from the start.',
  }),
  flag({
    name: 'idle-timeout', key: 'idleTimeout', arg: '<seconds>', default: '0', parse: parseSeconds, live: true,
    help: "close a client silent this long (0 = never), like Redis's timeout",
    doc: 'Close a client that has been silent this long. `0` means never.',
  }),
  flag({
    name: 'backend-timeout', key: 'backendTimeout', arg: '<seconds>', default: '0', parse: parseSeconds, live: true,
    help: 'a command Redis has not answered in this long fails with an error (blocking commands excepted; 0 = wait forever)',
    doc: 'A command Redis has not answered in this long fails with an error. Blocking commands are excepted. `0` means wait forever.',
  }),
  flag({
    name: 'shutdown-grace', key: 'shutdownGrace', arg: '<seconds>', default: '10', parse: parseSeconds, live: true,
    help: 'on SIGTERM/SIGINT, how long in-flight commands get to finish',
    doc: 'On SIGTERM or SIGINT, how long in-flight commands get to finish.',
  }),
  flag({
    name: 'output-limit-normal', key: 'outputLimitNormal', arg: '<limits>', default: '0 0 0', parse: parseOutputLimit, live: true,
    help: 'client-output-buffer-limit for normal clients: "<hard> <soft> <seconds>"',
    doc: 'Output buffer limit for normal clients, as `<hard> <soft> <seconds>` (like Redis\'s `client-output-buffer-limit`).',
  }),
  flag({
    name: 'output-limit-pubsub', key: 'outputLimitPubsub', arg: '<limits>', default: '32mb 8mb 60', parse: parseOutputLimit, live: true,
    help: 'client-output-buffer-limit for subscribed clients',
    doc: 'The same for subscribed clients.',
  }),
  flag({
    name: 'query-buffer-limit', key: 'queryBufferLimit', arg: '<bytes>', default: '1gb', parse: parseRequestLimit, live: true,
    help: 'most bytes held for one unfinished request (client-query-buffer-limit)',
    doc: 'Most bytes held for one unfinished request (like `client-query-buffer-limit`; at least `1mb`, as Redis allows).',
  }),
  flag({
    name: 'proto-max-bulk-len', key: 'protoMaxBulkLen', arg: '<bytes>', default: '512mb', parse: parseRequestLimit, live: true, liveNote: 'for clients that connect afterwards',
    help: 'longest bulk argument accepted (proto-max-bulk-len)',
    doc: 'Longest bulk argument accepted (like `proto-max-bulk-len`; at least `1mb`, as Redis allows).',
  }),
  flag({
    name: 'tls-cert', key: 'tlsCert', arg: '<file>', default: '', defaultLabel: 'none', parse: parsePath,
    help: 'serve clients over TLS with this certificate (PEM); needs --tls-key',
    doc: 'Serve clients over TLS with this certificate (PEM). Needs `--tls-key`.',
  }),
  flag({
    name: 'tls-key', key: 'tlsKey', arg: '<file>', default: '', defaultLabel: 'none', parse: parsePath,
    help: 'private key of --tls-cert (PEM)',
    doc: 'Private key of `--tls-cert` (PEM).',
  }),
  flag({
    name: 'tls-ca', key: 'tlsCa', arg: '<file>', default: '', defaultLabel: 'none', parse: parsePath,
    help: 'require client certificates signed by this CA (PEM)',
    doc: 'Require client certificates signed by this CA (PEM).',
  }),
  flag({
    name: 'redis-ca', key: 'redisCa', arg: '<file>', default: '', defaultLabel: 'system CAs', parse: parsePath,
    help: 'CA that signed the Redis server certificate (rediss://)',
    doc: 'CA that signed the Redis server\'s certificate (`rediss://`).',
  }),
  flag({
    name: 'redis-cert', key: 'redisCert', arg: '<file>', default: '', defaultLabel: 'none', parse: parsePath,
    help: 'client certificate the proxy shows to Redis (rediss://)',
    doc: 'Client certificate the proxy shows to Redis (`rediss://`).',
  }),
  flag({
    name: 'redis-key', key: 'redisKey', arg: '<file>', default: '', defaultLabel: 'none', parse: parsePath,
    help: 'private key of --redis-cert',
    doc: 'Private key of `--redis-cert`.',
  }),
  flag({
    name: 'config', key: 'configFile', arg: '<file>', default: '', defaultLabel: 'none', parse: parseConfigPath,
    doc: 'Read settings from a YAML or JSON file whose keys are the flag names (`ttl: 60`). Flags and variables win over the file. SIGHUP reads it again.',
    help: 'read settings from this YAML or JSON file (keys are the flag names: "ttl: 60"); flags and REDISPROXY_* variables win over it; SIGHUP reads it again',
  }),
  flag({
    name: 'http-get', key: 'httpGet', default: 'false', defaultLabel: 'off', parse: parseBoolean, live: true,
    doc: 'Serve `GET /v1/keys/<key>` on the admin listener, through the same cache.',
    help: 'serve GET /v1/keys/<key> on the admin listener: the value through the same cache, as the --addr user and database',
  }),
  flag({
    name: 'log-format', key: 'logFormat', arg: '<format>', default: 'auto', parse: parseLogFormat, live: true,
    help: 'json, text (one readable line per event), or auto: text on a terminal, json otherwise',
    doc: '`json`, `text` (one readable line per event), or `auto`: text on a terminal, JSON otherwise.',
  }),
];

/** Flags that only make sense on the command line or in the environment, not inside the file. */
const NOT_IN_FILE = new Set(['config']);

/** Keys a --config file may hold. */
export const FILE_KEYS: readonly string[] = FLAGS.filter((f) => !NOT_IN_FILE.has(f.name)).map((f) => f.name);

/** `REDISPROXY_ADMIN_PORT` for `admin-port`. */
export function envName(flagName: string): string {
  return `REDISPROXY_${flagName.toUpperCase().replace(/-/g, '_')}`;
}

function optionKey(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

let cachedVersion: string | undefined;
/** The version in package.json (one directory above src/ and dist/). */
export function packageVersion(): string {
  if (cachedVersion === undefined) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
      cachedVersion = typeof pkg.version === 'string' ? pkg.version : '0.0.0';
    } catch {
      cachedVersion = '0.0.0';
    }
  }
  return cachedVersion;
}

function buildProgram(out: { text: string }): Command {
  const program = new Command('redisproxy')
    .description('A transparent Redis proxy that caches GET replies.')
    .usage('[options]')
    .helpOption('-h, --help', 'show this help and exit')
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => {
        out.text += s;
      },
      writeErr: () => {}, // errors are rethrown as ConfigError
    })
    .configureHelp({ helpWidth: 100 });

  for (const f of FLAGS) {
    const label = f.defaultLabel ?? f.default;
    const desc = `${f.help} [default: ${label}] [env: ${envName(f.name)}]`;
    program.addOption(new Option(f.arg ? `--${f.name} ${f.arg}` : `--${f.name}`, desc));
    if (!f.arg) program.addOption(new Option(`--no-${f.name}`).hideHelp());
  }

  program.addOption(new Option('--print-config', 'print the resulting configuration as JSON (password hidden) and exit'));
  program.version(packageVersion(), '-v, --version', 'print the version and exit');

  program.addHelpText(
    'after',
    [
      '',
      'Every option can also be set in the environment as REDISPROXY_<NAME> (upper case, dashes',
      'as underscores, e.g. REDISPROXY_ADMIN_PORT=9100), or in the --config file under its flag',
      'name (e.g. "admin-port: 9100"). Options given on the command line win over variables,',
      'which win over the file. Boolean variables accept 1/0, true/false, yes/no. An empty',
      'variable counts as unset.',
      '',
      'SIGHUP reads the file and environment again: ttl, capacity, max-memory, limits, timeouts,',
      'log level and format change without dropping clients; the rest needs a restart.',
      '',
      'Note: --coherence ttl is weaker than tracking: a write made directly on Redis (not through',
      'this proxy) is seen only after the ttl expires.',
    ].join('\n'),
  );
  return program;
}

/** Commander's messages rewritten as `--flag: problem`, one line. */
function commanderProblem(err: CommanderError, argv: readonly string[]): string {
  const firstLine = err.message.split('\n')[0]!.replace(/^error:\s*/, '');
  const quotedFlag = /'([^']+)'/.exec(firstLine)?.[1];
  switch (err.code) {
    case 'commander.unknownOption': {
      const raw = quotedFlag ?? firstLine;
      const eq = raw.indexOf('=');
      if (raw.startsWith('--') && eq > 0) {
        const name = raw.slice(2, eq);
        const spec = FLAGS.find((f) => f.name === name && !f.arg);
        if (spec) return `--${name}: takes no value (write --${name} or --no-${name})`;
      }
      const hint = /\(Did you mean (.+)\?\)/.exec(err.message)?.[1];
      return `${raw}: unknown option${hint ? ` (did you mean ${hint}?)` : ''}`;
    }
    case 'commander.optionMissingArgument': {
      const name = quotedFlag?.split(/\s+/)[0] ?? 'option';
      return `${name}: missing value`;
    }
    case 'commander.excessArguments': {
      const stray = argv.find((a) => !a.startsWith('-')) ?? '';
      return `unexpected argument ${JSON.stringify(stray)} (options are written --name value or --name=value)`;
    }
    default:
      return firstLine;
  }
}

/**
 * Builds the process configuration: flags beat REDISPROXY_* environment variables,
 * which beat the --config file, which beats defaults. Throws ConfigError (one-line
 * message naming the flag, variable or file and key) on any bad value, and ConfigExit
 * for --help, --version and --print-config.
 */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): Config {
  const out = { text: '' };
  const program = buildProgram(out);
  try {
    program.parse(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.help') throw new ConfigExit('help', out.text);
      if (e.code === 'commander.version') throw new ConfigExit('version', out.text);
      throw new ConfigError(commanderProblem(e, argv));
    }
    throw e;
  }

  const opts = program.opts<Record<string, string | boolean | undefined>>();
  /** flag value from the command line, else from the environment; undefined when neither */
  const given = (f: FlagSpec): { text: string; where: string } | undefined => {
    const key = optionKey(f.name);
    const fromCli = program.getOptionValueSource(key) === 'cli' ? opts[key] : undefined;
    if (fromCli !== undefined) return { text: typeof fromCli === 'boolean' ? String(fromCli) : fromCli, where: `--${f.name}` };
    const variable = envName(f.name);
    const fromEnv = env[variable];
    if (fromEnv !== undefined && fromEnv !== '') return { text: fromEnv, where: variable };
    return undefined;
  };

  const configFlag = FLAGS.find((f) => f.key === 'configFile')!;
  const configGiven = given(configFlag);
  let file: ConfigFileValues | null = null;
  if (configGiven !== undefined && configGiven.text !== '') {
    try {
      file = readConfigFile(configGiven.text, FILE_KEYS, PATH_KEYS);
    } catch (e) {
      if (e instanceof ConfigFileError) throw new ConfigError(e.message);
      throw e;
    }
  }
  const fileLabel = configGiven?.text ?? '';

  const result: Partial<Record<keyof Config, unknown>> = {};
  for (const f of FLAGS) {
    let source = given(f);
    const fromFile = file?.values.get(f.name);
    if (source === undefined && fromFile !== undefined) source = { text: fromFile, where: `${fileLabel}: ${f.name}` };
    const { text, where } = source ?? { text: f.default, where: `default of --${f.name}` };
    try {
      result[f.key] = f.parse(text);
    } catch (e) {
      if (e instanceof Problem) throw new ConfigError(`${where}: ${e.message}`);
      throw e;
    }
  }
  const config = result as Config;
  if ((config.tlsCert === null) !== (config.tlsKey === null)) {
    throw new ConfigError(`--tls-cert and --tls-key: give both or neither`);
  }
  if (config.tlsCa !== null && config.tlsCert === null) throw new ConfigError('--tls-ca: needs --tls-cert and --tls-key');
  if ((config.redisCert === null) !== (config.redisKey === null)) {
    throw new ConfigError(`--redis-cert and --redis-key: give both or neither`);
  }
  // (a host name may resolve to the other's address: only two different addresses surely differ)
  const mayBeAny = (a: string): boolean => a === '0.0.0.0' || a === '::' || isIP(a) === 0;
  if (config.adminPort === config.port && (config.adminBind === config.bind || mayBeAny(config.adminBind) || mayBeAny(config.bind))) {
    throw new ConfigError(`--admin-port: ${config.port} is already the proxy's own --port`);
  }
  if (opts.printConfig === true) {
    throw new ConfigExit('print-config', `${JSON.stringify(redactedConfig(config), null, 2)}\n`);
  }
  return config;
}

/** Keys naming files: relative paths in the config file are taken from the file's directory. */
const PATH_KEYS: ReadonlySet<string> = new Set(FLAGS.filter((f) => f.arg === '<file>').map((f) => f.name));

export interface ConfigChanges {
  /** flag names whose new value was applied live */
  live: string[];
  /** flag names whose new value only takes effect after a restart */
  restart: string[];
}

/**
 * Which settings differ between two configurations, split by whether a running proxy
 * can take them on (FlagSpec.live). Capacity is live between two non-zero values only:
 * turning the cache on or off changes which connections exist.
 */
export function diffConfig(before: Config, after: Config): ConfigChanges {
  const changes: ConfigChanges = { live: [], restart: [] };
  for (const f of FLAGS) {
    if (JSON.stringify(before[f.key]) === JSON.stringify(after[f.key])) continue;
    let live = f.live === true;
    if (f.key === 'capacity' && (before.capacity === 0) !== (after.capacity === 0)) live = false;
    (live ? changes.live : changes.restart).push(f.name);
  }
  return changes;
}

export type RedactedConfig = Omit<Config, 'addr'> & {
  addr: Omit<BackendAddress, 'password'> & { password: '***' | null };
};

/** A plain copy of the config fit for logs: the backend password is replaced by "***". */
export function redactedConfig(c: Config): RedactedConfig {
  return {
    ...c,
    addr: { ...c.addr, password: c.addr.password === null ? null : '***' },
  };
}
