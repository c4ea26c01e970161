// The short, explicit list of commands whose effect on connection state the proxy
// must follow to serve GETs correctly (which user and database a reply belongs to,
// whether the connection is in a transaction, subscribed, tracking or silenced).
// Everything else is data from COMMAND (see command-table.ts).
const TABLE = new Map([
    ['select', 1 /* StateCommand.Select */],
    ['auth', 2 /* StateCommand.Auth */],
    ['hello', 3 /* StateCommand.Hello */],
    ['reset', 4 /* StateCommand.Reset */],
    ['multi', 5 /* StateCommand.Multi */],
    ['exec', 6 /* StateCommand.Exec */],
    ['discard', 7 /* StateCommand.Discard */],
    ['watch', 8 /* StateCommand.Watch */],
    ['unwatch', 9 /* StateCommand.Unwatch */],
    ['client', 10 /* StateCommand.Client */],
    ['subscribe', 11 /* StateCommand.Subscribe */],
    ['psubscribe', 11 /* StateCommand.Subscribe */],
    ['ssubscribe', 11 /* StateCommand.Subscribe */],
    ['unsubscribe', 12 /* StateCommand.Unsubscribe */],
    ['punsubscribe', 12 /* StateCommand.Unsubscribe */],
    ['sunsubscribe', 12 /* StateCommand.Unsubscribe */],
    ['monitor', 13 /* StateCommand.Monitor */],
    ['quit', 14 /* StateCommand.Quit */],
]);
/** Commands that belong to one connection besides the state commands. */
export const CONNECTION_BOUND = new Set(['client', 'readonly', 'readwrite', 'asking', 'sync', 'psync', 'replconf', 'wait', 'waitaof', 'failover']);
export function stateCommandOf(name) {
    return TABLE.get(name) ?? 0 /* StateCommand.None */;
}
export function subscriptionKindOf(name) {
    const c = name.charCodeAt(name.startsWith('un') ? 2 : 0);
    return c === 0x70 /* p */ ? 1 /* SubscriptionKind.Pattern */ : c === 0x73 /* s */ ? 2 /* SubscriptionKind.Shard */ : 0 /* SubscriptionKind.Channel */;
}
/** Names of pub/sub confirmations, which are replies (not out-of-band messages). */
export const CONFIRMATIONS = new Set(['subscribe', 'psubscribe', 'ssubscribe', 'unsubscribe', 'punsubscribe', 'sunsubscribe']);
/** Names of messages that arrive at any time on a subscribed connection. */
export const MESSAGES = new Set(['message', 'pmessage', 'smessage']);
//# sourceMappingURL=session-commands.js.map