// The short, explicit list of commands whose effect on connection state the proxy
// must follow to serve GETs correctly (which user and database a reply belongs to,
// whether the connection is in a transaction, subscribed, tracking or silenced).
// Everything else is data from COMMAND (see command-table.ts).

export const enum StateCommand {
  None = 0,
  Select,
  Auth,
  Hello,
  Reset,
  Multi,
  Exec,
  Discard,
  Watch,
  Unwatch,
  /** CLIENT TRACKING / CLIENT REPLY: resolved with the subcommand */
  Client,
  Subscribe,
  Unsubscribe,
  Monitor,
  Quit,
}

export const enum SubscriptionKind {
  Channel = 0,
  Pattern = 1,
  Shard = 2,
}

const TABLE = new Map<string, StateCommand>([
  ['select', StateCommand.Select],
  ['auth', StateCommand.Auth],
  ['hello', StateCommand.Hello],
  ['reset', StateCommand.Reset],
  ['multi', StateCommand.Multi],
  ['exec', StateCommand.Exec],
  ['discard', StateCommand.Discard],
  ['watch', StateCommand.Watch],
  ['unwatch', StateCommand.Unwatch],
  ['client', StateCommand.Client],
  ['subscribe', StateCommand.Subscribe],
  ['psubscribe', StateCommand.Subscribe],
  ['ssubscribe', StateCommand.Subscribe],
  ['unsubscribe', StateCommand.Unsubscribe],
  ['punsubscribe', StateCommand.Unsubscribe],
  ['sunsubscribe', StateCommand.Unsubscribe],
  ['monitor', StateCommand.Monitor],
  ['quit', StateCommand.Quit],
]);

/** Commands that belong to one connection besides the state commands. */
export const CONNECTION_BOUND = new Set(['client', 'readonly', 'readwrite', 'asking', 'sync', 'psync', 'replconf', 'wait', 'waitaof', 'failover']);

export function stateCommandOf(name: string): StateCommand {
  return TABLE.get(name) ?? StateCommand.None;
}

export function subscriptionKindOf(name: string): SubscriptionKind {
  const c = name.charCodeAt(name.startsWith('un') ? 2 : 0);
  return c === 0x70 /* p */ ? SubscriptionKind.Pattern : c === 0x73 /* s */ ? SubscriptionKind.Shard : SubscriptionKind.Channel;
}

/** Names of pub/sub confirmations, which are replies (not out-of-band messages). */
export const CONFIRMATIONS = new Set(['subscribe', 'psubscribe', 'ssubscribe', 'unsubscribe', 'punsubscribe', 'sunsubscribe']);
/** Names of messages that arrive at any time on a subscribed connection. */
export const MESSAGES = new Set(['message', 'pmessage', 'smessage']);
