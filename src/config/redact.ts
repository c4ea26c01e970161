// The configuration as it may be logged or printed: no password anywhere.

import type { BackendAddress, Config } from './config.js';

export type RedactedAddress = Omit<BackendAddress, 'password'> & { password: '***' | null };

export type RedactedConfig = Omit<Config, 'addr' | 'seeds' | 'sentinelPassword'> & {
  addr: RedactedAddress;
  seeds: RedactedAddress[];
  sentinelPassword: '***' | null;
};

function redactAddress(a: BackendAddress): RedactedAddress {
  return { ...a, password: a.password === null ? null : '***' };
}

/** A plain copy of the config fit for logs: every backend password is replaced by "***". */
export function redactedConfig(c: Config): RedactedConfig {
  return {
    ...c,
    addr: redactAddress(c.addr),
    seeds: c.seeds.map(redactAddress),
    sentinelPassword: c.sentinelPassword === null ? null : '***',
  };
}
