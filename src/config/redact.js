// The configuration as it may be logged or printed: no password anywhere.
function redactAddress(a) {
    return { ...a, password: a.password === null ? null : '***' };
}
/** A plain copy of the config fit for logs: every backend password is replaced by "***". */
export function redactedConfig(c) {
    return {
        ...c,
        addr: redactAddress(c.addr),
        seeds: c.seeds.map(redactAddress),
        sentinelPassword: c.sentinelPassword === null ? null : '***',
    };
}
//# sourceMappingURL=redact.js.map