import { NIL_RESP2, NIL_RESP3 } from '../resp/encode.js';
import { keyHashSlot, SLOT_COUNT } from './key-slot.js';
import { infoIncludesKeyspace, mergeInfoReplies } from './keyspace-info.js';
import {
  arrayReply,
  elementsOf,
  errorReply,
  firstError,
  integerOf,
  integerReply,
  isNilReply,
  KeyspaceReplyError,
} from './keyspace-resp.js';
import { decodeScanCursor, mergeScanReply, scanRequest } from './keyspace-scan.js';
import { clusterInfoReply, clusterMyIdReply, clusterNodesReply, clusterShardsReply, clusterSlotsReply, selfNodeId, type SelfAddress } from './keyspace-self.js';

// The commands that concern the whole keyspace, or the cluster itself, planned so that a
// client of the proxy gets what one Redis would answer: where each goes (every master, one
// master, a slot's master, or nowhere: answered here), what each master is sent, and how
// their replies make the one reply the client gets. Pure: no I/O, bytes in and bytes out;
// the cluster router sends and collects. docs/cluster.md has the table of what goes where.
//
//   DBSIZE       every master → the sum            KEYS p      every master → one array
//   FLUSHALL     every master → +OK when all are   SCAN c      one master, the cursor says which
//   CLUSTER SLOTS  answered here: the proxy is the one master of every slot
//
// Requests a plan cannot make sense of (a wrong arity, a slot or cursor that is not a number)
// go to the first master as they came: the node's own error is the client's answer, as one
// Redis would give it.

export type Target = { kind: 'all-masters' } | { kind: 'one-master'; index: number } | { kind: 'slot'; slot: number } | { kind: 'local' };

export interface KeyspacePlan {
  readonly target: Target;
  /** the request bytes for master i (by the router's master order), or null to send the client's bytes as they came */
  requestFor(masterIndex: number): Buffer | null;
  /** the one reply the client gets from the masters' replies (RESP2 and RESP3 frames, in target order); for 'local', from nothing */
  merge(replies: Buffer[], resp3: boolean): Buffer;
}

export interface KeyspaceView {
  /** how many masters the router has, in its order (SCAN's cursor and 'one-master' indexes refer to it) */
  readonly masters: number;
  /** the proxy's address as clients reach it: CLUSTER SLOTS and friends give it as the one node */
  readonly self: SelfAddress;
}

export { KeyspaceReplyError } from './keyspace-resp.js';

type Merge = (replies: Buffer[], resp3: boolean) => Buffer;

const ALL: Target = Object.freeze({ kind: 'all-masters' });
const FIRST: Target = Object.freeze({ kind: 'one-master', index: 0 });
const LOCAL: Target = Object.freeze({ kind: 'local' });
const asCame = (): null => null;

function plan(target: Target, merge: Merge, requestFor: (i: number) => Buffer | null = asCame): KeyspacePlan {
  return { target, requestFor, merge };
}

function local(reply: (resp3: boolean) => Buffer): KeyspacePlan {
  return plan(LOCAL, (_replies, resp3) => reply(resp3));
}

/** To the first master as it came: its reply is the client's (a wrong arity, a bad argument). */
function firstMasterAsCame(): KeyspacePlan {
  return plan(FIRST, (replies) => only(replies));
}

function everyMaster(merge: Merge, masters: number): KeyspacePlan {
  return plan(ALL, (replies, resp3) => {
    if (replies.length !== masters) throw new KeyspaceReplyError(`${replies.length} replies for ${masters} masters`);
    return merge(replies, resp3);
  });
}

function only(replies: Buffer[]): Buffer {
  if (replies.length !== 1) throw new KeyspaceReplyError(`${replies.length} replies for one master`);
  return replies[0];
}

// --- merges of every master's replies ---

/** DBSIZE: the sum. */
export const mergeSum: Merge = (replies) => firstError(replies) ?? integerReply(replies.reduce((s, r) => s + integerOf(r, 'a count'), 0));

/** FLUSHALL, SCRIPT FLUSH, FUNCTION DELETE ...: +OK when every master says so, else the first error. */
export const mergeAllOk: Merge = (replies) => {
  const err = firstError(replies);
  if (err !== null) return err;
  for (const r of replies) if (r[0] !== 0x2b) throw new KeyspaceReplyError('a master did not answer +OK');
  return replies[0];
};

/** SCRIPT LOAD, FUNCTION LOAD: every master answers the same (the SHA, the library's name). */
export const mergeSame: Merge = (replies) => firstError(replies) ?? replies[0];

/** SCRIPT KILL, FUNCTION KILL: done if any master had one running; else the first master's NOTBUSY. */
export const mergeAnyOk: Merge = (replies) => replies.find((r) => r[0] === 0x2b) ?? replies[0];

/** KEYS: one array of every master's keys (Redis gives them in no particular order). */
export const mergeConcat: Merge = (replies) => {
  const err = firstError(replies);
  if (err !== null) return err;
  return arrayReply(replies.flatMap((r) => elementsOf(r, 'KEYS')), replies[0][0]);
};

/** SCRIPT EXISTS: a script exists when it exists on every master (a master without it would fail EVALSHA). */
export const mergeAndPerElement: Merge = (replies) => {
  const err = firstError(replies);
  if (err !== null) return err;
  const lists = replies.map((r) => elementsOf(r, 'SCRIPT EXISTS'));
  const n = lists[0].length;
  if (lists.some((l) => l.length !== n)) throw new KeyspaceReplyError('SCRIPT EXISTS answered with lists of different lengths');
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) out.push(integerReply(lists.every((l) => integerOf(l[i], 'SCRIPT EXISTS') !== 0) ? 1 : 0));
  return arrayReply(out, replies[0][0]);
};

/** RANDOMKEY: a key from a master chosen at random among those that have one; nil only if none has. */
export function mergeRandom(random: () => number = Math.random): Merge {
  return (replies, resp3) => {
    const err = firstError(replies);
    if (err !== null) return err;
    const withKeys = replies.filter((r) => !isNilReply(r));
    if (withKeys.length === 0) return resp3 ? NIL_RESP3 : NIL_RESP2;
    return withKeys[Math.min(withKeys.length - 1, Math.floor(random() * withKeys.length))];
  };
}

// --- the commands ---

const EVERY_MASTER: ReadonlyMap<string, Merge> = new Map<string, Merge>([
  ['dbsize', mergeSum],
  ['flushall', mergeAllOk],
  ['flushdb', mergeAllOk],
  ['keys', mergeConcat],
  ['randomkey', mergeRandom()],
]);

const SCRIPT: ReadonlyMap<string, Merge> = new Map<string, Merge>([
  ['load', mergeSame],
  ['flush', mergeAllOk],
  ['exists', mergeAndPerElement],
  ['kill', mergeAnyOk],
]);

const FUNCTION: ReadonlyMap<string, Merge> = new Map<string, Merge>([
  ['load', mergeSame],
  ['flush', mergeAllOk],
  ['delete', mergeAllOk],
  ['restore', mergeAllOk],
  ['kill', mergeAnyOk],
]);

/** CLUSTER subcommands that act on or describe one node's place in the cluster: refused, not passed to a node. */
const CLUSTER_REFUSED = new Set([
  'addslots', 'addslotsrange', 'delslots', 'delslotsrange', 'flushslots', 'setslot', 'meet', 'forget', 'reset',
  'failover', 'replicate', 'saveconfig', 'set-config-epoch', 'bumpepoch', 'count-failure-reports', 'links', 'myshardid',
]);

const NAMES = new Set(['dbsize', 'flushall', 'flushdb', 'keys', 'randomkey', 'scan', 'script', 'function', 'info', 'cluster']);

/**
 * How a whole-keyspace or CLUSTER command is answered on a cluster; null when `name` is not
 * one (the router routes it by its keys). `name`: the command's name, lower-case; `args`: the
 * whole request, name first, as the client sent it.
 */
export function keyspacePlan(name: string, args: readonly Buffer[], view: KeyspaceView): KeyspacePlan | null {
  if (!NAMES.has(name)) return null;
  const masters = view.masters;
  if (name === 'cluster') return clusterPlan(args, view);
  if (masters < 1) throw new RangeError('no master to send a whole-keyspace command to');
  const every = EVERY_MASTER.get(name);
  if (every !== undefined) return everyMaster(every, masters);
  switch (name) {
    case 'scan':
      return scanPlan(args, masters);
    case 'info':
      return infoIncludesKeyspace(args.slice(1).map((a) => a.toString('latin1').toLowerCase()))
        ? everyMaster(mergeInfoReplies, masters)
        : firstMasterAsCame();
    case 'script':
    case 'function': {
      const merge = args.length < 2 ? undefined : (name === 'script' ? SCRIPT : FUNCTION).get(args[1].toString('latin1').toLowerCase());
      // SCRIPT DEBUG, FUNCTION LIST/DUMP/STATS/HELP ...: not whole-keyspace; the router's choice
      return merge === undefined ? null : everyMaster(merge, masters);
    }
  }
  return null;
}

function scanPlan(args: readonly Buffer[], masters: number): KeyspacePlan {
  const position = args.length < 2 ? null : decodeScanCursor(args[1].toString('latin1'), masters);
  if (position === null) {
    // not a cursor this proxy hands out: the first master answers it as it came (`-ERR invalid
    // cursor`, or a page for the forms Redis itself accepts, such as `-1`), as if it were its own
    return plan(FIRST, (replies) => mergeScanReply(only(replies), 0, masters));
  }
  return plan(
    { kind: 'one-master', index: position.master },
    (replies) => mergeScanReply(only(replies), position.master, masters),
    () => scanRequest(args, position),
  );
}

function clusterPlan(args: readonly Buffer[], view: KeyspaceView): KeyspacePlan | null {
  if (args.length < 2) return view.masters < 1 ? null : firstMasterAsCame();
  const sub = args[1].toString('latin1').toLowerCase();
  const self = view.self;
  if (args.length === 2) {
    switch (sub) {
      case 'slots':
        return local((resp3) => clusterSlotsReply(self, resp3));
      case 'shards':
        return local((resp3) => clusterShardsReply(self, resp3));
      case 'nodes':
        return local((resp3) => clusterNodesReply(self, resp3));
      case 'info':
        return local((resp3) => clusterInfoReply(resp3));
      case 'myid':
        return local(() => clusterMyIdReply(self));
    }
  }
  if (args.length === 3) {
    switch (sub) {
      case 'keyslot': {
        const slot = keyHashSlot(args[2]);
        return local(() => integerReply(slot));
      }
      case 'replicas':
      case 'slaves': {
        const id = args[2].toString('latin1');
        return local(() => (id === selfNodeId(self) ? arrayReply([]) : errorReply(`ERR Unknown node ${id}`)));
      }
      case 'countkeysinslot': {
        const slot = slotArg(args[2]);
        if (slot !== null) return plan({ kind: 'slot', slot }, (replies) => only(replies));
        break;
      }
    }
  }
  if (args.length === 4 && sub === 'getkeysinslot') {
    const slot = slotArg(args[2]);
    if (slot !== null) return plan({ kind: 'slot', slot }, (replies) => only(replies));
  }
  if (CLUSTER_REFUSED.has(sub)) {
    const message = `ERR CLUSTER ${sub.toUpperCase()} is not available through the proxy, which presents the whole cluster as one node: send it to the node itself`;
    return local(() => errorReply(message));
  }
  // a wrong arity, a bad slot, HELP, an unknown subcommand: a node answers for itself
  return view.masters < 1 ? null : firstMasterAsCame();
}

function slotArg(arg: Buffer): number | null {
  const s = arg.toString('latin1');
  if (!/^(0|[1-9][0-9]{0,4})$/.test(s)) return null;
  const slot = Number(s);
  return slot < SLOT_COUNT ? slot : null;
}
