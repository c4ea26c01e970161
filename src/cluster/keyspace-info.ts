import { firstError, textOf, textReply } from './keyspace-resp.js';

// INFO on a cluster. The keyspace is spread over the masters, so its section is merged:
// per database, every count is summed (keys, expires, and any count a newer Redis adds) and
// avg_ttl is the average of the masters' avg_ttl weighted by their `expires` (each master's
// figure is itself Redis's estimate over its keys with a TTL). Every other section (server,
// clients, memory, stats, replication, ...) describes one process and cannot be summed
// honestly: it is the first master's, as it came. So `INFO` and `INFO keyspace` ask every
// master; `INFO <sections>` without the keyspace asks the first master only.

/** Whether INFO with these section arguments (lower-cased) includes the keyspace section. */
export function infoIncludesKeyspace(sections: readonly string[]): boolean {
  if (sections.length === 0) return true;
  return sections.some((s) => s === 'keyspace' || s === 'all' || s === 'everything' || s === 'default');
}

const HEADING = '# Keyspace\r\n';

/**
 * The masters' INFO replies (bulk or verbatim) → the first one with its Keyspace section
 * merged, as the client's protocol has it: a bulk string in RESP2, a verbatim one in RESP3.
 */
export function mergeInfoReplies(replies: readonly Buffer[], resp3: boolean): Buffer {
  const err = firstError(replies);
  if (err !== null) return err;
  const texts = replies.map((r) => textOf(r, 'INFO').text.toString('latin1'));
  const base = texts[0];
  const at = base.indexOf(HEADING);
  if (at < 0) return replies[0];
  const bodyStart = at + HEADING.length;
  // the section's lines run to a blank line (the next section) or the end
  const blank = base.indexOf('\r\n\r\n', at);
  const bodyEnd = blank < 0 ? base.length : blank + 2;
  const merged = mergeKeyspaceLines(texts.map(keyspaceLinesOf));
  const out = base.slice(0, bodyStart) + merged.map((l) => `${l}\r\n`).join('') + base.slice(bodyEnd);
  return textReply(Buffer.from(out, 'latin1'), resp3);
}

/** The `dbN:...` lines of a text's Keyspace section. */
export function keyspaceLinesOf(text: string): string[] {
  const at = text.indexOf(HEADING);
  if (at < 0) return [];
  const out: string[] = [];
  for (const line of text.slice(at + HEADING.length).split('\r\n')) {
    if (line === '' || line.startsWith('#')) break;
    out.push(line);
  }
  return out;
}

/**
 * `db0:keys=3,expires=1,avg_ttl=500` lines from each master → one line per database, in
 * database order, fields in the order first seen. A database no master lists is not listed
 * (Redis omits empty ones too).
 */
export function mergeKeyspaceLines(perMaster: readonly string[][]): string[] {
  const dbs = new Map<number, { fields: string[]; sums: Map<string, bigint>; ttlWeighted: bigint }>();
  for (const lines of perMaster) {
    for (const line of lines) {
      const m = /^db(\d+):(.*)$/.exec(line);
      if (m === null) continue;
      const db = Number(m[1]);
      let acc = dbs.get(db);
      if (acc === undefined) {
        acc = { fields: [], sums: new Map(), ttlWeighted: 0n };
        dbs.set(db, acc);
      }
      const values = new Map<string, bigint>();
      for (const kv of m[2].split(',')) {
        const eq = kv.indexOf('=');
        const name = kv.slice(0, eq);
        const v = kv.slice(eq + 1);
        if (eq < 0 || !/^-?[0-9]+$/.test(v)) continue;
        values.set(name, BigInt(v));
        if (!acc.sums.has(name)) acc.fields.push(name);
        acc.sums.set(name, (acc.sums.get(name) ?? 0n) + BigInt(v));
      }
      acc.ttlWeighted += (values.get('avg_ttl') ?? 0n) * (values.get('expires') ?? 0n);
    }
  }
  return [...dbs.keys()]
    .sort((a, b) => a - b)
    .map((db) => {
      const acc = dbs.get(db)!;
      const expires = acc.sums.get('expires') ?? 0n;
      const parts = acc.fields.map((name) => {
        if (name !== 'avg_ttl') return `${name}=${acc.sums.get(name)}`;
        // rounded to the nearest millisecond
        return `avg_ttl=${expires === 0n ? 0n : (acc.ttlWeighted * 2n + expires) / (expires * 2n)}`;
      });
      return `db${db}:${parts.join(',')}`;
    });
}
