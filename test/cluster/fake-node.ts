// A node upstream for ClusterUpstream's unit tests: it records what it was sent, and the test
// makes it answer (whole frames, in one read), in whatever order the test says nodes answer.
import assert from 'node:assert/strict';
import type { BackendAddress } from '../../src/config/config.js';
import { CommandTable } from '../../src/commands/command-table.js';
import { ClusterUpstream, addrKey, type ClusterRouting } from '../../src/cluster/cluster-upstream.js';
import type { ClusterReply } from '../../src/cluster/redirect.js';
import { cmd } from '../helpers/resp.js';
import type { Upstream, UpstreamClient } from '../../src/upstream/upstream.js';

export const fakeAddr = (port: number): BackendAddress => ({ host: '127.0.0.1', port, tls: false, username: null, password: null, db: 0, display: `127.0.0.1:${port}` });

export class FakeNode implements Upstream {
  readonly streams = false;
  readonly answered = true;
  readonly congested = false;
  readonly fillOwner = null;
  readonly seatUser: string | null;
  sent = '';
  closed = false;
  /** shared: a seat on a node's shared connection (user "default"); else a lane of the client's own */
  constructor(
    readonly client: UpstreamClient,
    readonly shared = true,
  ) {
    this.seatUser = shared ? 'default' : null;
  }
  send(parts: Buffer[]): boolean {
    this.sent += Buffer.concat(parts).toString('latin1');
    return true;
  }
  /** the node answers `frames` (each one whole frame) in one read */
  answer(...frames: string[]): void {
    const chunk = Buffer.from(frames.join(''), 'latin1');
    let p = 0;
    for (const f of frames) {
      this.client.onUpstreamReply(chunk, p, p + f.length, true);
      p += f.length;
    }
    this.client.onUpstreamFlush();
  }
  fillGeneration(): number {
    return -1;
  }
  stillTracked(): boolean {
    return false;
  }
  yieldTracking(): void {}
  userChanged(): void {}
  relayRaw(): void {}
  pause(): void {}
  resume(): void {}
  close(): void {
    this.closed = true;
  }
}

/** A client session that records each reply frame it is handed, and why it was lost. */
export function recordingClient(): { client: UpstreamClient; got: string[]; lost: () => string } {
  const got: string[] = [];
  let lost = '';
  const client: UpstreamClient = {
    closed: false,
    onUpstreamReply: (buf, start, end) => void got.push(buf.toString('latin1', start, end)),
    onUpstreamFlush: () => undefined,
    onUpstreamDrain: () => undefined,
    onUpstreamLost: (reason) => void (lost = reason),
    onUpstreamFault: (reason) => assert.fail(reason),
    sendInternal: () => assert.fail('no internal requests expected'),
  };
  return { client, got, lost: () => lost };
}

/** GET, SET, MGET, DEL, PING, DBSIZE as COMMAND describes them (first key, last key, step) */
export const FAKE_TABLE = CommandTable.fromCommandReply([
  ['get', 2, ['readonly'], 1, 1, 1],
  ['set', -3, ['write'], 1, 1, 1],
  ['mget', -2, ['readonly'], 1, -1, 1],
  ['del', -2, ['write'], 1, -1, 1],
  ['ping', -1, ['fast'], 0, 0, 0],
  ['dbsize', 1, ['readonly'], 0, 0, 0],
]);

export const NODE_A = fakeAddr(7000);
export const NODE_B = fakeAddr(7001);

/**
 * A ClusterUpstream over two fake nodes (slots below 8192 on NODE_A, the rest on NODE_B unless
 * `addrOfSlot` says otherwise), for one client; `shared`: the client may sit on the nodes'
 * shared connections, else every lane is its own.
 */
export function fakeCluster(
  opts: { shared: boolean; addrOfSlot?: (slot: number) => BackendAddress | undefined; redirected?: (kind: ClusterReply) => void },
) {
  const nodes = new Map<string, FakeNode>();
  const routing: ClusterRouting = {
    commands: () => FAKE_TABLE,
    addrOfSlot: (slot) => opts.addrOfSlot?.(slot) ?? (slot < 8192 ? NODE_A : NODE_B),
    home: () => NODE_A,
    addressOf: (host, port) => ({ ...NODE_A, host, port, display: `${host}:${port}` }),
    connect: (a, _shared, client) => {
      const n = new FakeNode(client, opts.shared);
      nodes.set(addrKey(a), n);
      return n;
    },
    seatable: () => opts.shared,
    masterFor: (a) => a,
    redirected: (kind) => opts.redirected?.(kind),
    refresh: () => undefined,
    masterAddrs: () => [NODE_A, NODE_B],
    self: { host: '127.0.0.1', port: 6380 },
    announce: null,
    accessEpoch: 0,
    fills: false,
    trackingOf: () => null,
  };
  const { client, got, lost } = recordingClient();
  const up = new ClusterUpstream(routing, client, opts.shared);
  const send = (...commands: string[][]): void => {
    const bytes = Buffer.from(commands.map((c) => cmd(...c)).join(''), 'latin1');
    up.send([bytes], bytes.length);
  };
  return { up, nodes, got, send, node: (a: BackendAddress) => nodes.get(addrKey(a)) as FakeNode, lost };
}
