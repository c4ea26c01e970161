import { parseRedisInt } from '../resp/redis-int.js';
import { CommandTable } from '../commands/command-table.js';
import { stateCommandOf, subscriptionKindOf } from '../commands/session-commands.js';
import { Pending, stateRecord } from './pending.js';
import { lower } from './requests.js';
// The commands whose effect on the connection the proxy must follow (see
// commands/session-commands.ts): each becomes a State record whose change is applied when
// Redis's reply says it succeeded (ConnState.apply); MULTI's contents are predicted as they
// are queued, so EXEC can hold the keys they write. Commands after which replies can no
// longer be paired (MONITOR, CLIENT REPLY, SCRIPT DEBUG, SYNC) turn the session into a
// byte relay.
export class StateRouter {
    s;
    constructor(s) {
        this.s = s;
    }
    route(sc, name, args, buf, start, end) {
        const s = this.s;
        const multi = s.state.multi;
        switch (sc) {
            case 10 /* StateCommand.Client */: {
                const sub = args.length > 1 ? lower(args[1]) : '';
                if (sub === 'reply')
                    return this.routeUnpairable(buf, start, end);
                if (sub === 'tracking' && args.length > 2) {
                    if (multi)
                        multi.changesState = true; // queued: takes effect at EXEC
                    const p = stateRecord(sc);
                    p.change.on = lower(args[2]) === 'on';
                    this.yieldTracking(p.change?.on === true);
                    s.forward(buf, start, end);
                    return this.pushState(p);
                }
                s.forward(buf, start, end);
                return s.pending.pushPass(true);
            }
            case 13 /* StateCommand.Monitor */:
                return this.routeUnpairable(buf, start, end);
            case 14 /* StateCommand.Quit */:
                // Redis answers +OK, closes, and reads nothing after QUIT
                s.forward(buf, start, end);
                s.pending.pushPass(false);
                s.stopInput();
                return;
            case 11 /* StateCommand.Subscribe */:
            case 12 /* StateCommand.Unsubscribe */: {
                s.forward(buf, start, end);
                if (multi) {
                    multi.changesState = true;
                    return s.pending.pushPass(true);
                }
                const p = new Pending(4 /* Kind.Subscribe */);
                p.subKind = subscriptionKindOf(name);
                // SUBSCRIBE a b → 2 confirmations; UNSUBSCRIBE with no channel → one per
                // subscribed channel, counted when it reaches the head (0 marks "count then").
                p.count = args.length > 1 ? args.length - 1 : sc === 11 /* StateCommand.Subscribe */ ? 1 : 0;
                s.state.inFlight++;
                s.pending.push(p);
                return;
            }
            case 6 /* StateCommand.Exec */:
                return this.routeExec(buf, start, end);
            default:
                break;
        }
        const p = stateRecord(sc);
        const change = p.change;
        switch (sc) {
            case 1 /* StateCommand.Select */:
                change.num = args.length === 2 ? parseRedisInt(args[1], 0, args[1].length) : NaN;
                break;
            case 2 /* StateCommand.Auth */:
                change.user = args.length === 3 ? args[1].toString('latin1') : 'default';
                p.proves = false;
                break;
            case 3 /* StateCommand.Hello */: {
                change.num = args.length > 1 ? parseRedisInt(args[1], 0, args[1].length) : 0;
                for (let i = 2; i < args.length; i++) {
                    const opt = lower(args[i]);
                    if (opt === 'auth' && i + 2 < args.length) {
                        change.user = args[i + 1].toString('latin1');
                        i += 2;
                    }
                    else if (opt === 'setname') {
                        i += 1;
                    }
                }
                p.proves = false;
                break;
            }
            case 5 /* StateCommand.Multi */:
                if (!multi)
                    s.state.setMulti(true);
                break;
            case 7 /* StateCommand.Discard */:
                if (multi)
                    s.state.setMulti(false);
                break;
            case 4 /* StateCommand.Reset */:
                // RESET is never queued: it ends a transaction at once; it turns tracking off
                s.upstream?.yieldTracking(false);
                s.state.setMulti(false);
                p.proves = false;
                break;
            default:
                break;
        }
        if (multi && (sc === 1 /* StateCommand.Select */ || sc === 2 /* StateCommand.Auth */ || sc === 3 /* StateCommand.Hello */)) {
            // queued: takes effect at EXEC, where we can no longer tell what it did
            multi.changesState = true;
        }
        s.forward(buf, start, end);
        this.pushState(p);
    }
    /** EXEC: what the transaction queued is written now; its keys are held until EXEC's reply. */
    routeExec(buf, start, end) {
        const s = this.s;
        const cache = s.ctx.cache;
        const multi = s.state.multi;
        s.forward(buf, start, end);
        const p = stateRecord(6 /* StateCommand.Exec */);
        if (multi === null)
            return this.pushState(p);
        s.state.setMulti(false);
        if (multi.changesState) {
            // a plain relay from here on: no reply to wait for, drop the keys as EXEC is sent
            if (cache && multi.allKeys)
                cache.invalidateAll();
            if (cache)
                for (const k of multi.keys)
                    cache.invalidate(k);
            return this.goRaw();
        }
        p.accessChange = multi.accessChange;
        if (cache && multi.allKeys)
            p.hold = cache.holdAll();
        else if (cache && multi.keys.length > 0)
            p.hold = cache.holdKeys(multi.keys);
        this.pushState(p);
    }
    pushState(p) {
        this.s.state.inFlight++;
        this.s.pending.push(p);
    }
    /**
     * The client is about to change tracking on its connection itself, or to stop being
     * paired: the proxy's tracking there gives way (see Upstream.yieldTracking). Inside MULTI
     * nothing is sent ahead of the queued command.
     */
    yieldTracking(turnOff) {
        this.s.upstream?.yieldTracking(turnOff && this.s.state.multi === null);
    }
    /** MONITOR, CLIENT REPLY, SCRIPT DEBUG: replies stop matching requests one to one (or requests are not Redis commands). */
    routeUnpairable(buf, start, end) {
        const s = this.s;
        // (its later CLIENT TRACKING would be unseen, and must find the connection as Redis left it)
        if (s.state.multi === null)
            this.yieldTracking(true);
        s.forward(buf, start, end);
        if (s.state.multi) {
            s.state.multi.changesState = true;
            s.pending.pushPass(true);
            return;
        }
        this.goRaw();
    }
    goRaw() {
        const s = this.s;
        this.yieldTracking(false);
        s.relayRequests();
        // with nothing ahead, relay at once: the first bytes may be no reply at all (SYNC's
        // keep-alive newlines); else once every earlier reply is paired (see Kind.Raw)
        if (s.pending.length === 0)
            s.relayReplies();
        else
            s.pending.push(new Pending(6 /* Kind.Raw */));
        s.ctx.log.debug({ client: s.remote }, 'session relays raw bytes from now on (unpairable replies)');
    }
    /** In raw mode there are no replies to wait for: drop a write's keys as it is sent. */
    invalidateNow(name, args, cache) {
        const info = this.s.ctx.commands()?.lookup(name, args);
        if (!info?.writes && stateCommandOf(name) !== 6 /* StateCommand.Exec */)
            return;
        const keys = info?.writes ? CommandTable.keysOf(info, args) : null;
        if (keys === null || keys.length === 0)
            cache.invalidateAll();
        else
            for (const k of keys)
                cache.invalidate(k.toString('latin1'));
    }
}
//# sourceMappingURL=state-routes.js.map