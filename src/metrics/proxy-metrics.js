import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { EventLoopDelay } from './event-loop-delay.js';
import { LatencyHistogram } from './latency-histogram.js';
import { ERROR_KINDS } from './session-observer.js';
const LINK_STATES = ['connecting', 'up', 'down', 'ttl-only'];
/** distinct command labels kept before the command table is known; the rest count as "unknown" */
const MAX_COMMAND_LABELS = 300;
const COMMAND_LABEL = /^[a-z][a-z0-9_|.:-]{0,63}$/;
export class ProxyMetrics {
    src;
    registry = new Registry();
    commands = new Map();
    errors = new Map(ERROR_KINDS.map((k) => [k, 0]));
    httpGets = new Map();
    reloads = new Map([
        ['ok', 0],
        ['error', 0],
    ]);
    latency;
    fromRedis;
    fromCache;
    loop = new EventLoopDelay();
    constructor(src) {
        this.src = src;
        const reg = this.registry;
        collectDefaultMetrics({ register: reg });
        const gauge = (name, help, read) => new Gauge({ name, help, registers: [reg], collect() { this.set(read()); } });
        const counter = (name, help, read) => new Counter({ name, help, registers: [reg], collect() { this.reset(); this.inc(read()); } });
        const labelled = (name, help, label, read) => new Counter({
            name, help, labelNames: [label], registers: [reg],
            collect() {
                this.reset();
                for (const [value, n] of read())
                    this.inc({ [label]: value }, n);
            },
        });
        new Gauge({
            name: 'redisproxy_build_info', help: 'Always 1; the version label says which build runs', labelNames: ['version'], registers: [reg],
            collect() { this.set({ version: src.version }, 1); },
        });
        gauge('redisproxy_clients_connected', 'Clients connected now', () => src.clients().connected);
        gauge('redisproxy_max_clients', 'Most clients at once (--max-clients), so an alert can compare clients_connected with it', () => src.maxClients());
        counter('redisproxy_clients_accepted_total', 'Client connections accepted since start', () => src.clients().accepted);
        counter('redisproxy_clients_rejected_total', 'Client connections refused by --max-clients', () => src.clients().rejected);
        labelled('redisproxy_commands_total', 'Commands received from clients, by lower-case name ("unknown" for names Redis does not know)', 'command', () => this.commands);
        this.latency = new LatencyHistogram('redisproxy_command_duration_seconds', 'From a request decoded to its reply written to the client, including the wait behind earlier requests; source=cache for replies from the cache', 'source', ['redis', 'cache']);
        this.latency.register(reg);
        this.fromRedis = this.latency.series.get('redis');
        this.fromCache = this.latency.series.get('cache');
        labelled('redisproxy_errors_total', 'Failures by kind: protocol, query-buffer, output-limit, max-clients, backend-timeout, backend-lost, reply-fault', 'kind', () => this.errors);
        const cache = src.cache;
        const stat = (read) => () => (cache ? read(cache) : 0);
        counter('redisproxy_cache_hits_total', 'GETs (and MGET keys) answered from the cache', stat((c) => c.stats.hits));
        counter('redisproxy_cache_misses_total', 'GETs (and MGET keys) the cache could not answer (forwarded to Redis)', stat((c) => c.stats.misses));
        counter('redisproxy_cache_fills_total', 'GET replies stored in the cache', stat((c) => c.stats.fills));
        counter('redisproxy_cache_fills_discarded_total', 'GET replies not stored because a write or invalidation raced with them', stat((c) => c.stats.fillsDiscarded));
        counter('redisproxy_cache_evictions_total', 'Entries dropped to stay within --capacity or --max-memory', stat((c) => c.stats.evictions));
        counter('redisproxy_cache_expirations_total', 'Entries found past their ttl (or their key\'s expiry in Redis)', stat((c) => c.stats.expirations));
        counter('redisproxy_cache_invalidations_total', 'Entries dropped because their key was written (through the proxy or reported by Redis tracking)', stat((c) => c.stats.invalidations));
        counter('redisproxy_cache_mgets_total', 'MGETs that used the cache (their keys count in hits and misses)', stat((c) => c.stats.mgets));
        counter('redisproxy_cache_mgets_from_cache_total', 'MGETs whose every key was answered from the cache', stat((c) => c.stats.mgetsFromCache));
        counter('redisproxy_cache_flushes_total', 'Whole-cache drops: FLUSHALL/FLUSHDB, keyless writes, link loss, a shorter ttl', stat((c) => c.stats.flushes));
        gauge('redisproxy_cache_entries', 'Keys held in the cache', stat((c) => c.size));
        gauge('redisproxy_cache_bytes', 'Bytes of keys and values held (counted only with --max-memory)', stat((c) => c.bytes));
        gauge('redisproxy_cache_hit_ratio', 'hits / (hits + misses) since start; 0 before any GET', stat((c) => {
            const n = c.stats.hits + c.stats.misses;
            return n === 0 ? 0 : c.stats.hits / n;
        }));
        gauge('redisproxy_cache_ready', '1 while the cache may serve (coherence guaranteed), else 0', stat((c) => (c.isReady() ? 1 : 0)));
        gauge('redisproxy_cache_capacity_keys', 'Most keys the cache holds (--capacity)', () => src.cacheLimits().capacity);
        gauge('redisproxy_cache_max_bytes', 'Most bytes the cache holds (--max-memory; 0 = no byte bound)', () => src.cacheLimits().maxBytes);
        gauge('redisproxy_cache_ttl_seconds', 'Longest life of an entry (--ttl)', () => src.cacheLimits().ttlSeconds);
        gauge('redisproxy_backend_connections', 'Connections open to Redis: one per client session, plus the invalidation link and the --http-get session', () => src.backendConnections());
        new Gauge({
            name: 'redisproxy_link_state', help: 'State of the invalidation link (health link when the cache is off): 1 for the current state', labelNames: ['state'], registers: [reg],
            collect() {
                const now = src.link().state;
                for (const s of LINK_STATES)
                    this.set({ state: s }, s === now ? 1 : 0);
            },
        });
        counter('redisproxy_link_connects_total', 'Times the invalidation link was (re)established', () => src.link().connects);
        gauge('redisproxy_ready', '1 while /readyz answers 200 (Redis answers and tracks, not shutting down), else 0', () => (src.ready() ? 1 : 0));
        gauge('redisproxy_redis_up', '1 when the backing Redis answers on the link (and tracks, in tracking mode)', () => (src.link().healthy ? 1 : 0));
        labelled('redisproxy_http_get_requests_total', 'GET /v1/keys/... requests (--http-get), by HTTP status', 'code', () => this.httpGets);
        labelled('redisproxy_config_reloads_total', 'SIGHUP reloads, by result (ok, or error: the running config was kept)', 'result', () => this.reloads);
    }
    // ── SessionObserver ──
    onCommand(name) {
        const n = this.commands.get(name);
        if (n !== undefined)
            this.commands.set(name, n + 1);
        else
            this.countNewCommand(name);
    }
    onReply(latencySeconds, fromCache) {
        (fromCache ? this.fromCache : this.fromRedis).observe(latencySeconds);
    }
    onError(kind) {
        this.errors.set(kind, (this.errors.get(kind) ?? 0) + 1);
    }
    // ── the proxy's own events ──
    countHttpGet(status) {
        const code = String(status);
        this.httpGets.set(code, (this.httpGets.get(code) ?? 0) + 1);
    }
    countReload(ok) {
        const r = ok ? 'ok' : 'error';
        this.reloads.set(r, (this.reloads.get(r) ?? 0) + 1);
    }
    /**
     * What the status page needs beyond the counters the proxy keeps anyway: requests
     * answered by source, and failures by kind (totals since start; the page takes rates).
     */
    pageStats() {
        this.readProxyCountedErrors();
        return {
            version: this.src.version,
            requests: { cache: this.fromCache.count, redis: this.fromRedis.count },
            errors: Object.fromEntries(this.errors),
            eventLoop: this.loop.read(),
        };
    }
    /** The Prometheus text exposition. */
    async render() {
        this.readProxyCountedErrors();
        return { contentType: this.registry.contentType, body: await this.registry.metrics() };
    }
    /** the kinds counted outside the sessions, read on demand */
    readProxyCountedErrors() {
        const clients = this.src.clients();
        this.errors.set('output-limit', clients.outputLimitDisconnects);
        this.errors.set('max-clients', clients.rejected);
    }
    countNewCommand(name) {
        const known = this.src.knownCommand(name);
        const ok = COMMAND_LABEL.test(name) && (known === true || (known === undefined && this.commands.size < MAX_COMMAND_LABELS));
        const label = ok ? name : 'unknown';
        this.commands.set(label, (this.commands.get(label) ?? 0) + 1);
    }
}
//# sourceMappingURL=proxy-metrics.js.map