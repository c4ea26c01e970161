import type { Logger } from 'pino';
import type { CommandTable } from '../commands/command-table.js';
import type { ReplyCache } from '../cache/reply-cache.js';
import type { SessionObserver } from '../metrics/session-observer.js';
import type { UpstreamProvider } from '../upstream/upstream.js';
import type { OutputLimit } from './output-limit.js';
import type { ClientSession } from './session.js';

// What every session of a listener shares.

export interface SessionLimits {
  /** proto-max-bulk-len: a longer bulk is a protocol error */
  maxBulkLen: number;
  /** client-query-buffer-limit: bytes held for one unfinished request before the client is dropped */
  queryBufferLimit: number;
  outputNormal: OutputLimit;
  outputPubsub: OutputLimit;
}

export interface SessionContext {
  cache: ReplyCache | null;
  /** loaded from the backing Redis's COMMAND reply; null until then */
  commands(): CommandTable | null;
  limits: SessionLimits;
  log: Logger;
  /** metrics hook; absent when metrics are off, so the hot path pays one check */
  observer?: SessionObserver;
  /** where requests go */
  upstreams: UpstreamProvider;
  onClose(session: ClientSession): void;
}
