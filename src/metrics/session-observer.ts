// What a client session reports to the metrics, when metrics are on (--admin-port).
// The session holds `ctx.observer` (undefined when metrics are off, so the hot path
// pays one property check) and calls it from code it already runs:
//
//   route():           observer?.onCommand(name)            once per decoded command
//   reply written:     observer?.onReply(seconds, fromCache) once per request answered
//   on a failure:      observer?.onError(kind)              see ErrorKind
//
// Every method must be cheap and never throw: counting is a Map increment and a
// bucket scan over a fixed array, with no allocation; Prometheus reads the totals
// only when /metrics is scraped.

/**
 * Why a client was turned away or a command failed, as counted by
 * `redisproxy_errors_total{kind}`. `output-limit` and `max-clients` are counted by
 * the proxy itself (from ClientSession.outputLimitHits and the listener); a session
 * reports the others.
 */
export type ErrorKind =
  /** the client sent bytes Redis would reject (`-ERR Protocol error: ...`), connection closed */
  | 'protocol'
  /** an unfinished request passed --query-buffer-limit, client closed */
  | 'query-buffer'
  /** Redis did not answer within --backend-timeout */
  | 'backend-timeout'
  /** the session's connection to Redis failed or was lost; commands got an error reply */
  | 'backend-lost'
  /** Redis sent something that could not be paired with a request; client closed */
  | 'reply-fault'
  /** counted by the proxy, listed for completeness */
  | 'output-limit'
  | 'max-clients';

export const ERROR_KINDS: readonly ErrorKind[] = [
  'protocol',
  'query-buffer',
  'backend-timeout',
  'backend-lost',
  'reply-fault',
  'output-limit',
  'max-clients',
];

export interface SessionObserver {
  /** a command was decoded from a client; `name` is lower case (`get`, `client`) */
  onCommand(name: string): void;
  /**
   * A request's reply reached the client's socket: `latencySeconds` from the moment
   * the request was decoded to the moment its reply was written (queueing behind
   * earlier requests included). `fromCache` for replies served by ReplyCache.
   */
  onReply(latencySeconds: number, fromCache?: boolean): void;
  /** something went wrong; see ErrorKind */
  onError(kind: ErrorKind): void;
}
