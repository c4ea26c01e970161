// What a client session reports to the metrics, when metrics are on (--admin-port).
// The session holds `ctx.observer` (undefined when metrics are off, so the hot path
// pays one property check) and calls it from code it already runs:
//
//   route():           observer?.onCommand(name)            once per decoded command
//   reply written:     observer?.onReply(seconds, fromCache) once per request answered
//   on a failure:      observer?.onError(kind)              see ErrorKind
//
// Every method must be cheap and never throw: counting is a Map increment and a
// bucket scan over a fixed array, with no allocation; Prometheus reads the totals
// only when /metrics is scraped.
export const ERROR_KINDS = [
    'protocol',
    'query-buffer',
    'backend-timeout',
    'backend-lost',
    'reply-fault',
    'output-limit',
    'max-clients',
];
//# sourceMappingURL=session-observer.js.map