import { StateCommand, SubscriptionKind } from '../commands/session-commands.js';
import { confirmationChannel } from '../resp/pubsub-frame.js';
import type { StateChange } from './pending.js';

// A client's connection state as Redis confirmed it, learnt from replies, never from
// requests: `SELECT 3` changes the database only when Redis answered +OK. No I/O, so it
// is tested without Redis.
//
// The transaction is the exception: it is predicted from what was sent (a superset of the
// real one), because what is queued in MULTI must be known when EXEC is sent.

const OK = Buffer.from('+OK\r\n');
const RESET_REPLY = Buffer.from('+RESET\r\n');

function isErrorFrame(frame: Buffer): boolean {
  return frame[0] === 0x2d || frame[0] === 0x21;
}

/** What a transaction queued so far will do at EXEC. */
export class PredictedMulti {
  /** keys its writes name (latin1) */
  keys: string[] = [];
  /** a queued write may touch any key */
  allKeys = false;
  /** a queued command changes connection state: EXEC's effects cannot be told */
  changesState = false;
  /** an ACL or password change is queued: EXEC's reply has sharing checked again */
  accessChange = false;
}

export class ConnState {
  /** the ACL user Redis accepted (null: not proven yet, see prove) */
  user: string | null = null;
  db = 0;
  proto = 2;
  watching = false;
  /** the client's own CLIENT TRACKING is on */
  tracking = false;
  readonly subs: [Set<string>, Set<string>, Set<string>] = [new Set(), new Set(), new Set()];
  subCount = 0;
  /** state-changing commands sent whose replies have not come back yet */
  inFlight = 0;
  /** the transaction being queued (predicted), or null */
  multi: PredictedMulti | null = null;

  /** May the cache be used for a GET now: no state in doubt, nothing that a stale read would defeat. */
  get settled(): boolean {
    return this.inFlight === 0 && this.multi === null && !this.watching && !this.tracking && this.subCount === 0;
  }

  /** A reply that is no error proves the connection is authenticated: as the default user if nothing else was. */
  prove(): void {
    if (this.user === null) this.user = 'default';
  }

  /** A new connection (or one whose user is in doubt): proven again by its first reply. */
  unprove(): void {
    this.user = null;
  }

  /** Enter or leave the (predicted) transaction; either way nothing is queued in it yet. */
  setMulti(on: boolean): void {
    this.multi = on ? new PredictedMulti() : null;
  }

  /**
   * Redis answered a state command with `frame`. Returns true when the connection's user
   * changed (the upstream may now be allowed what the old one was refused).
   */
  apply(change: StateChange, frame: Buffer): boolean {
    const ok = frame.equals(OK);
    let userChanged = false;
    switch (change.command) {
      case StateCommand.Select:
        if (ok) this.db = change.num;
        break;
      case StateCommand.Auth:
        if (ok) {
          this.user = change.user;
          userChanged = true;
        }
        break;
      case StateCommand.Hello:
        // success is the server's map (RESP3) or array (RESP2)
        if (frame[0] === 0x25 || frame[0] === 0x2a) {
          if (change.num === 2 || change.num === 3) this.proto = change.num;
          if (change.user !== null) {
            this.user = change.user;
            userChanged = true;
          } else this.prove();
        }
        break;
      case StateCommand.Reset:
        if (frame.equals(RESET_REPLY)) {
          this.user = null; // the default user, if it needs no password; proven again by the next reply
          this.db = 0;
          this.proto = 2;
          this.watching = false;
          this.tracking = false;
          for (const s of this.subs) s.clear();
          this.subCount = 0;
          userChanged = true;
        }
        break;
      case StateCommand.Multi:
        // MULTI was refused: nothing is queued after all
        if (isErrorFrame(frame) && !frame.includes('nested')) this.setMulti(false);
        break;
      case StateCommand.Exec:
        if (!(isErrorFrame(frame) && frame.includes('without MULTI'))) this.watching = false;
        break;
      case StateCommand.Discard:
      case StateCommand.Unwatch:
        if (ok) this.watching = false;
        break;
      case StateCommand.Watch:
        if (ok) this.watching = true;
        break;
      case StateCommand.Client:
        if (ok) this.tracking = change.on;
        break;
      default:
        break;
    }
    return userChanged;
  }

  /**
   * One confirmation of a (un)subscribe command. `remaining` is how many the command
   * still expects (0: "as many as channels are subscribed when it reaches the head").
   * Returns how many it still expects after this one.
   */
  confirm(kind: SubscriptionKind, frame: Buffer, confirmationName: string, remaining: number): number {
    if (isErrorFrame(frame)) return 0; // one error answers the whole command
    const set = this.subs[kind];
    // at the head, every earlier confirmation is in: the set is what Redis will unsubscribe
    if (remaining === 0) remaining = Math.max(1, set.size);
    const channel = confirmationChannel(frame, 0);
    // (unsubscribe, punsubscribe, sunsubscribe)
    if (confirmationName.endsWith('unsubscribe')) {
      if (channel !== null) set.delete(channel);
    } else if (channel !== null) {
      set.add(channel);
    }
    this.subCount = this.subs[0].size + this.subs[1].size + this.subs[2].size;
    return remaining - 1;
  }
}
