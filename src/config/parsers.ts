// Value types: how the text of one setting (from a flag, a variable or the file) becomes a value.
// Each type says in one phrase what it expects; that phrase is the error ("x" is not <expects>)
// and the "Value" that --help and docs/configuration.md show, so the two cannot drift apart.

import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Coherence, LogFormat, LogLevel, OutputLimitConfig } from './config.js';
import { Problem } from './errors.js';

export interface ValueType<T> {
  /** what a good value looks like, completing "is not ...": "a port number (1-65535)" */
  readonly expects: string;
  /** the value, or throws Problem with a one-line message (without the flag's name) */
  parse(text: string): T;
}

/** Longest ttl accepted: ttl * 1000 must fit a Node timer (2^31 - 1 ms, about 24.8 days). */
export const MAX_TTL_SECONDS = 2_147_483;

export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
export const COHERENCE_MODES: readonly Coherence[] = ['tracking', 'ttl'];
export const LOG_FORMATS: readonly LogFormat[] = ['auto', 'json', 'text'];

function valueType<T>(expects: string, parse: (text: string, notIt: () => Problem) => T): ValueType<T> {
  return { expects, parse: (text) => parse(text, () => new Problem(`${JSON.stringify(text)} is not ${expects}`)) };
}

/** 1-65535 written as plain digits, else null. */
export function toPort(text: string): number | null {
  if (!/^\d{1,5}$/.test(text)) return null;
  const n = Number(text);
  return n >= 1 && n <= 65535 ? n : null;
}

export const port = valueType('a port number (1-65535)', (text, notIt) => {
  const n = toPort(text);
  if (n === null) throw notIt();
  return n;
});

export const portOrOff = valueType<number | null>('a port number (1-65535) or "off"', (text, notIt) => {
  if (text.toLowerCase() === 'off') return null;
  const n = toPort(text);
  if (n === null) throw notIt();
  return n;
});

export const bindAddress = valueType('an address to listen on', (text, notIt) => {
  if (text === '' || /\s/.test(text)) throw notIt();
  return text;
});

/** host:port that clients are told to connect to; an IPv6 host in brackets, as in a URL */
export const announceAddress = valueType<{ host: string; port: number } | null>('host:port (an IPv6 address in brackets: [2001:db8::1]:6379), or empty', (text, notIt) => {
  if (text === '') return null;
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:\[\]]+)):(\d{1,5})$/.exec(text);
  const port = m ? toPort(m[3]) : null;
  if (!m || port === null) throw notIt();
  return { host: m[1] ?? m[2], port };
});

const DECIMAL = /^(\d+(\.\d*)?|\.\d+)$/;

export const ttlSeconds = valueType('a number of seconds > 0', (text, notIt) => {
  const n = DECIMAL.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(n) || n <= 0) throw notIt();
  if (n > MAX_TTL_SECONDS) {
    throw new Problem(`${JSON.stringify(text)} is too long (at most ${MAX_TTL_SECONDS} seconds, about 24 days)`);
  }
  return n;
});

export const seconds = valueType('a number of seconds >= 0', (text, notIt) => {
  const n = DECIMAL.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(n) || n < 0 || n > MAX_TTL_SECONDS) throw notIt();
  return n;
});

function wholeNumberType(expects: string, least: number): ValueType<number> {
  return valueType(expects, (text, notIt) => {
    const n = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(n) || n < least) throw notIt();
    return n;
  });
}

export const wholeNumber = wholeNumberType('a whole number >= 0', 0);
export const count = wholeNumberType('a whole number >= 1', 1);
export const keyCount = wholeNumberType('a whole number of keys >= 0 (0 turns the cache off)', 0);

function oneOf<T extends string>(what: string, choices: readonly T[], listed: string): ValueType<T> {
  return valueType(`${what} (${listed})`, (text, notIt) => {
    const v = text.toLowerCase();
    if (!(choices as readonly string[]).includes(v)) throw notIt();
    return v as T;
  });
}

export const coherence = oneOf('a coherence mode', COHERENCE_MODES, COHERENCE_MODES.join(' or '));
export const logLevel = oneOf('a log level', LOG_LEVELS, LOG_LEVELS.join(', '));
export const logFormat = oneOf('a log format', LOG_FORMATS, LOG_FORMATS.join(', '));

export const boolean = valueType('a boolean (1/0, true/false, yes/no)', (text, notIt) => {
  const v = text.trim().toLowerCase();
  if (v === '1' || v === 'true' || v === 'yes') return true;
  if (v === '0' || v === 'false' || v === 'no') return false;
  throw notIt();
});

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1000, kb: 1024, m: 1000 ** 2, mb: 1024 ** 2, g: 1000 ** 3, gb: 1024 ** 3 };

/** "64mb", "1gb", "512k", "1000" (bytes), as Redis writes memory sizes. */
export const bytes = valueType('a size (e.g. 0, 4096, 64mb, 1gb)', (text, notIt) => {
  const m = /^(\d+)\s*([a-z]*)$/i.exec(text.trim());
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw notIt();
  const n = Number(m[1]) * unit;
  if (!Number.isSafeInteger(n)) throw new Problem(`${JSON.stringify(text)} is too large`);
  return n;
});

const MB = 1024 * 1024;

/** A size Redis itself would accept for client-query-buffer-limit / proto-max-bulk-len (>= 1mb). */
export const requestLimit: ValueType<number> = {
  expects: 'a size of at least 1mb (e.g. 64mb, 1gb)',
  parse(text) {
    const n = bytes.parse(text);
    if (n < MB) throw new Problem(`${JSON.stringify(text)} is below 1mb, the least Redis allows (every request would be refused)`);
    return n;
  },
};

/** "<hard> <soft> <seconds>", as in Redis's client-output-buffer-limit. */
export const outputLimit = valueType<OutputLimitConfig>('"<hard> <soft> <seconds>" (e.g. "32mb 8mb 60")', (text, notIt) => {
  const parts = text.trim().split(/\s+/);
  if (parts.length !== 3) throw notIt();
  return { hardBytes: bytes.parse(parts[0]!), softBytes: bytes.parse(parts[1]!), softSeconds: seconds.parse(parts[2]!) };
});

/** A file that must exist; "" for none. */
export const existingFile: ValueType<string | null> = {
  expects: 'the name of an existing file',
  parse(text) {
    if (text === '') return null;
    if (!existsSync(text)) throw new Problem(`${JSON.stringify(text)}: no such file`);
    return text;
  },
};

/** The --config file, made absolute (reading it reports its own problems); "" for none. */
export const configPath: ValueType<string | null> = {
  expects: 'a file name',
  parse: (text) => (text === '' ? null : path.resolve(text)),
};

/** Port a sentinel listens on when --sentinel names none. */
export const DEFAULT_SENTINEL_PORT = 26379;

/** --sentinel: host[:port] items separated by commas ([ipv6]:port for IPv6); "" for none. */
export const sentinelList: ValueType<Array<{ host: string; port: number }>> = valueType(
  `host[:port] of each sentinel, separated by commas (port ${DEFAULT_SENTINEL_PORT} when not given)`,
  (text, notIt) => {
    if (text === '') return [];
    const out: Array<{ host: string; port: number }> = [];
    for (const item of text.split(',')) {
      const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:[\]]+))(?::(\d+))?$/.exec(item.trim());
      if (!m) throw notIt();
      const port = m[3] === undefined ? DEFAULT_SENTINEL_PORT : toPort(m[3]);
      if (port === null) throw notIt();
      const host = m[1] ?? m[2]!;
      if (out.some((o) => o.host === host && o.port === port)) throw new Problem(`${JSON.stringify(text)}: ${item.trim()} is named twice`);
      out.push({ host, port });
    }
    return out;
  },
);

/** Any text but white space only; "" for none (null). */
export const optionalText: ValueType<string | null> = {
  expects: 'a name (no white space)',
  parse(text) {
    if (text === '') return null;
    if (/\s/.test(text)) throw new Problem(`${JSON.stringify(text)} is not a name (contains white space)`);
    return text;
  },
};

/** A password: any text; "" for none (null). */
export const secret: ValueType<string | null> = {
  expects: 'a password',
  parse: (text) => (text === '' ? null : text),
};
