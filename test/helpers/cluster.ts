// A real local Redis Cluster for tests: six `redis-server --cluster-enabled yes` processes on
// free ports (three masters, one replica each), created with `redis-cli --cluster create`,
// and the moves tests need: a manual failover, a killed master, a slot moved between masters.
// Starting one takes seconds: start it once per test file (before/after), not per test.
//
//   const cluster = await startCluster();              // waits until every node says cluster_state:ok
//   after(() => cluster.stop());
//   const view = await cluster.nodes();                // ids, ports, roles, slot ranges
//   await cluster.failover(replica.port);              // CLUSTER FAILOVER on a replica, waits until all agree
//   const promoted = await cluster.killMaster(port);   // kill -9, waits for the replica's promotion
//   await cluster.moveSlot(42, otherMaster.port);      // IMPORTING/MIGRATING, MIGRATE, SETSLOT NODE on all
//
// The processes are registered like every other (children.ts): they die with the test process.
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redisCli, startRedis, type RedisServer } from './redis.js';
import { RawClient } from './raw-client.js';
import { cmd } from './resp.js';
import { getFreePort, sleep } from './util.js';

export interface StartClusterOptions {
  /** requirepass and masterauth on every node (the default user) */
  password?: string;
  /** cluster-node-timeout: how long a silent node takes to be failed (and a replica promoted) */
  nodeTimeoutMs?: number;
  /** more redis-server arguments for every node */
  args?: string[];
  /**
   * TLS beside the plain port: every node also listens on a TLS port, and the cluster bus and
   * replication use TLS (tls-cluster), so the nodes announce their TLS ports. The helper itself
   * keeps using the plain ports.
   */
  tls?: { cert: string; key: string; ca: string };
}

/** One node as CLUSTER NODES describes it. */
export interface ClusterNodeView {
  id: string;
  port: number;
  role: 'master' | 'replica';
  /** the master's id, for a replica */
  masterId: string | null;
  /** flagged `fail` (or `fail?`) by the node that was asked */
  failed: boolean;
  /** inclusive [start, end] ranges, in CLUSTER NODES order */
  slots: Array<[number, number]>;
}

export class NodeReplyError extends Error {}
/** A reply as read from a node (RESP2): simple strings are strings, bulks are Buffers, errors are values. */
export type NodeReply = null | string | number | Buffer | NodeReplyError | NodeReply[];

export interface SlotMove {
  readonly slot: number;
  readonly from: ClusterNodeView;
  readonly to: ClusterNodeView;
  /** MIGRATEs the slot's keys from the old owner to the new one; resolves with how many moved */
  migrateKeys(): Promise<number>;
  /** CLUSTER SETSLOT slot NODE <new owner> on the new owner, the old one, then every other node; waits until all agree */
  finish(): Promise<void>;
}

export interface RedisCluster {
  /** the six servers, in the order of `ports` (a killed one can be restarted with restartNode) */
  readonly servers: readonly RedisServer[];
  readonly ports: readonly number[];
  /** the nodes' TLS ports, in the order of `ports` (empty without the tls option) */
  readonly tlsPorts: readonly number[];
  readonly password: string | undefined;
  /** one command on one node (AUTH first when the cluster has a password); error replies are returned */
  call(port: number, ...args: Array<string | Buffer | number>): Promise<NodeReply>;
  /** CLUSTER NODES as seen by `port` (default: the first node that answers) */
  nodes(port?: number): Promise<ClusterNodeView[]>;
  /** the master that owns `slot`, as seen by the first node that answers */
  ownerOf(slot: number): Promise<ClusterNodeView>;
  /** until every running node says cluster_state:ok, all agree on the nodes, roles and slots, and every replica is linked */
  waitStable(timeoutMs?: number): Promise<ClusterNodeView[]>;
  /** CLUSTER FAILOVER on a replica; resolves with the new view once everyone agrees it is master */
  failover(replicaPort: number): Promise<ClusterNodeView[]>;
  /** kill -9 a master; resolves with the replica that took its slots, once everyone agrees */
  killMaster(masterPort: number): Promise<ClusterNodeView>;
  /** starts a killed node again (same port, same nodes.conf) and waits until the cluster is stable */
  restartNode(port: number): Promise<void>;
  /** SETSLOT IMPORTING on the new owner and MIGRATING on the old one: the slot is then mid-move (ASK) */
  startSlotMove(slot: number, toPort: number): Promise<SlotMove>;
  /** the whole move: start, migrate every key, finish */
  moveSlot(slot: number, toPort: number): Promise<void>;
  /** kills every node and removes their directories */
  stop(): Promise<void>;
}

const NODE_COUNT = 6;

// --- a RESP2 reply reader, just enough for cluster administration ---

function lineAt(buf: Buffer, pos: number): { line: string; next: number } {
  const cr = buf.indexOf('\r\n', pos, 'latin1');
  return { line: buf.toString('latin1', pos + 1, cr), next: cr + 2 };
}

function parseReply(buf: Buffer, pos = 0): { value: NodeReply; next: number } {
  const { line, next } = lineAt(buf, pos);
  switch (buf[pos]) {
    case 0x2b: // +
      return { value: line, next };
    case 0x2d: // -
      return { value: new NodeReplyError(line), next };
    case 0x3a: // :
      return { value: Number(line), next };
    case 0x24: {
      // $
      const n = Number(line);
      if (n < 0) return { value: null, next };
      return { value: buf.subarray(next, next + n), next: next + n + 2 };
    }
    case 0x2a: {
      // *
      const n = Number(line);
      if (n < 0) return { value: null, next };
      const out: NodeReply[] = [];
      let p = next;
      for (let i = 0; i < n; i++) {
        const r = parseReply(buf, p);
        out.push(r.value);
        p = r.next;
      }
      return { value: out, next: p };
    }
    default:
      throw new Error(`cluster helper: unexpected reply byte 0x${buf[pos].toString(16)}`);
  }
}

function text(r: NodeReply): string {
  if (r instanceof NodeReplyError) throw r;
  if (Buffer.isBuffer(r)) return r.toString('latin1');
  return String(r);
}

// --- CLUSTER NODES ---

/** `<id> <ip:port@cport> <flags> <master> <ping> <pong> <epoch> <link> <slot> ...` */
export function parseClusterNodes(body: string): ClusterNodeView[] {
  const out: ClusterNodeView[] = [];
  for (const line of body.split('\n')) {
    const f = line.trim().split(' ');
    if (f.length < 8) continue;
    const flags = f[2].split(',');
    const port = Number(f[1].split('@')[0].split(':').pop());
    const slots: Array<[number, number]> = [];
    for (const s of f.slice(8)) {
      if (s.startsWith('[')) continue; // [slot->-id] / [slot-<-id]: a move in progress, shown by its two nodes only
      const [a, b] = s.split('-');
      slots.push([Number(a), Number(b ?? a)]);
    }
    out.push({
      id: f[0],
      port,
      role: flags.includes('master') ? 'master' : 'replica',
      masterId: f[3] === '-' ? null : f[3],
      failed: flags.includes('fail') || flags.includes('fail?'),
      slots,
    });
  }
  return out.sort((x, y) => (x.id < y.id ? -1 : 1));
}

function signature(view: ClusterNodeView[]): string {
  return view.map((n) => `${n.id} ${n.port} ${n.role} ${n.masterId} ${n.failed} ${n.slots.map((s) => s.join('-')).join(',')}`).join('\n');
}

// the nodes die with the test process (children.ts); their directories go with it too
const liveDirs = new Set<string>();
process.on('exit', () => {
  for (const d of liveDirs) rmSync(d, { recursive: true, force: true });
});

function isRunning(s: RedisServer, dead: Set<number>): boolean {
  return !dead.has(s.port);
}

export async function startCluster(opts: StartClusterOptions = {}): Promise<RedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'redisproxy-cluster-'));
  liveDirs.add(dir);
  const auth = opts.password === undefined ? [] : ['--requirepass', opts.password, '--masterauth', opts.password];
  const cliAuth = opts.password === undefined ? [] : ['-a', opts.password, '--no-auth-warning'];
  const servers: RedisServer[] = [];
  const tlsPorts: number[] = [];
  const dead = new Set<number>();
  const tls = opts.tls;
  const cliTls = tls === undefined ? [] : ['--tls', '--cacert', tls.ca, '--cert', tls.cert, '--key', tls.key];

  const stop = async (): Promise<void> => {
    await Promise.all(servers.map((s) => s.kill()));
    rmSync(dir, { recursive: true, force: true });
    liveDirs.delete(dir);
  };

  try {
    for (let i = 0; i < NODE_COUNT; i++) {
      const nodeDir = join(dir, `node${i}`);
      mkdirSync(nodeDir);
      const tlsPort = tls === undefined ? 0 : await getFreePort();
      if (tls !== undefined) tlsPorts.push(tlsPort);
      const tlsArgs =
        tls === undefined
          ? []
          : ['--tls-port', String(tlsPort), '--tls-cluster', 'yes', '--tls-replication', 'yes', '--tls-cert-file', tls.cert, '--tls-key-file', tls.key, '--tls-ca-cert-file', tls.ca, '--tls-auth-clients', 'optional'];
      servers.push(
        await startRedis({
          args: [
            '--cluster-enabled', 'yes',
            '--dir', nodeDir,
            '--cluster-config-file', join(nodeDir, 'nodes.conf'),
            '--cluster-node-timeout', String(opts.nodeTimeoutMs ?? 2000),
            // the bus port is the client port + 10000 unless given: above 55535 the node would
            // refuse to start, and that port may be taken
            '--cluster-port', String(await getFreePort()),
            ...auth,
            ...tlsArgs,
            ...(opts.args ?? []),
          ],
        }),
      );
    }
    await redisCli(servers[0].port, [
      ...cliAuth,
      ...cliTls,
      '--cluster', 'create',
      ...(tls === undefined ? servers.map((s) => `127.0.0.1:${s.port}`) : tlsPorts.map((p) => `127.0.0.1:${p}`)),
      '--cluster-replicas', '1',
      '--cluster-yes',
    ], { timeoutMs: 60_000 });
  } catch (e) {
    await stop();
    throw e;
  }

  const ports = servers.map((s) => s.port);
  const serverAt = (port: number): RedisServer => {
    const s = servers.find((x) => x.port === port);
    if (!s) throw new Error(`cluster helper: no node on port ${port}`);
    return s;
  };

  async function call(port: number, ...args: Array<string | Buffer | number>): Promise<NodeReply> {
    const c = await RawClient.connect(port);
    try {
      if (opts.password !== undefined) {
        c.write(cmd('AUTH', opts.password));
        await c.readFrame(10_000);
      }
      c.write(cmd(...args));
      return parseReply(await c.readFrame(10_000)).value;
    } finally {
      c.destroy();
    }
  }

  async function nodes(port?: number): Promise<ClusterNodeView[]> {
    if (port !== undefined) return parseClusterNodes(text(await call(port, 'CLUSTER', 'NODES')));
    let last: unknown;
    for (const s of servers) {
      if (!isRunning(s, dead)) continue;
      try {
        return parseClusterNodes(text(await call(s.port, 'CLUSTER', 'NODES')));
      } catch (e) {
        last = e;
      }
    }
    throw new Error(`cluster helper: no node answers CLUSTER NODES (${String(last)})`);
  }

  async function ownerOf(slot: number): Promise<ClusterNodeView> {
    const view = await nodes();
    const owner = view.find((n) => n.role === 'master' && n.slots.some(([a, b]) => slot >= a && slot <= b));
    if (!owner) throw new Error(`cluster helper: nobody owns slot ${slot}`);
    return owner;
  }

  /** Why the cluster is not stable yet, or null when it is. */
  async function unstable(): Promise<{ why: string | null; view: ClusterNodeView[] }> {
    let first: ClusterNodeView[] | null = null;
    for (const s of servers) {
      if (!isRunning(s, dead)) continue;
      const info = text(await call(s.port, 'CLUSTER', 'INFO'));
      if (!/cluster_state:ok/.test(info)) return { why: `node ${s.port}: cluster_state is not ok`, view: [] };
      const view = await nodes(s.port);
      if (first === null) first = view;
      else if (signature(view) !== signature(first)) return { why: `node ${s.port} sees another topology`, view };
      const me = view.find((n) => n.port === s.port);
      if (me?.role === 'replica') {
        const master = view.find((n) => n.id === me.masterId);
        const repl = text(await call(s.port, 'INFO', 'replication'));
        if (master && !master.failed && !/master_link_status:up/.test(repl)) return { why: `replica ${s.port} is not linked`, view };
      }
    }
    return { why: null, view: first ?? [] };
  }

  async function waitStable(timeoutMs = 30_000): Promise<ClusterNodeView[]> {
    const deadline = Date.now() + timeoutMs;
    let why = '';
    while (Date.now() < deadline) {
      try {
        const r = await unstable();
        if (r.why === null) return r.view;
        why = r.why;
      } catch (e) {
        why = String(e);
      }
      await sleep(100);
    }
    throw new Error(`cluster helper: not stable after ${timeoutMs} ms: ${why}`);
  }

  async function waitFor(what: string, cond: (view: ClusterNodeView[]) => boolean, timeoutMs = 30_000): Promise<ClusterNodeView[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const view = await waitStable(Math.max(1, deadline - Date.now()));
      if (cond(view)) return view;
      if (Date.now() > deadline) throw new Error(`cluster helper: ${what} not seen after ${timeoutMs} ms`);
      await sleep(100);
    }
  }

  async function failover(replicaPort: number): Promise<ClusterNodeView[]> {
    const r = await call(replicaPort, 'CLUSTER', 'FAILOVER');
    if (r instanceof NodeReplyError) throw r;
    return waitFor(`node ${replicaPort} promoted`, (v) => v.find((n) => n.port === replicaPort)?.role === 'master');
  }

  async function killMaster(masterPort: number): Promise<ClusterNodeView> {
    const before = await nodes();
    const master = before.find((n) => n.port === masterPort);
    if (!master || master.role !== 'master') throw new Error(`cluster helper: ${masterPort} is not a master`);
    const replicaIds = new Set(before.filter((n) => n.masterId === master.id).map((n) => n.id));
    dead.add(masterPort);
    await serverAt(masterPort).kill();
    const view = await waitFor(`a replica of ${masterPort} promoted`, (v) =>
      v.some((n) => replicaIds.has(n.id) && n.role === 'master' && n.slots.length > 0),
    );
    return view.find((n) => replicaIds.has(n.id) && n.role === 'master')!;
  }

  async function restartNode(port: number): Promise<void> {
    await serverAt(port).restart();
    dead.delete(port);
    await waitFor(`node ${port} back`, (v) => v.some((n) => n.port === port && !n.failed));
  }

  async function startSlotMove(slot: number, toPort: number): Promise<SlotMove> {
    const from = await ownerOf(slot);
    const to = (await nodes()).find((n) => n.port === toPort);
    if (!to || to.role !== 'master') throw new Error(`cluster helper: ${toPort} is not a master`);
    if (to.id === from.id) throw new Error(`cluster helper: ${toPort} already owns slot ${slot}`);
    for (const [port, args] of [
      [to.port, ['IMPORTING', from.id]],
      [from.port, ['MIGRATING', to.id]],
    ] as const) {
      const r = await call(port, 'CLUSTER', 'SETSLOT', slot, ...args);
      if (r instanceof NodeReplyError) throw r;
    }
    return {
      slot,
      from,
      to,
      async migrateKeys() {
        let moved = 0;
        for (;;) {
          const keys = await call(from.port, 'CLUSTER', 'GETKEYSINSLOT', slot, 100);
          if (!Array.isArray(keys)) throw new Error(`cluster helper: GETKEYSINSLOT gave ${String(keys)}`);
          if (keys.length === 0) return moved;
          const authArgs = opts.password === undefined ? [] : ['AUTH', opts.password];
          const r = await call(from.port, 'MIGRATE', '127.0.0.1', to.port, '', 0, 10_000, ...authArgs, 'KEYS', ...(keys as Buffer[]));
          if (r instanceof NodeReplyError) throw r;
          moved += keys.length;
        }
      },
      async finish() {
        // the new owner first, so that it never answers ASK/MOVED back to the old one
        // (replicas refuse SETSLOT: they learn the owner from their master)
        const others = (await nodes()).filter((n) => n.role === 'master' && !n.failed && n.id !== to.id && n.id !== from.id);
        const order = [to.port, from.port, ...others.map((n) => n.port)];
        for (const port of order) {
          const r = await call(port, 'CLUSTER', 'SETSLOT', slot, 'NODE', to.id);
          if (r instanceof NodeReplyError) throw new Error(`SETSLOT NODE on ${port}: ${r.message}`);
        }
        await waitFor(`slot ${slot} owned by ${to.port}`, (v) =>
          v.some((n) => n.id === to.id && n.slots.some(([a, b]) => slot >= a && slot <= b)),
        );
      },
    };
  }

  async function moveSlot(slot: number, toPort: number): Promise<void> {
    const move = await startSlotMove(slot, toPort);
    await move.migrateKeys();
    await move.finish();
  }

  try {
    await waitStable(60_000);
  } catch (e) {
    await stop();
    throw e;
  }

  return {
    servers,
    ports,
    tlsPorts,
    password: opts.password,
    call,
    nodes,
    ownerOf,
    waitStable,
    failover,
    killMaster,
    restartNode,
    startSlotMove,
    moveSlot,
    stop,
  };
}
