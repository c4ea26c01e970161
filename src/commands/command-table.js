import { asString, RedisErrorReply } from '../resp/reply-value.js';
import { parseRedisInt } from '../resp/redis-int.js';
import { stateCommandOf, CONNECTION_BOUND } from './session-commands.js';
// Scripts and functions are not flagged `write` (the flag is known only at run time),
// but they may write; their read-only variants may not.
const SCRIPT_CALLS = new Set(['eval', 'evalsha', 'fcall']);
function num(v) {
    return typeof v === 'number' ? v : Number(asString(v ?? ''));
}
/** Flat [k, v, ...] array (RESP2 map form) to a lookup. */
function asMap(v) {
    const m = new Map();
    if (Array.isArray(v))
        for (let i = 0; i + 1 < v.length; i += 2)
            m.set(asString(v[i]), v[i + 1]);
    return m;
}
function parseKeySpec(raw) {
    const m = asMap(raw);
    const bsm = asMap(m.get('begin_search'));
    const bsSpec = asMap(bsm.get('spec'));
    let bs = { type: 'unknown' };
    switch (asString(bsm.get('type') ?? '')) {
        case 'index':
            bs = { type: 'index', index: num(bsSpec.get('index')) };
            break;
        case 'keyword':
            bs = { type: 'keyword', keyword: asString(bsSpec.get('keyword') ?? '').toLowerCase(), startfrom: num(bsSpec.get('startfrom')) };
            break;
    }
    const fkm = asMap(m.get('find_keys'));
    const fkSpec = asMap(fkm.get('spec'));
    let fk = { type: 'unknown' };
    switch (asString(fkm.get('type') ?? '')) {
        case 'range':
            fk = { type: 'range', lastkey: num(fkSpec.get('lastkey')), step: num(fkSpec.get('keystep')), limit: num(fkSpec.get('limit')) };
            break;
        case 'keynum':
            fk = {
                type: 'keynum',
                keynumidx: num(fkSpec.get('keynumidx')),
                firstkey: num(fkSpec.get('firstkey')),
                step: num(fkSpec.get('keystep')),
            };
            break;
    }
    const flags = Array.isArray(m.get('flags')) ? m.get('flags').map((f) => asString(f).toLowerCase()) : [];
    return { bs, fk, notKey: flags.includes('not_key'), incomplete: flags.includes('incomplete') };
}
function parseCommand(raw) {
    if (!Array.isArray(raw) || raw.length < 6)
        return null;
    const name = asString(raw[0]).toLowerCase();
    const flags = new Set(Array.isArray(raw[2]) ? raw[2].map((f) => asString(f).toLowerCase()) : []);
    const keySpecs = Array.isArray(raw[8]) ? raw[8].map(parseKeySpec) : [];
    let subcommands = null;
    if (Array.isArray(raw[9]) && raw[9].length > 0) {
        subcommands = new Map();
        for (const sub of raw[9]) {
            const info = parseCommand(sub);
            // subcommand names come as "container|sub"
            if (info)
                subcommands.set(info.name.slice(info.name.indexOf('|') + 1), info);
        }
    }
    return {
        name,
        arity: num(raw[1]),
        flags,
        writes: flags.has('write') || SCRIPT_CALLS.has(name),
        noAuth: flags.has('no_auth'),
        keySpecs,
        first: num(raw[3]),
        last: num(raw[4]),
        step: num(raw[5]),
        movable: flags.has('movablekeys'),
        subcommands,
    };
}
/** Distinct raw (as-sent) names remembered per table; past it, names are worked out each time. */
const ROUTE_CACHE_MAX = 4096;
/** Its only key is argument 1: one key spec, index 1, a range of one key. */
function onlyFirstKey(info) {
    if (info.keySpecs.length === 0)
        return !info.movable && info.first === 1 && info.last === 1;
    if (info.keySpecs.length !== 1)
        return false;
    const { bs, fk, notKey, incomplete } = info.keySpecs[0];
    return !notKey && !incomplete && bs.type === 'index' && bs.index === 1 && fk.type === 'range' && fk.lastkey === 0 && fk.step === 1;
}
export class CommandTable {
    commands = new Map();
    routes = new Map();
    /** Build from the reply to `COMMAND` (RESP2 or RESP3 shape). */
    static fromCommandReply(reply) {
        if (reply instanceof RedisErrorReply)
            throw reply;
        if (!Array.isArray(reply))
            throw new Error('COMMAND did not return an array');
        const table = new CommandTable();
        for (const raw of reply) {
            const info = parseCommand(raw);
            if (info)
                table.commands.set(info.name, info);
        }
        return table;
    }
    get size() {
        return this.commands.size;
    }
    /** The command, resolved to its subcommand when it has them (`CLIENT TRACKING` → client|tracking). */
    lookup(name, args) {
        const info = this.commands.get(name);
        if (info?.subcommands && args.length > 1) {
            return info.subcommands.get(args[1].toString('latin1').toLowerCase()) ?? info;
        }
        return info;
    }
    /** The route of the command named by buf[off, off + len), in any case. */
    routeOf(buf, off, len) {
        const raw = buf.toString('latin1', off, off + len);
        let route = this.routes.get(raw);
        if (route === undefined) {
            route = this.makeRoute(raw.toLowerCase());
            if (this.routes.size < ROUTE_CACHE_MAX)
                this.routes.set(raw, route);
        }
        return route;
    }
    makeRoute(name) {
        const info = this.commands.get(name);
        const state = stateCommandOf(name);
        const blocking = info?.flags.has('blocking') === true;
        const writes = info?.writes === true;
        // (a read's keys do not matter to the cache)
        const keysSimple = info !== undefined && (writes ? onlyFirstKey(info) : true);
        return {
            name: info?.name ?? name,
            info,
            state,
            writes,
            blocking,
            shareable: state === 0 /* StateCommand.None */ && !CONNECTION_BOUND.has(name) && !blocking,
            simple: state === 0 /* StateCommand.None */ && info !== undefined && info.subcommands === null && keysSimple,
        };
    }
    /**
     * Keys a command names, following Redis's own key-spec walk (getKeysUsingKeySpecs).
     * null when they cannot be told (an `unknown` spec, a bad numkeys): the caller
     * must then assume any key may be touched.
     */
    static keysOf(info, args) {
        const argc = args.length;
        const keys = [];
        if (info.keySpecs.length === 0) {
            if (info.movable)
                return null;
            if (info.first <= 0)
                return keys;
            const last = info.last < 0 ? argc + info.last : info.last;
            for (let i = info.first; i <= last && i < argc; i += info.step || 1)
                keys.push(args[i]);
            return keys;
        }
        for (const spec of info.keySpecs) {
            if (spec.notKey)
                continue;
            if (spec.incomplete)
                return null; // Redis itself needs command-specific code here
            let first;
            const bs = spec.bs;
            if (bs.type === 'index') {
                first = bs.index;
            }
            else if (bs.type === 'keyword') {
                const start = bs.startfrom > 0 ? bs.startfrom : argc + bs.startfrom;
                const end = bs.startfrom > 0 ? argc - 1 : 0;
                first = -1;
                for (let i = start; i !== end; i = start <= end ? i + 1 : i - 1) {
                    if (i >= argc || i < 1)
                        break;
                    if (args[i].length === bs.keyword.length && args[i].toString('latin1').toLowerCase() === bs.keyword) {
                        first = i + 1;
                        break;
                    }
                }
                if (first < 0)
                    continue; // keyword absent: this spec names no key
            }
            else {
                return null;
            }
            let last;
            let step;
            const fk = spec.fk;
            if (fk.type === 'range') {
                if (fk.lastkey >= 0)
                    last = first + fk.lastkey;
                else if (!fk.limit)
                    last = argc + fk.lastkey;
                else
                    last = first + Math.floor((argc - first) / fk.limit) + fk.lastkey;
                step = fk.step;
            }
            else if (fk.type === 'keynum') {
                const idx = first + fk.keynumidx;
                if (idx >= argc)
                    return null;
                const n = parseRedisInt(args[idx], 0, args[idx].length);
                if (Number.isNaN(n) || n < 0)
                    return null;
                first += fk.firstkey;
                last = first + n - 1;
                step = fk.step;
            }
            else {
                return null;
            }
            if (step <= 0)
                return null;
            if (last >= argc || last < first || first >= argc) {
                // A numkeys that points outside the arguments makes Redis refuse the command
                // (EVAL with numkeys 0 lands here too: for a write, "no key" means "any key");
                // an empty range (PFMERGE dest with no source) just names no key.
                if (fk.type === 'keynum')
                    return [];
                continue;
            }
            for (let i = first; i <= last; i += step)
                keys.push(args[i]);
        }
        return keys;
    }
}
//# sourceMappingURL=command-table.js.map