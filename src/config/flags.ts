// The flag table: every setting once, with ONE text saying what it does. --help, the reference in
// docs/configuration.md (scripts/flag-table.mjs) and the error messages are all made from this
// table and the value types' phrases (parsers.ts), so none of them can say something the others do not.

import { ADDRESS_EXPECTS, parseSeedsOrThrow } from './address.js';
import type { Config } from './config.js';
import * as v from './parsers.js';
import type { ValueType } from './parsers.js';

export interface FlagSpec<K extends keyof Config = keyof Config> {
  /** long flag name without dashes; also gives the env variable name and the config file key */
  name: string;
  key: K;
  /** placeholder in help; absent for boolean flags */
  arg?: string;
  /**
   * What the flag does, once, as markdown (code in backticks, no "|"). --help shows it without the
   * backticks, the reference as it is. What a good value looks like is `value.expects`, not here.
   */
  text: string;
  value: ValueType<Config[K]>;
  /** default as text, run through `value.parse` like any other value */
  default: string;
  /** shown in help and docs when the text default is not self-explanatory */
  defaultLabel?: string;
  /** a change takes effect on SIGHUP without a restart */
  live?: boolean;
  /** extra words for the reload column of the docs (e.g. which clients see it) */
  liveNote?: string;
}

function flag<K extends keyof Config>(spec: FlagSpec<K>): FlagSpec {
  return spec as unknown as FlagSpec;
}

/** --addr's value: every address it names; load.ts sets Config.addr to the first. */
const seeds: ValueType<Config['seeds']> = { expects: ADDRESS_EXPECTS, parse: parseSeedsOrThrow };

export const FLAGS: readonly FlagSpec[] = [
  flag({
    name: 'addr', key: 'seeds', arg: '<address>', default: 'localhost:6379', value: seeds,
    text: 'Backing Redis. Several addresses, separated by commas, are the seed nodes of a Redis Cluster; the scheme, credentials and database written once apply to all of them. Percent-encode special characters in the user name and password.',
  }),
  flag({
    name: 'port', key: 'port', arg: '<port>', default: '9999', value: v.port,
    text: 'Port the proxy listens on.',
  }),
  flag({
    name: 'bind', key: 'bind', arg: '<address>', default: '127.0.0.1', value: v.bindAddress,
    text: 'Address the proxy listens on (`0.0.0.0` or `::` for all).',
  }),
  flag({
    name: 'ttl', key: 'ttl', arg: '<seconds>', default: '7200', value: v.ttlSeconds, live: true, liveNote: 'a shorter ttl empties the cache',
    text: 'How long a cached `GET` reply may be served. Fractions are allowed.',
  }),
  flag({
    name: 'capacity', key: 'capacity', arg: '<keys>', default: '1000', value: v.keyCount, live: true, liveNote: 'shrinking evicts; turning the cache on or off needs a restart',
    text: 'Most keys kept in the cache; the least recently used go first.',
  }),
  flag({
    name: 'coherence', key: 'coherence', arg: '<mode>', default: 'tracking', value: v.coherence,
    text: '`tracking`: Redis tells the proxy when a cached key changes (`CLIENT TRACKING`). `ttl` is weaker, with no invalidation: a write made directly on Redis, not through the proxy, is seen only after the ttl.',
  }),
  flag({
    name: 'log-level', key: 'logLevel', arg: '<level>', default: 'info', value: v.logLevel, live: true,
    text: 'How much the proxy logs.',
  }),
  flag({
    name: 'admin-port', key: 'adminPort', arg: '<port>', default: 'off', value: v.portOrOff,
    text: 'Port of the admin HTTP listener (metrics, health, stats); `off` turns it off. It may equal `--port` only when `--admin-bind` and `--bind` are two different IP addresses (a host name might be the other one): otherwise the proxy refuses to start.',
  }),
  flag({
    name: 'admin-bind', key: 'adminBind', arg: '<address>', default: '127.0.0.1', value: v.bindAddress,
    text: 'Address the admin listener binds to.',
  }),
  flag({
    name: 'spawn-redis', key: 'spawnRedis', default: 'false', defaultLabel: 'off', value: v.boolean,
    text: 'When nothing answers at `--addr`, start a private `redis-server` there (it must be on the `PATH`). `--no-spawn-redis` turns it off.',
  }),
  flag({
    name: 'max-memory', key: 'maxMemory', arg: '<bytes>', default: '0', value: v.bytes, live: true, liveNote: 'shrinking evicts',
    text: 'Most bytes of cached keys and values. `0` means only `--capacity` bounds the cache.',
  }),
  flag({
    name: 'max-clients', key: 'maxClients', arg: '<n>', default: '10000', value: v.count, live: true, liveNote: 'connected clients stay',
    text: 'Most clients at once. The next one gets `-ERR max number of clients reached`.',
  }),
  flag({
    name: 'shared-connections', key: 'sharedConnections', arg: '<n>', default: '2', value: v.wholeNumber,
    text: 'Connections to Redis shared, pipelined, by clients that hold no connection state (no SELECT, AUTH, HELLO, MULTI, WATCH, subscription, blocking command or CLIENT command yet). A client moves to a connection of its own the moment it needs one. Where Redis wants a password, a client whose `AUTH` Redis accepts (checked on a separate connection) shares a pool of that many connections of its ACL user (see `--max-user-pools`). `0` gives every client its own connection from the start.',
  }),
  flag({
    name: 'max-user-pools', key: 'maxUserPools', arg: '<n>', default: '16', value: v.wholeNumber,
    text: 'Most ACL users whose authenticated clients share a pool of `--shared-connections` connections (and their cache entries) at once; a pool unused for a minute closes. Past it, a client of another user gets a connection of its own, as with `0`. Behind a Redis Cluster it applies per master, as `--shared-connections` does.',
  }),
  flag({
    name: 'cluster-announce', key: 'clusterAnnounce', arg: '<host:port>', default: '', defaultLabel: 'the address each client reached', value: v.announceAddress,
    text: "Behind Redis Cluster: the address that `CLUSTER SLOTS`, `SHARDS` and `NODES` through the proxy give as the one node's, for cluster-aware clients that reach the proxy at an address it cannot see (a container's published port, NAT, a load balancer), like Redis's `cluster-announce-ip` and `cluster-announce-port`.",
  }),
  flag({
    name: 'idle-timeout', key: 'idleTimeout', arg: '<seconds>', default: '0', value: v.seconds, live: true,
    text: "Close a client that has been silent this long, like Redis's `timeout`. `0` means never.",
  }),
  flag({
    name: 'backend-timeout', key: 'backendTimeout', arg: '<seconds>', default: '0', value: v.seconds, live: true,
    text: 'A client whose command Redis has not answered in this long is closed, as if its Redis connection were lost (no reply is made up). Blocking commands are excepted. `0` means wait forever.',
  }),
  flag({
    name: 'shutdown-grace', key: 'shutdownGrace', arg: '<seconds>', default: '10', value: v.seconds, live: true,
    text: 'On SIGTERM or SIGINT, how long in-flight commands get to finish.',
  }),
  flag({
    name: 'output-limit-normal', key: 'outputLimitNormal', arg: '<limits>', default: '0 0 0', value: v.outputLimit, live: true,
    text: "Output buffer limit for normal clients (like Redis's `client-output-buffer-limit`).",
  }),
  flag({
    name: 'output-limit-pubsub', key: 'outputLimitPubsub', arg: '<limits>', default: '32mb 8mb 60', value: v.outputLimit, live: true,
    text: 'Output buffer limit for subscribed clients.',
  }),
  flag({
    name: 'query-buffer-limit', key: 'queryBufferLimit', arg: '<bytes>', default: '1gb', value: v.requestLimit, live: true,
    text: 'Most bytes held for one unfinished request (like `client-query-buffer-limit`; Redis allows no less than `1mb`).',
  }),
  flag({
    name: 'proto-max-bulk-len', key: 'protoMaxBulkLen', arg: '<bytes>', default: '512mb', value: v.requestLimit, live: true, liveNote: 'for clients that connect afterwards',
    text: 'Longest bulk argument accepted (like `proto-max-bulk-len`; Redis allows no less than `1mb`).',
  }),
  flag({
    name: 'tls-cert', key: 'tlsCert', arg: '<file>', default: '', defaultLabel: 'none', value: v.existingFile,
    text: 'Serve clients over TLS with this certificate (PEM). Needs `--tls-key`.',
  }),
  flag({
    name: 'tls-key', key: 'tlsKey', arg: '<file>', default: '', defaultLabel: 'none', value: v.existingFile,
    text: 'Private key of `--tls-cert` (PEM).',
  }),
  flag({
    name: 'tls-ca', key: 'tlsCa', arg: '<file>', default: '', defaultLabel: 'none', value: v.existingFile,
    text: 'Require client certificates signed by this CA (PEM).',
  }),
  flag({
    name: 'redis-ca', key: 'redisCa', arg: '<file>', default: '', defaultLabel: 'system CAs', value: v.existingFile,
    text: "CA that signed the Redis server's certificate (`rediss://`).",
  }),
  flag({
    name: 'redis-cert', key: 'redisCert', arg: '<file>', default: '', defaultLabel: 'none', value: v.existingFile,
    text: 'Client certificate the proxy shows to Redis (`rediss://`).',
  }),
  flag({
    name: 'redis-key', key: 'redisKey', arg: '<file>', default: '', defaultLabel: 'none', value: v.existingFile,
    text: 'Private key of `--redis-cert`.',
  }),
  flag({
    name: 'config', key: 'configFile', arg: '<file>', default: '', defaultLabel: 'none', value: v.configPath,
    text: 'Read settings from a YAML or JSON file whose keys are the flag names (`ttl: 60`). Flags and `REDISPROXY_*` variables win over the file. SIGHUP reads it again.',
  }),
  flag({
    name: 'http-get', key: 'httpGet', default: 'false', defaultLabel: 'off', value: v.boolean, live: true,
    text: 'Serve `GET /v1/keys/<key>` on the admin listener: the value through the same cache, as the `--addr` user and database.',
  }),
  flag({
    name: 'log-format', key: 'logFormat', arg: '<format>', default: 'auto', value: v.logFormat, live: true,
    text: '`json`, `text` (one readable line per event), or `auto`: text on a terminal, JSON otherwise.',
  }),
  flag({
    name: 'sentinel', key: 'sentinels', arg: '<addresses>', default: '', defaultLabel: 'none', value: v.sentinelList,
    text: 'Follow the primary these Redis Sentinels name for `--sentinel-master`, through failovers. `--addr` then gives only the credentials, database and TLS (`rediss://`) for the data nodes: its host and port are not used. See docs/sentinel.md.',
  }),
  flag({
    name: 'sentinel-master', key: 'sentinelMaster', arg: '<name>', default: '', defaultLabel: 'none', value: v.optionalText,
    text: 'Name of the master the sentinels monitor (`sentinel monitor <name> ...`). Required with `--sentinel`.',
  }),
  flag({
    name: 'sentinel-username', key: 'sentinelUsername', arg: '<user>', default: '', defaultLabel: 'none', value: v.optionalText,
    text: 'User the proxy authenticates as on the sentinels (their own ACL, not the data nodes\'). It needs `&*` or `&+switch-master` to subscribe.',
  }),
  flag({
    name: 'sentinel-password', key: 'sentinelPassword', arg: '<password>', default: '', defaultLabel: 'none', value: v.secret,
    text: "Password of the sentinels (`requirepass` in sentinel.conf), which is often not the data nodes' password.",
  }),
  flag({
    name: 'sentinel-tls', key: 'sentinelTls', default: 'false', defaultLabel: 'off', value: v.boolean,
    text: 'Talk to the sentinels over TLS.',
  }),
  flag({
    name: 'sentinel-ca', key: 'sentinelCa', arg: '<file>', default: '', defaultLabel: 'system CAs', value: v.existingFile,
    text: "CA that signed the sentinels' certificates (with `--sentinel-tls`).",
  }),
  flag({
    name: 'sentinel-cert', key: 'sentinelCert', arg: '<file>', default: '', defaultLabel: 'none', value: v.existingFile,
    text: 'Client certificate the proxy shows to the sentinels (with `--sentinel-tls`).',
  }),
  flag({
    name: 'sentinel-key', key: 'sentinelKey', arg: '<file>', default: '', defaultLabel: 'none', value: v.existingFile,
    text: 'Private key of `--sentinel-cert`.',
  }),
];

/** Flags that act and exit instead of setting something: their one text, for --help and the reference. */
export const ACTIONS = {
  printConfig: { flags: '--print-config', text: 'Print the resulting configuration as JSON (password hidden) and exit.' },
  help: { flags: '-h, --help', text: 'Print the help and exit.' },
  version: { flags: '-v, --version', text: 'Print the version and exit.' },
} as const;

/** Flags that only make sense on the command line or in the environment, not inside the file. */
export const NOT_IN_FILE: ReadonlySet<string> = new Set(['config']);

/** Keys a --config file may hold. */
export const FILE_KEYS: readonly string[] = FLAGS.filter((f) => !NOT_IN_FILE.has(f.name)).map((f) => f.name);

/** Keys naming files: relative paths in the config file are taken from the file's directory. */
export const PATH_KEYS: ReadonlySet<string> = new Set(FLAGS.filter((f) => f.arg === '<file>').map((f) => f.name));

/** `REDISPROXY_ADMIN_PORT` for `admin-port`. */
export function envName(flagName: string): string {
  return `REDISPROXY_${flagName.toUpperCase().replace(/-/g, '_')}`;
}
