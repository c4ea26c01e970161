import type { BackendAddress } from '../config/config.js';
import type { TlsClientOptions } from '../backend/connect.js';
import type { TrackingTarget } from '../backend/invalidation-link.js';
import type { CommandTable } from '../commands/command-table.js';
import { OwnConnection } from './own-connection.js';
import type { SharedPool } from './shared-pool.js';
import type { Upstream, UpstreamClient, UpstreamProvider } from './upstream.js';

/** Upstreams to one Redis at one address: a seat on the shared pool, or a connection of the client's own. */
export class RedisUpstreams implements UpstreamProvider {
  constructor(
    private readonly addr: BackendAddress,
    private readonly tls: TlsClientOptions | undefined,
    private readonly pool: SharedPool | null,
    /** the invalidation link fills must be tracked for; null without a cache */
    private readonly tracking: TrackingTarget | null,
    /** sharing needs the command table (what may share is read from it) */
    private readonly commands: () => CommandTable | null,
  ) {}

  share(client: UpstreamClient): Upstream | null {
    if (this.pool === null || this.commands() === null) return null;
    // a fresh connection of a pool that needs no password: the default user, db 0, RESP2
    return this.pool.pick()?.seat(client) ?? null;
  }

  open(client: UpstreamClient): Upstream {
    return new OwnConnection({ addr: this.addr, tls: this.tls, tracking: this.tracking }, client);
  }

  accessChanging(): void {
    this.pool?.probe.hold();
  }

  accessChanged(): void {
    this.pool?.probe.now();
  }
}
