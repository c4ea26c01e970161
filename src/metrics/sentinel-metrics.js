import { Counter, Gauge } from 'prom-client';
// What /metrics says of the Sentinel follower (only with --sentinel), read when scraped.
export function registerSentinelMetrics(reg, state) {
    new Gauge({
        name: 'redisproxy_sentinel_primary',
        help: 'Always 1 for the primary being followed (address label host:port); no series while none is known',
        labelNames: ['address'],
        registers: [reg],
        collect() {
            this.reset();
            const p = state().primary;
            if (p !== null)
                this.set({ address: p }, 1);
        },
    });
    new Gauge({
        name: 'redisproxy_sentinel_primary_known', help: '1 while a primary is known, 0 while searching', registers: [reg],
        collect() { this.set(state().primary === null ? 0 : 1); },
    });
    new Counter({
        name: 'redisproxy_sentinel_switches_total', help: 'Primaries followed since start (the first one found counts)', registers: [reg],
        collect() { this.reset(); this.inc(state().switches); },
    });
    new Gauge({
        name: 'redisproxy_sentinel_reachable', help: 'Sentinels that answered at the last round', registers: [reg],
        collect() { this.set(state().reachable); },
    });
    new Gauge({
        name: 'redisproxy_sentinel_subscribed', help: '1 while a +switch-master subscription is up on some sentinel', registers: [reg],
        collect() { this.set(state().subscribedTo === null ? 0 : 1); },
    });
}
//# sourceMappingURL=sentinel-metrics.js.map