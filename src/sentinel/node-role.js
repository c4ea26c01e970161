import { ControlConnection } from '../backend/control-connection.js';
import { RedisErrorReply, asString } from '../resp/reply-value.js';
import { connectFailure, within } from './sentinel-options.js';
/**
 * What a data node says it is (`ROLE`: "master", "slave", "sentinel"), on a connection of
 * its own that is closed again: a sentinel's answer is only followed once the node agrees.
 */
export async function queryRole(addr, tlsOptions, timeoutMs) {
    const conn = await ControlConnection.open(addr, tlsOptions, timeoutMs).catch((e) => {
        throw new Error(`${addr.display} is unreachable (${connectFailure(e)})`);
    });
    try {
        const ask = async () => {
            if (addr.password !== null) {
                const a = await conn.send(addr.username ? ['AUTH', addr.username, addr.password] : ['AUTH', addr.password]);
                if (a instanceof RedisErrorReply)
                    throw new Error(`${addr.display} refused authentication (${a.message})`);
            }
            const r = await conn.send(['ROLE']);
            if (r instanceof RedisErrorReply)
                throw new Error(`${addr.display} answered ROLE with ${r.message}`);
            if (!Array.isArray(r) || r.length === 0)
                throw new Error(`${addr.display} answered ROLE oddly`);
            return asString(r[0]);
        };
        return await within(ask(), timeoutMs, addr.display, () => conn.close());
    }
    finally {
        conn.close();
    }
}
//# sourceMappingURL=node-role.js.map