import { EventEmitter } from 'node:events';
import { queryRole } from './node-role.js';
import { rankAnswers } from './answer-ranking.js';
import { SentinelConnection } from './sentinel-connection.js';
import { addressOf, backoff, keyOf } from './sentinel-options.js';
import { SwitchSubscriber } from './switch-subscriber.js';
/**
 * Follows the primary a set of Redis Sentinels names for one master:
 *
 *   round: ask every sentinel (address + config epoch) ─▶ rank the addresses named
 *          ─▶ ROLE on each in turn ─▶ the first that says "master" is followed
 *
 * A round runs at start, on every +switch-master message from the one subscribed
 * sentinel, when that subscription is lost or re-made (an event may have been missed),
 * when the owner calls recheck() (READONLY, a lost connection), and on a timer; so a
 * missed event cannot keep it on a demoted node. Rounds never overlap: a recheck during
 * one runs another after it.
 *
 * Ranking (answer-ranking.ts): the highest config epoch first, since a demoted primary can
 * still say "master" for seconds after a switch and ROLE alone would not pick.
 *
 * Events: 'switch' (old: BackendAddress | null, now: BackendAddress), once per real change.
 * While no sentinel answers, the known primary is kept.
 *
 *   const f = new SentinelFollower({ sentinels, masterName, sentinelAccess, nodeAccess, log });
 *   f.on('switch', (old, now) => ...);    // close what is on `old`, empty the cache, use `now`
 *   await f.start();                      // after the first round; f.primary may still be null
 *   void f.recheck();                     // on READONLY, or a lost connection to the primary
 *   f.state();                            // /readyz (phase), metrics; f.stop() at shutdown
 */
export class SentinelFollower extends EventEmitter {
    opts;
    sentinels;
    interval;
    timeout;
    backoffMin;
    backoffMax;
    log;
    current = null;
    switchCount = 0;
    roundCount = 0;
    reachableCount = 0;
    lastError = null;
    running = null;
    again = false;
    failedRounds = 0;
    lastRoundAt = 0;
    roundTimer = null;
    subscriber = null;
    subscribing = false;
    subIndex = 0;
    subAttempts = 0;
    subTimer = null;
    subscriptionError = null;
    stopped = false;
    constructor(opts) {
        super();
        this.opts = opts;
        if (opts.sentinels.length === 0)
            throw new Error('no sentinel address given');
        this.interval = opts.recheckIntervalMs ?? 5000;
        this.timeout = opts.timeoutMs ?? 2000;
        this.backoffMin = opts.backoffMinMs ?? 100;
        this.backoffMax = opts.backoffMaxMs ?? 5000;
        this.log = opts.log;
        this.sentinels = opts.sentinels.map((hp) => new SentinelConnection(hp, opts.sentinelAccess, this.timeout));
    }
    /** Starts following; resolves after the first round (with or without a primary: see `primary`, `state()`). */
    start() {
        this.subscribe();
        return this.recheck();
    }
    /** The primary being followed (with the data nodes' credentials), null until one is known. */
    get primary() {
        return this.current;
    }
    /** Resolves with the primary as soon as one is known. */
    waitForPrimary(timeoutMs) {
        if (this.current !== null)
            return Promise.resolve(this.current);
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => {
                this.off('switch', onSwitch);
                reject(new Error(`no primary for "${this.opts.masterName}" within ${timeoutMs} ms${this.lastError ? `: ${this.lastError}` : ''}`));
            }, timeoutMs);
            const onSwitch = (_old, now) => {
                clearTimeout(timer);
                resolve(now);
            };
            this.once('switch', onSwitch);
        });
    }
    state() {
        return {
            phase: this.stopped ? 'stopped' : this.current === null ? 'searching' : 'following',
            primary: this.current === null ? null : keyOf(this.current),
            sentinels: this.sentinels.map((s) => ({ address: s.display, status: s.status, lastError: s.lastError })),
            reachable: this.reachableCount,
            subscribedTo: this.subscriber?.display ?? null,
            subscriptionError: this.subscriptionError,
            switches: this.switchCount,
            rounds: this.roundCount,
            lastError: this.lastError,
        };
    }
    /** Ask the sentinels again now (READONLY from the primary, a lost connection); resolves when answered. */
    recheck() {
        if (this.stopped)
            return Promise.resolve();
        if (this.running !== null) {
            this.again = true;
            return this.running;
        }
        this.running = this.rounds();
        return this.running;
    }
    stop() {
        this.stopped = true;
        if (this.roundTimer !== null)
            clearTimeout(this.roundTimer);
        if (this.subTimer !== null)
            clearTimeout(this.subTimer);
        this.subscriber?.close();
        this.subscriber = null;
        for (const s of this.sentinels)
            s.close();
    }
    async rounds() {
        try {
            do {
                this.again = false;
                // a burst of rechecks (READONLY on many clients at once) becomes a round every backoffMin ms at most
                const wait = this.lastRoundAt + this.backoffMin - Date.now();
                if (wait > 0)
                    await new Promise((r) => setTimeout(r, wait));
                if (this.stopped)
                    return;
                this.lastRoundAt = Date.now();
                await this.round();
            } while (this.again && !this.stopped);
        }
        finally {
            this.running = null;
        }
        if (this.stopped)
            return;
        // while nothing is confirmed, retry sooner, backing off up to the usual interval
        const delay = this.lastError === null ? this.interval : Math.min(this.interval, backoff(this.failedRounds - 1, this.backoffMin, this.backoffMax));
        if (this.roundTimer !== null)
            clearTimeout(this.roundTimer);
        this.roundTimer = setTimeout(() => void this.recheck(), delay);
        this.roundTimer.unref();
    }
    async round() {
        this.roundCount++;
        const name = this.opts.masterName;
        const answers = await Promise.all(this.sentinels.map((s) => s.ask(name).then((a) => a, (e) => e)));
        if (this.stopped)
            return;
        this.reachableCount = answers.filter((a) => !(a instanceof Error)).length;
        const problems = [];
        if (this.reachableCount === 0) {
            problems.push(`no sentinel answered (${answers.map((a) => a.message).join('; ')})`);
        }
        else {
            const candidates = rankAnswers(answers, this.sentinels.map((x) => x.display), this.current);
            if (candidates.length === 0)
                problems.push(`no sentinel knows master "${name}"`);
            for (const c of candidates) {
                const addr = addressOf(c.hp, this.opts.nodeAccess);
                const role = await queryRole(addr, this.opts.nodeAccess.tlsOptions, this.timeout).catch((e) => e);
                if (this.stopped)
                    return;
                if (role === 'master') {
                    this.follow(addr);
                    this.lastError = null;
                    this.failedRounds = 0;
                    return;
                }
                problems.push(role instanceof Error
                    ? `sentinel ${c.by} names ${keyOf(c.hp)}: ${role.message}`
                    : `sentinel ${c.by} names ${keyOf(c.hp)}, which says it is a ${role === 'slave' ? 'replica' : role}`);
            }
        }
        this.failedRounds++;
        const message = problems.join('; ');
        if (message !== this.lastError)
            this.log?.warn({ master: name, primary: this.current?.display ?? null }, `sentinel: ${message}`);
        this.lastError = message;
    }
    follow(addr) {
        const old = this.current;
        if (old !== null && old.host === addr.host && old.port === addr.port)
            return;
        this.current = addr;
        this.switchCount++;
        this.log?.info({ master: this.opts.masterName, old: old?.display ?? null, new: addr.display }, `primary of "${this.opts.masterName}" is now ${addr.display} (was ${old?.display ?? 'unknown'})`);
        this.emit('switch', old, addr);
    }
    /** Keeps one +switch-master subscription, moving to the next sentinel (with backoff) when it is lost. */
    subscribe() {
        if (this.stopped || this.subscriber !== null || this.subscribing)
            return;
        this.subscribing = true;
        const s = this.sentinels[this.subIndex % this.sentinels.length];
        SwitchSubscriber.open(s.hp, this.opts.sentinelAccess, this.timeout, Math.max(1000, this.timeout)).then((sub) => {
            this.subscribing = false;
            if (this.stopped) {
                sub.close();
                return;
            }
            this.subscriber = sub;
            this.subAttempts = 0;
            this.subscriptionError = null;
            this.log?.info({ sentinel: sub.display }, 'sentinel: subscribed to +switch-master');
            sub.on('switch-master', (message) => {
                if (message.split(' ')[0] === this.opts.masterName)
                    void this.recheck();
            });
            sub.once('close', (err) => {
                this.subscriber = null;
                if (this.stopped)
                    return;
                this.log?.warn({ sentinel: sub.display }, `sentinel: subscription lost (${err.message})`);
                this.subIndex++;
                this.retrySubscribe();
            });
            // an event may have been published while no subscription was up
            void this.recheck();
        }, (err) => {
            this.subscribing = false;
            if (this.stopped)
                return;
            if (err.message !== this.subscriptionError)
                this.log?.warn({ sentinel: s.display }, `sentinel: cannot subscribe to +switch-master (${err.message})`);
            this.subscriptionError = err.message;
            this.subIndex++;
            this.retrySubscribe();
        });
    }
    retrySubscribe() {
        const delay = backoff(this.subAttempts++, this.backoffMin, this.backoffMax);
        this.subTimer = setTimeout(() => {
            this.subTimer = null;
            this.subscribe();
        }, delay);
        this.subTimer.unref();
    }
}
//# sourceMappingURL=sentinel-follower.js.map