// --addr: where Redis is. One address (`localhost`, `host:port`, `[::1]:port`, a bare IPv6 literal,
// `redis://[user:password@]host[:port][/db]`, `rediss://...` for TLS), or several seed nodes of a
// Redis Cluster separated by commas (`h1:7000,h2:7001`, `redis://:pw@h1:7000,h2:7001`), where the
// scheme, credentials and database written once apply to every seed.
import { isIP } from 'node:net';
import { ConfigError, Problem } from './errors.js';
import { toPort } from './parsers.js';
export const DEFAULT_REDIS_PORT = 6379;
/** What --addr accepts, as --help and the docs say it. */
export const ADDRESS_EXPECTS = 'host, host:port, [ipv6]:port, redis://[user:password@]host[:port][/db] or rediss://... for TLS, or several of them separated by commas';
/**
 * Parses one backing Redis address. Throws ConfigError with a one-line message (without a flag
 * name) when it cannot, and for a list of several addresses.
 */
export function parseAddress(text) {
    return asConfigError(() => {
        const seeds = parseSeedsOrThrow(text);
        if (seeds.length > 1)
            throw new Problem(`${quote(text)} names ${seeds.length} addresses, not one`);
        return seeds[0];
    });
}
/** Parses --addr: one address or several comma-separated seeds, in the order written. */
export function parseSeeds(text) {
    return asConfigError(() => parseSeedsOrThrow(text));
}
function asConfigError(parse) {
    try {
        return parse();
    }
    catch (e) {
        if (e instanceof Problem)
            throw new ConfigError(e.message);
        throw e;
    }
}
/** As parseSeeds, throwing Problem (the flag table's parsers do; the loader adds the flag's name). */
export function parseSeedsOrThrow(text) {
    const quoted = quote(text);
    if (text.trim() === '')
        throw new Problem('empty address (expected host, host:port or redis://host:port)');
    if (/\s/.test(text))
        throw new Problem(`${quoted} is not an address (contains white space)`);
    const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(text);
    if (text.includes(',') && text.includes('://', scheme ? scheme[0].length : 0)) {
        throw new Problem(`${quoted}: write the scheme once, before the first address`);
    }
    let seeds;
    if (scheme) {
        const name = scheme[1].toLowerCase();
        if (name !== 'redis' && name !== 'rediss') {
            throw new Problem(`${quoted}: unsupported scheme "${name}://" (use redis:// or rediss://)`);
        }
        seeds = splitUrl(text, scheme[0].length).map((one) => parseRedisUrl(one, name === 'rediss', quoted));
    }
    else {
        seeds = splitList(text, quoted).map((one) => parseHostPort(one, quoted));
    }
    const seen = new Set();
    for (const s of seeds) {
        const at = `${s.host.includes(':') ? `[${s.host}]` : s.host}:${s.port}`;
        if (seen.has(at))
            throw new Problem(`${quoted}: ${at} is named twice`);
        seen.add(at);
    }
    return seeds;
}
/** The address as it may appear in an error message: any password replaced by "***". */
function quote(text) {
    return JSON.stringify(text.replace(/([a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^:@/]*:)[^@]*@/g, '$1***@'));
}
function splitList(list, quoted) {
    const parts = list.split(',');
    if (parts.some((p) => p === ''))
        throw new Problem(`${quoted}: empty address in the list`);
    return parts;
}
/**
 * `redis://user:pw@h1:7000,h2:7001/2` as one URL per seed (`redis://user:pw@h1:7000/2`, ...).
 * Only the hosts, after the last "@" of the authority, are split: a comma in a password stays.
 * A URL without a comma there is returned as written.
 */
function splitUrl(text, schemeLength) {
    const rest = text.slice(schemeLength);
    const authorityEnd = rest.search(/[/?#]/);
    const authority = authorityEnd < 0 ? rest : rest.slice(0, authorityEnd);
    const tail = authorityEnd < 0 ? '' : rest.slice(authorityEnd);
    const at = authority.lastIndexOf('@');
    const hosts = authority.slice(at + 1);
    if (!hosts.includes(','))
        return [text];
    const prefix = text.slice(0, schemeLength) + authority.slice(0, at + 1);
    return splitList(hosts, quote(text)).map((h) => `${prefix}${h}${tail}`);
}
function parseHostPort(text, quoted) {
    let host;
    let portText = null;
    if (text.startsWith('[')) {
        const m = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
        if (!m)
            throw new Problem(`${quoted} is not an address (expected [ipv6]:port)`);
        host = m[1];
        portText = m[2] ?? null;
        if (isIP(host) !== 6)
            throw new Problem(`${quoted}: "${host}" is not an IPv6 address`);
    }
    else if ((text.match(/:/g) ?? []).length > 1) {
        // several colons and no brackets: a bare IPv6 literal, default port
        if (isIP(text) !== 6)
            throw new Problem(`${quoted} is not an address (write IPv6 with a port as [addr]:port)`);
        host = text;
    }
    else {
        const colon = text.indexOf(':');
        host = colon < 0 ? text : text.slice(0, colon);
        portText = colon < 0 ? null : text.slice(colon + 1);
    }
    checkHost(host, quoted);
    const port = portText === null ? DEFAULT_REDIS_PORT : portIn(portText, quoted);
    return makeAddress(host, port, false, null, null, 0);
}
function parseRedisUrl(text, tls, quoted) {
    let url;
    try {
        url = new URL(text);
    }
    catch {
        throw new Problem(`${quoted} is not a valid redis:// URL`);
    }
    if (url.search !== '' || url.hash !== '') {
        throw new Problem(`${quoted}: query strings and fragments are not supported`);
    }
    let host = url.hostname;
    if (host.startsWith('[') && host.endsWith(']'))
        host = host.slice(1, -1);
    if (host === '')
        throw new Problem(`${quoted}: no host`);
    checkHost(host, quoted);
    // URL drops a port equal to the scheme default; redis:// has none, so url.port is what was written
    const port = url.port === '' ? DEFAULT_REDIS_PORT : portIn(url.port, quoted);
    let db = 0;
    const path = url.pathname;
    if (path !== '' && path !== '/') {
        const m = /^\/(\d+)$/.exec(path);
        if (!m)
            throw new Problem(`${quoted}: "${path.slice(1)}" is not a database number`);
        db = Number(m[1]);
        if (!Number.isSafeInteger(db))
            throw new Problem(`${quoted}: "${m[1]}" is not a database number`);
    }
    const username = decodeUserInfo(url.username, 'user name', quoted);
    const password = decodeUserInfo(url.password, 'password', quoted);
    return makeAddress(host, port, tls, username, password, db);
}
function decodeUserInfo(raw, what, quoted) {
    if (raw === '')
        return null;
    try {
        return decodeURIComponent(raw);
    }
    catch {
        throw new Problem(`${quoted}: bad percent-encoding in the ${what}`);
    }
}
function checkHost(host, quoted) {
    if (host === '')
        throw new Problem(`${quoted}: no host`);
    if (/[\/@?#\[\],]/.test(host))
        throw new Problem(`${quoted}: "${host}" is not a host name`);
}
function portIn(portText, quoted) {
    const port = toPort(portText);
    if (port === null)
        throw new Problem(`${quoted}: "${portText}" is not a port number (1-65535)`);
    return port;
}
function makeAddress(host, port, tls, username, password, db) {
    const hostPart = host.includes(':') ? `[${host}]` : host;
    const userPart = username !== null ? `${username}@` : '';
    const display = `${tls ? 'rediss://' : ''}${userPart}${hostPart}:${port}${db !== 0 ? `/${db}` : ''}`;
    return { host, port, tls, username, password, db, display };
}
//# sourceMappingURL=address.js.map