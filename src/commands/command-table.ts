import { asString, RedisErrorReply, type RespValue } from '../resp/reply-value.js';
import { parseRedisInt } from '../resp/redis-int.js';
import { StateCommand, stateCommandOf, CONNECTION_BOUND } from './session-commands.js';

// What each command reads and writes, taken from the backing Redis's own COMMAND
// reply (flags and key specs), so that new commands, modules and version
// differences are handled by data rather than by a hard-coded list.

type BeginSearch =
  | { type: 'index'; index: number }
  | { type: 'keyword'; keyword: string; startfrom: number }
  | { type: 'unknown' };
type FindKeys =
  | { type: 'range'; lastkey: number; step: number; limit: number }
  | { type: 'keynum'; keynumidx: number; firstkey: number; step: number }
  | { type: 'unknown' };

export interface KeySpec {
  bs: BeginSearch;
  fk: FindKeys;
  /** NOT_KEY: the argument is not a key (SPUBLISH's shard channel) */
  notKey: boolean;
  /** INCOMPLETE: the spec may miss keys (MIGRATE ... KEYS) */
  incomplete: boolean;
}

export interface CommandInfo {
  name: string;
  arity: number;
  flags: Set<string>;
  /** may change data: the `write` flag, or a script/function call that is not read-only */
  writes: boolean;
  /** runs before authentication (AUTH, HELLO, ...): its success proves nothing about the user */
  noAuth: boolean;
  keySpecs: KeySpec[];
  /** legacy first/last/step, used only when key specs are absent (Redis 6) */
  first: number;
  last: number;
  step: number;
  movable: boolean;
  subcommands: Map<string, CommandInfo> | null;
}

// Scripts and functions are not flagged `write` (the flag is known only at run time),
// but they may write; their read-only variants may not.
const SCRIPT_CALLS = new Set(['eval', 'evalsha', 'fcall']);

function num(v: RespValue | undefined): number {
  return typeof v === 'number' ? v : Number(asString(v ?? ''));
}

/** Flat [k, v, ...] array (RESP2 map form) to a lookup. */
function asMap(v: RespValue | undefined): Map<string, RespValue> {
  const m = new Map<string, RespValue>();
  if (Array.isArray(v)) for (let i = 0; i + 1 < v.length; i += 2) m.set(asString(v[i]), v[i + 1]);
  return m;
}

function parseKeySpec(raw: RespValue): KeySpec {
  const m = asMap(raw);
  const bsm = asMap(m.get('begin_search'));
  const bsSpec = asMap(bsm.get('spec'));
  let bs: BeginSearch = { type: 'unknown' };
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
  let fk: FindKeys = { type: 'unknown' };
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
  const flags = Array.isArray(m.get('flags')) ? (m.get('flags') as RespValue[]).map((f) => asString(f).toLowerCase()) : [];
  return { bs, fk, notKey: flags.includes('not_key'), incomplete: flags.includes('incomplete') };
}

function parseCommand(raw: RespValue): CommandInfo | null {
  if (!Array.isArray(raw) || raw.length < 6) return null;
  const name = asString(raw[0]).toLowerCase();
  const flags = new Set<string>(Array.isArray(raw[2]) ? raw[2].map((f) => asString(f).toLowerCase()) : []);
  const keySpecs = Array.isArray(raw[8]) ? raw[8].map(parseKeySpec) : [];
  let subcommands: Map<string, CommandInfo> | null = null;
  if (Array.isArray(raw[9]) && raw[9].length > 0) {
    subcommands = new Map();
    for (const sub of raw[9]) {
      const info = parseCommand(sub);
      // subcommand names come as "container|sub"
      if (info) subcommands.set(info.name.slice(info.name.indexOf('|') + 1), info);
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

/**
 * What routing needs to know of a command name, worked out once per name so that the
 * hot path pays one map lookup instead of a lower-casing, a state-command check, a
 * command lookup and flag tests for every request.
 */
export interface CommandRoute {
  /** lower-case name; the same string every time (cheap to hash for metrics) */
  readonly name: string;
  readonly info: CommandInfo | undefined;
  readonly state: StateCommand;
  readonly writes: boolean;
  readonly blocking: boolean;
  /** may ride a shared connection (no connection state, not blocking) */
  readonly shareable: boolean;
  /**
   * Routed from its name alone: no state effect, no subcommands, and its keys are
   * none (a read) or exactly its first argument (GET, SET, INCR, HSET...).
   */
  readonly simple: boolean;
}

/** Distinct raw (as-sent) names remembered per table; past it, names are worked out each time. */
const ROUTE_CACHE_MAX = 4096;

/** Its only key is argument 1: one key spec, index 1, a range of one key. */
function onlyFirstKey(info: CommandInfo): boolean {
  if (info.keySpecs.length === 0) return !info.movable && info.first === 1 && info.last === 1;
  if (info.keySpecs.length !== 1) return false;
  const { bs, fk, notKey, incomplete } = info.keySpecs[0];
  return !notKey && !incomplete && bs.type === 'index' && bs.index === 1 && fk.type === 'range' && fk.lastkey === 0 && fk.step === 1;
}

export class CommandTable {
  private readonly commands = new Map<string, CommandInfo>();
  private readonly routes = new Map<string, CommandRoute>();
  /** routeOf's memo of the last name asked (names up to its size) */
  private readonly lastName = Buffer.alloc(24);
  private lastLen = -1;
  private lastRoute: CommandRoute | null = null;

  /** Build from the reply to `COMMAND` (RESP2 or RESP3 shape). */
  static fromCommandReply(reply: RespValue): CommandTable {
    if (reply instanceof RedisErrorReply) throw reply;
    if (!Array.isArray(reply)) throw new Error('COMMAND did not return an array');
    const table = new CommandTable();
    for (const raw of reply) {
      const info = parseCommand(raw);
      if (info) table.commands.set(info.name, info);
    }
    return table;
  }

  get size(): number {
    return this.commands.size;
  }

  /** The command, resolved to its subcommand when it has them (`CLIENT TRACKING` → client|tracking). */
  lookup(name: string, args: Buffer[]): CommandInfo | undefined {
    const info = this.commands.get(name);
    if (info?.subcommands && args.length > 1) {
      return info.subcommands.get(args[1].toString('latin1').toLowerCase()) ?? info;
    }
    return info;
  }

  /** The route of the command named by buf[off, off + len), in any case. */
  routeOf(buf: Buffer, off: number, len: number): CommandRoute {
    // the name the last request had, as sent: a run of one command makes no string per request
    const last = this.lastRoute;
    if (last !== null && len === this.lastLen) {
      const name = this.lastName;
      let i = 0;
      while (i < len && buf[off + i] === name[i]) i++;
      if (i === len) return last;
    }
    const raw = buf.toString('latin1', off, off + len);
    let route = this.routes.get(raw);
    if (route === undefined) {
      route = this.makeRoute(raw.toLowerCase());
      if (this.routes.size < ROUTE_CACHE_MAX) this.routes.set(raw, route);
    }
    if (len <= this.lastName.length) {
      buf.copy(this.lastName, 0, off, off + len);
      this.lastLen = len;
      this.lastRoute = route;
    }
    return route;
  }

  private makeRoute(name: string): CommandRoute {
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
      shareable: state === StateCommand.None && !CONNECTION_BOUND.has(name) && !blocking,
      simple: state === StateCommand.None && info !== undefined && info.subcommands === null && keysSimple,
    };
  }

  /**
   * Keys a command names, following Redis's own key-spec walk (getKeysUsingKeySpecs).
   * null when they cannot be told (an `unknown` spec, a bad numkeys): the caller
   * must then assume any key may be touched.
   */
  static keysOf(info: CommandInfo, args: Buffer[]): Buffer[] | null {
    const argc = args.length;
    const keys: Buffer[] = [];
    if (info.keySpecs.length === 0) {
      if (info.movable) return null;
      if (info.first <= 0) return keys;
      const last = info.last < 0 ? argc + info.last : info.last;
      for (let i = info.first; i <= last && i < argc; i += info.step || 1) keys.push(args[i]);
      return keys;
    }
    for (const spec of info.keySpecs) {
      if (spec.notKey) continue;
      if (spec.incomplete) return null; // Redis itself needs command-specific code here
      let first: number;
      const bs = spec.bs;
      if (bs.type === 'index') {
        first = bs.index;
      } else if (bs.type === 'keyword') {
        const start = bs.startfrom > 0 ? bs.startfrom : argc + bs.startfrom;
        const end = bs.startfrom > 0 ? argc - 1 : 0;
        first = -1;
        for (let i = start; i !== end; i = start <= end ? i + 1 : i - 1) {
          if (i >= argc || i < 1) break;
          if (args[i].length === bs.keyword.length && args[i].toString('latin1').toLowerCase() === bs.keyword) {
            first = i + 1;
            break;
          }
        }
        if (first < 0) continue; // keyword absent: this spec names no key
      } else {
        return null;
      }
      let last: number;
      let step: number;
      const fk = spec.fk;
      if (fk.type === 'range') {
        if (fk.lastkey >= 0) last = first + fk.lastkey;
        else if (!fk.limit) last = argc + fk.lastkey;
        else last = first + Math.floor((argc - first) / fk.limit) + fk.lastkey;
        step = fk.step;
      } else if (fk.type === 'keynum') {
        const idx = first + fk.keynumidx;
        if (idx >= argc) return null;
        const n = parseRedisInt(args[idx], 0, args[idx].length);
        if (Number.isNaN(n) || n < 0) return null;
        first += fk.firstkey;
        last = first + n - 1;
        step = fk.step;
      } else {
        return null;
      }
      if (step <= 0) return null;
      if (last >= argc || last < first || first >= argc) {
        // A numkeys that points outside the arguments makes Redis refuse the command
        // (EVAL with numkeys 0 lands here too: for a write, "no key" means "any key");
        // an empty range (PFMERGE dest with no source) just names no key.
        if (fk.type === 'keynum') return [];
        continue;
      }
      for (let i = first; i <= last; i += step) keys.push(args[i]);
    }
    return keys;
  }
}
