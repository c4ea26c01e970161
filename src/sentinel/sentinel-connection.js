import { ControlConnection } from '../backend/control-connection.js';
import { RedisErrorReply, asString, field } from '../resp/reply-value.js';
import { SentinelAuthError, addressOf, connectFailure, keyOf, refusal, within } from './sentinel-options.js';
/**
 * The follower's request/reply connection to one sentinel, opened on first use and again
 * after it is lost. Every request is bounded by the timeout: a sentinel that stops answering
 * (SIGSTOP, a partition) must not stall a round.
 */
export class SentinelConnection {
    hp;
    access;
    timeoutMs;
    status = 'unknown';
    lastError = null;
    conn = null;
    display;
    constructor(hp, access, timeoutMs) {
        this.hp = hp;
        this.access = access;
        this.timeoutMs = timeoutMs;
        this.display = keyOf(hp);
    }
    /**
     * Asks for the master's address (`get-master-addr-by-name`, which names the promoted replica
     * as soon as a failover has promoted it) and the config epoch of that configuration, in one
     * round trip. Sets `status`; throws when the sentinel cannot be asked.
     */
    async ask(masterName) {
        try {
            const conn = await this.open();
            const [addr, master] = await within(Promise.all([conn.send(['SENTINEL', 'get-master-addr-by-name', masterName]), conn.send(['SENTINEL', 'master', masterName])]), this.timeoutMs, `sentinel ${this.display}`, () => conn.close());
            if (addr instanceof RedisErrorReply)
                throw this.refused(addr);
            if (!Array.isArray(addr) || addr.length < 2) {
                this.status = 'no-such-master';
                this.lastError = `sentinel ${this.display} does not monitor "${masterName}"`;
                return { primary: null, epoch: -1 };
            }
            const port = Number(asString(addr[1]));
            if (!Number.isInteger(port) || port <= 0 || port > 65535)
                throw new Error(`sentinel ${this.display} named a bad port ${asString(addr[1])}`);
            this.status = 'reachable';
            this.lastError = null;
            return { primary: { host: asString(addr[0]), port }, epoch: epochOf(master) };
        }
        catch (e) {
            this.fail(e);
            throw e;
        }
    }
    close() {
        this.conn?.close();
        this.conn = null;
    }
    async open() {
        if (this.conn !== null)
            return this.conn;
        const addr = addressOf(this.hp, this.access);
        const conn = await ControlConnection.open(addr, this.access.tlsOptions, this.timeoutMs).catch((e) => {
            throw new Error(`sentinel ${this.display} is unreachable (${connectFailure(e)})`);
        });
        conn.on('close', () => {
            if (this.conn === conn)
                this.conn = null;
        });
        if (this.access.password !== null) {
            const args = this.access.username ? ['AUTH', this.access.username, this.access.password] : ['AUTH', this.access.password];
            const r = await within(conn.send(args), this.timeoutMs, `sentinel ${this.display}`, () => conn.close()).catch((e) => {
                conn.close();
                throw e;
            });
            if (r instanceof RedisErrorReply) {
                conn.close();
                throw this.refused(r);
            }
        }
        this.conn = conn;
        return conn;
    }
    refused(r) {
        return refusal(this.display, r.message) ?? new Error(`sentinel ${this.display} answered ${r.message}`);
    }
    fail(e) {
        this.status = e instanceof SentinelAuthError ? 'auth-failed' : 'unreachable';
        this.lastError = e.message;
        this.close();
    }
}
function epochOf(master) {
    const v = field(master, 'config-epoch');
    const n = v === undefined ? NaN : Number(asString(v));
    return Number.isFinite(n) ? n : 0;
}
//# sourceMappingURL=sentinel-connection.js.map