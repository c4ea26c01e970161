// A Prometheus histogram whose observe() is a bucket scan and two additions: no label
// hashing, no allocation (prom-client's Histogram hashes its labels on every call).
// One series per label value, fixed at construction; Prometheus reads cumulative
// bucket counts only when /metrics is scraped.
/** Seconds: 50 µs to 10 s, dense where a proxy's replies land. */
export const LATENCY_BUCKETS = [
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
export class HistogramSeries {
    bounds;
    /** counts[i]: observations in (bounds[i-1], bounds[i]]; the last slot is +Inf */
    counts;
    sum = 0;
    count = 0;
    constructor(bounds) {
        this.bounds = bounds;
        this.counts = new Float64Array(bounds.length + 1);
    }
    observe(v) {
        const b = this.bounds;
        let i = 0;
        while (i < b.length && v > b[i])
            i++;
        this.counts[i]++;
        this.sum += v;
        this.count++;
    }
}
export class LatencyHistogram {
    name;
    help;
    labelName;
    bounds;
    series;
    constructor(name, help, labelName, labelValues, bounds = LATENCY_BUCKETS) {
        this.name = name;
        this.help = help;
        this.labelName = labelName;
        this.bounds = bounds;
        this.series = new Map(labelValues.map((v) => [v, new HistogramSeries(bounds)]));
    }
    /** Registers this histogram in `registry` as a prom-client metric. */
    register(registry) {
        // prom-client's registry only calls name, help, type, aggregator and get()
        const metric = {
            name: this.name,
            help: this.help,
            type: 'histogram',
            aggregator: 'sum',
            get: async () => this.snapshot(),
            reset: () => undefined,
        };
        registry.registerMetric(metric);
    }
    snapshot() {
        const values = [];
        for (const [label, s] of this.series) {
            let cumulative = 0;
            for (let i = 0; i < this.bounds.length; i++) {
                cumulative += s.counts[i];
                values.push({ metricName: `${this.name}_bucket`, labels: { le: this.bounds[i], [this.labelName]: label }, value: cumulative });
            }
            cumulative += s.counts[this.bounds.length];
            values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf', [this.labelName]: label }, value: cumulative });
            values.push({ metricName: `${this.name}_sum`, labels: { [this.labelName]: label }, value: s.sum });
            values.push({ metricName: `${this.name}_count`, labels: { [this.labelName]: label }, value: s.count });
        }
        return { name: this.name, help: this.help, type: 'histogram', aggregator: 'sum', values };
    }
}
//# sourceMappingURL=latency-histogram.js.map