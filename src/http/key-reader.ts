import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import type { BackendAddress } from '../config/config.js';
import { Listener } from '../server/listener.js';
import type { SessionContext } from '../session/session.js';
import { RedisErrorReply, type RespValue } from '../resp/reply-value.js';
import { ControlConnection } from '../backend/control-connection.js';

// GET /v1/keys/:key (--http-get) reads keys as an ordinary client of the proxy would.
//
//   HTTP request ─▶ KeyReader ─▶ Unix socket ─▶ ClientSession ─▶ ReplyCache / Redis
//                                 (private)      (the same code every client runs)
//
// It does not reimplement the cache protocol: it is a RESP client of a second, private
// Listener that shares the main one's SessionContext (same cache, same command table,
// same limits). So an HTTP read is partitioned, filled, guarded against fill races,
// capped by the key's PTTL and invalidated exactly like a GET from redis-cli: it can
// never be staler than what a client of the proxy could see. The session authenticates
// with the user and password of --addr and selects its database, as the proxy's own
// connections do. The socket lives in a fresh 0700 directory, so no other local user
// can borrow the proxy's credentials through it (a TCP port on 127.0.0.1 could be).

export interface KeyReadResult {
  status: number;
  body: Buffer;
  contentType: string;
}

const TEXT = 'text/plain; charset=utf-8';
const DEFAULT_TIMEOUT_MS = 5000;

export class KeyReader {
  private listener: Listener | null = null;
  private dir: string | null = null;
  private starting: Promise<string> | null = null;
  private conn: Promise<ControlConnection> | null = null;
  /** the client `conn` resolved to, once it has */
  private client: ControlConnection | null = null;
  private closed = false;

  constructor(
    private readonly ctx: Omit<SessionContext, 'onClose'>,
    private readonly addr: BackendAddress,
    private readonly log: Logger,
    /** how long a read may take, in ms; 0 = the default (5 s) */
    private readonly timeoutMs: () => number,
  ) {}

  /** Sessions this reader holds (0 or 1), for the backend connection count. */
  get sessions(): number {
    return this.listener?.sessions.size ?? 0;
  }

  async get(key: Buffer): Promise<KeyReadResult> {
    if (this.closed) return text(503, 'shutting down');
    const ms = this.timeoutMs() || DEFAULT_TIMEOUT_MS;
    let client: ControlConnection;
    try {
      client = await withDeadline(this.connection(), ms);
    } catch (err) {
      this.reset();
      return err instanceof Timeout ? text(504, 'Redis did not answer in time') : text(502, message(err, this.addr));
    }
    let reply: RespValue;
    try {
      reply = await withDeadline(client.send(['GET', key]), ms);
    } catch (err) {
      // the reply may still come: this connection can no longer be trusted to pair replies
      this.reset(client);
      return err instanceof Timeout ? text(504, 'Redis did not answer in time') : text(502, message(err, this.addr));
    }
    if (Buffer.isBuffer(reply)) return { status: 200, body: reply, contentType: 'application/octet-stream' };
    if (reply === null) return text(404, 'no such key');
    if (reply instanceof RedisErrorReply) {
      const m = reply.message;
      if (m.startsWith('ERR RedisProxy:')) {
        // Redis is unreachable or the session lost it: start afresh next time
        this.reset(client);
        return text(502, m.slice('ERR '.length));
      }
      if (m.startsWith('WRONGTYPE')) return text(409, m);
      if (m.startsWith('NOPERM')) return text(403, m);
      return text(502, m);
    }
    return text(502, 'unexpected reply to GET');
  }

  close(): void {
    this.closed = true;
    this.reset();
    void this.listener?.stopAccepting();
    for (const s of this.listener?.sessions ?? []) s.close();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }

  private connection(): Promise<ControlConnection> {
    if (this.conn === null) {
      const conn = this.open();
      this.conn = conn;
      conn.then(
        (c) => {
          if (this.conn === conn) this.client = c;
          else c.close();
        },
        () => {
          if (this.conn === conn) this.conn = null;
        },
      );
    }
    return this.conn;
  }

  private async open(): Promise<ControlConnection> {
    const socketPath = await this.start();
    const client = await ControlConnection.openPath(socketPath);
    client.on('close', () => this.reset(client));
    // The handshake the proxy's own connections make: the --addr user, then its database.
    const { username, password, db } = this.addr;
    const steps: string[][] = [];
    if (password !== null) steps.push(username !== null ? ['AUTH', username, password] : ['AUTH', password]);
    if (db !== 0) steps.push(['SELECT', String(db)]);
    // also proves the session authenticated, so that its first GET may use the cache
    steps.push(['CLIENT', 'SETNAME', 'redisproxy-http-get']);
    const replies = await Promise.all(steps.map((s) => client.send(s)));
    const failed = replies.find((r) => r instanceof RedisErrorReply) as RedisErrorReply | undefined;
    if (failed) {
      client.close();
      throw new Error(failed.message.replace(/^ERR RedisProxy: /, ''));
    }
    return client;
  }

  private start(): Promise<string> {
    this.starting ??= (async () => {
      this.dir = mkdtempSync(path.join(tmpdir(), 'redisproxy-'));
      const socketPath = path.join(this.dir, 'http-get.sock');
      this.listener = new Listener(this.ctx, 64, this.log);
      await this.listener.listenPath(socketPath);
      return socketPath;
    })();
    return this.starting;
  }

  /**
   * Close `client` (default: the current connection, even while it is being opened);
   * if it is the current one, the next read opens a new one.
   */
  private reset(client?: ControlConnection): void {
    if (client !== undefined && client !== this.client) {
      client.close();
      return;
    }
    const current = this.conn;
    this.conn = null;
    this.client = null;
    if (client) client.close();
    else current?.then((c) => c.close(), () => undefined);
  }
}

function text(status: number, body: string): KeyReadResult {
  return { status, body: Buffer.from(`${body}\n`), contentType: TEXT };
}

function message(err: unknown, addr: BackendAddress): string {
  const m = err instanceof Error ? err.message : String(err);
  return addr.password ? m.split(addr.password).join('***') : m;
}

class Timeout extends Error {}

function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Timeout()), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}
