import type { FillOwner } from '../cache/reply-cache.js';

// The seam between a client session and Redis. A session hands an Upstream its request
// bytes and is handed reply frames back, in order; it never asks which node or which kind
// of connection answers it (undici's connector: write, resume, destroy). Kinds today:
//
//   OwnConnection   one connection of the client's own (connection state stays the client's)
//   SharedSeat      the client's place on one of a few pipelined connections shared by
//                   clients that hold no connection state (the SharedPool's)
//
// A cluster router or a Sentinel follower is another implementation, or a provider that
// hands out these (see UpstreamProvider).
//
// Pairing replies with requests stays the session's (its pending queue); an upstream only
// delivers the frames meant for this client, in the order they came.

/** What an upstream tells its client session. */
export interface UpstreamClient {
  readonly closed: boolean;
  /** the client's socket, where there is one: its local end is the proxy as this client reached it */
  readonly socket?: { readonly localAddress?: string; readonly localPort?: number };
  /**
   * One reply frame, buf[start, end). inChunk: buf is the read's chunk (frames side by side
   * may go on as one slice); else buf is the frame alone. After relayRaw(), any range of
   * bytes as it came.
   */
  onUpstreamReply(buf: Buffer, start: number, end: number, inChunk: boolean): void;
  /** the replies of one read were all handed over: write them out */
  onUpstreamFlush(): void;
  /** the upstream can take requests again (after send returned false) */
  onUpstreamDrain(): void;
  /** the connection to Redis serving this client is gone, or could not be made */
  onUpstreamLost(reason: string): void;
  /** the reply stream broke the protocol: nothing more can be paired */
  onUpstreamFault(reason: string): void;
  /**
   * The upstream sends a request of its own ahead of what the client sends next (such as
   * its CLIENT TRACKING): the session keeps its reply's place in order and hands the reply
   * to `onReply` instead of the client.
   */
  sendInternal(bytes: Buffer, onReply: (frame: Buffer) => void): void;
}

export interface Upstream {
  /** true for a place on a connection other clients use too */
  readonly shared: boolean;
  /** can unfinished requests be streamed to it as they arrive (a connection of the client's own) */
  readonly streams: boolean;
  /** has Redis answered on it yet (past its connection-level refusals, such as maxclients) */
  readonly answered: boolean;
  /**
   * Send one batch of the client's requests (`parts`, `bytes` in all), which will produce
   * `replies` replies (a shared connection pairs by that count). Returns false when Redis
   * is not keeping up: stop reading the client until onUpstreamDrain.
   */
  send(parts: Buffer[], bytes: number, replies: number): boolean;
  /**
   * A shared seat: the ACL user its clients are (its connection is authenticated as that
   * user). null: no user known (not a shared seat, or no connection yet). Every kind must
   * say: a session on a shared seat whose user is null waits for its AUTH (AwaitingAuth).
   */
  readonly seatUser: string | null;
  /** a seat on a user's pool: the AUTH that makes a connection of the client's own that user's too */
  readonly seatLogin?: Buffer | null;
  /** is the socket's send buffer full (the client should stop being read) */
  readonly congested: boolean;
  /**
   * May a GET sent now fill the cache? Returns the tracking generation the fill relies on
   * (checked again with stillTracked when its reply is in), NO_TRACKING_NEEDED without
   * tracking, or -1. An upstream may send its own CLIENT TRACKING first (sendInternal).
   * key: the GET's key (latin1), when one key is to fill: a cluster router then asks of that
   * key's node only (one Redis ignores it).
   */
  fillGeneration(key?: string): number;
  /** false if the tracking a fill relied on was lost or refused meanwhile */
  stillTracked(generation: number): boolean;
  /**
   * May the cache answer this client's GET of the key at buf[off, off + len)? (absent: yes,
   * once the user is proven). A cluster router of the client's own says no for a key whose
   * node has not taken the client's credentials.
   */
  mayServe?(buf: Buffer, off: number, len: number): boolean;
  /** whose tracking reports the keys filled through it (null: the pool's, whose loss empties the cache) */
  readonly fillOwner: FillOwner | null;
  /**
   * The client takes tracking over (CLIENT TRACKING, RESET) or stops being paired: what was
   * filled through the proxy's tracking dies; turnOff also switches the proxy's tracking off
   * on the connection first, so the client's own options apply as on a fresh connection.
   */
  yieldTracking(turnOff: boolean): void;
  /** the connection's user changed (AUTH, HELLO AUTH, RESET): tracking refused for the old one may be allowed */
  userChanged(): void;
  /** relay the reply stream as bytes from the next frame on (replies can no longer be paired) */
  relayRaw(): void;
  /** stop / start reading replies (the client cannot keep up) */
  pause(): void;
  resume(): void;
  /** leave it: a connection of the client's own closes, a shared one drops this client's late replies */
  close(): void;
}

/** Redis's reply to a client's AUTH, checked off the client's connection; null: no answer (the check's connection was lost). */
export type AuthAnswer = (reply: Buffer | null) => void;

/** Where sessions get their upstreams. */
export interface UpstreamProvider {
  /**
   * Per-user sharing (see UserPools): may a client authenticating as `user` share that
   * user's pool? false: its AUTH goes down a connection of its own, as before.
   */
  canPool?(user: string): boolean;
  /** Have Redis check AUTH [user] password off the client's connection; the reply is Redis's */
  verify?(args: Buffer[], then: AuthAnswer): void;
  /** A seat on `user`'s pool (Redis accepted these credentials), once one of its connections is up; null: none to be had */
  joinPool?(user: string, password: Buffer, client: UpstreamClient, then: (seat: Upstream | null) => void): void;
  /**
   * A seat on `user`'s pool at once, when the credential memory holds this one (the password
   * is password[off, off + len)) and the pool has a connection up; null otherwise, and then
   * nothing happened: the AUTH goes through verify and joinPool as usual. What verify and
   * joinPool would do for a remembered credential, in one call (see session/in-place-auth).
   */
  seatFromMemory?(user: string, password: Buffer, off: number, len: number, client: UpstreamClient): Upstream | null;
  /** a place on a shared connection, when clients may share now; null: the client needs its own */
  share(client: UpstreamClient): Upstream | null;
  /** a connection of the client's own */
  open(client: UpstreamClient): Upstream;
  /** a command that may change who needs a password is on its way: hold new clients off sharing */
  accessChanging(): void;
  /** its reply is in: check again at once whether sharing is safe */
  accessChanged(): void;
}
