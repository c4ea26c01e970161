import type { UpstreamClient } from './upstream.js';
import { NoConnection } from './no-connection.js';

// Where a new client starts when Redis wants a password: no connection at all yet. Its
// first request decides (see session/): an AUTH is checked off the connection and, if
// Redis accepts it, the client takes a seat on its user's pool; anything else (QUIT
// aside) opens a connection of the client's own first, so that Redis answers it exactly
// as a direct connection made now: NOAUTH, or the protocol error and the close Redis
// gives an unauthenticated client's oversized request, or, if Redis needs no password
// after all (the probe is a second behind), the reply to the default user.
//
// It counts as shared (the session leaves it the way it leaves a shared seat) and its
// user is unknown (seatUser null), which is also what keeps every request off it.

export class AwaitingAuth extends NoConnection {
  readonly shared = true;
  readonly streams = false;
  readonly answered = true;
  readonly seatLogin = null;

  constructor(private readonly client: UpstreamClient) {
    super();
  }

  send(_parts: Buffer[], bytes: number): boolean {
    // (never reached: a request moves the session to a connection first)
    if (bytes > 0 && !this.left && !this.client.closed) this.client.onUpstreamFault('a request reached no connection to Redis');
    return true;
  }
}
