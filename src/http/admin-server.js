import http from 'node:http';
import { STATUS_PAGE_CSP, STATUS_PAGE_HTML } from './status-page.js';
const KEYS_PREFIX = '/v1/keys/';
export class AdminServer {
    sources;
    log;
    server;
    constructor(sources, log) {
        this.sources = sources;
        this.log = log;
        this.server = http.createServer((req, res) => {
            this.handle(req, res).catch((err) => {
                log.error({ err, url: req.url }, 'admin request failed');
                if (!res.headersSent)
                    res.writeHead(500, { 'content-type': 'text/plain' });
                res.end('internal error\n');
            });
        });
        this.server.on('error', (err) => log.error({ err }, 'admin listener error'));
    }
    async handle(req, res) {
        const rawPath = (req.url ?? '/').split('?')[0];
        const head = req.method === 'HEAD';
        if (req.method !== 'GET' && !head) {
            res.writeHead(405, { allow: 'GET, HEAD' }).end();
            return;
        }
        const send = (status, contentType, body) => {
            res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
            res.end(head ? undefined : body);
        };
        const { sources } = this;
        if (rawPath === '/') {
            res.setHeader('content-security-policy', STATUS_PAGE_CSP);
            res.setHeader('cache-control', 'no-cache');
            send(200, 'text/html; charset=utf-8', STATUS_PAGE_HTML);
        }
        else if (rawPath === '/healthz') {
            send(200, 'text/plain', 'ok\n');
        }
        else if (rawPath === '/readyz') {
            const why = sources.notReadyReason();
            send(why === null ? 200 : 503, 'text/plain', why === null ? 'ready\n' : `not ready: ${why}\n`);
        }
        else if (rawPath === '/stats') {
            send(200, 'application/json', JSON.stringify(sources.stats(), null, 2) + '\n');
        }
        else if (rawPath === '/metrics' && sources.metrics) {
            const m = await sources.metrics();
            send(200, m.contentType, m.body);
        }
        else if (rawPath.startsWith(KEYS_PREFIX) && sources.keyReader() !== null) {
            const r = await this.readKey(rawPath.slice(KEYS_PREFIX.length));
            sources.onKeyRead?.(r.status);
            res.writeHead(r.status, { 'content-type': r.contentType, 'content-length': r.body.length, 'cache-control': 'no-store' });
            res.end(head ? undefined : r.body);
        }
        else {
            send(404, 'text/plain', 'not found\n');
        }
    }
    async readKey(encoded) {
        const key = percentDecode(encoded);
        if (key === null)
            return { status: 400, body: Buffer.from('bad percent-encoding in the key\n'), contentType: 'text/plain' };
        if (key.length === 0)
            return { status: 400, body: Buffer.from('no key: GET /v1/keys/<key>\n'), contentType: 'text/plain' };
        return this.sources.keyReader().get(key);
    }
    listen(port, host) {
        return new Promise((resolve, reject) => {
            this.server.once('error', reject);
            this.server.listen(port, host, () => {
                this.server.off('error', reject);
                resolve(this.server.address().port);
            });
        });
    }
    close() {
        this.server.closeAllConnections();
        return new Promise((resolve) => this.server.close(() => resolve()));
    }
}
/**
 * The key's bytes: `%XX` is one byte (so any binary key can be named), every other
 * character its UTF-8 bytes. null for a malformed escape.
 */
export function percentDecode(s) {
    const out = [];
    let i = 0;
    while (i < s.length) {
        const pct = s.indexOf('%', i);
        const end = pct < 0 ? s.length : pct;
        if (end > i)
            out.push(Buffer.from(s.slice(i, end), 'utf8'));
        if (pct < 0)
            break;
        const hex = s.slice(pct + 1, pct + 3);
        if (!/^[0-9a-fA-F]{2}$/.test(hex))
            return null;
        out.push(Buffer.from([parseInt(hex, 16)]));
        i = pct + 3;
    }
    return Buffer.concat(out);
}
//# sourceMappingURL=admin-server.js.map