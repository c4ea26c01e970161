import { readFileSync } from 'node:fs';
import { SentinelFollower } from './sentinel-follower.js';
/**
 * The follower --sentinel asks for, or null without it. The data nodes get --addr's user,
 * password, database and TLS (its host is not used); the sentinels their own.
 */
export function followerFromConfig(config, nodeTls, log) {
    if (config.sentinels.length === 0 || config.sentinelMaster === null)
        return null;
    const { username, password, tls, db } = config.addr;
    return new SentinelFollower({
        sentinels: config.sentinels,
        masterName: config.sentinelMaster,
        sentinelAccess: {
            username: config.sentinelUsername,
            password: config.sentinelPassword,
            tls: config.sentinelTls,
            tlsOptions: config.sentinelTls
                ? {
                    ca: config.sentinelCa ? readFileSync(config.sentinelCa) : undefined,
                    cert: config.sentinelCert ? readFileSync(config.sentinelCert) : undefined,
                    key: config.sentinelKey ? readFileSync(config.sentinelKey) : undefined,
                }
                : undefined,
        },
        nodeAccess: { username, password, tls, tlsOptions: nodeTls, db },
        log,
    });
}
//# sourceMappingURL=follower-from-config.js.map