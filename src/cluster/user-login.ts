import { encodeCommand } from '../resp/encode.js';

// The credentials of a client Redis accepted (AUTH u pw), as a cluster router of that user
// keeps them: its lanes are opened lazily, one per node the client uses, and each needs
// them to join that node's pool of u (or to authenticate a lane of the client's own where it
// cannot). So they live as long as the client's router, in memory only (never logged, never
// in /stats), copied out of the client's read buffer.

const AUTH = Buffer.from('AUTH');

export interface UserLogin {
  readonly user: string;
  /** AUTH u pw as arguments (for a node's check, UserPools.verify) */
  readonly args: Buffer[];
  /** the same as RESP bytes (sent first on a lane of the client's own) */
  readonly command: Buffer;
}

export function userLogin(user: string, password: Buffer): UserLogin {
  const args = [AUTH, Buffer.from(user, 'latin1'), Buffer.from(password)];
  return { user, args, command: encodeCommand(args) };
}
