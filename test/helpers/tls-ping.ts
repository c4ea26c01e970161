import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { withTimeout } from './util.js';

// A PING over TLS, for servers (Redis, sentinels, the proxy) that listen on TLS only and so
// cannot be probed with a plain PING.

export interface TlsOpts {
  ca: string;
  cert?: string;
  key?: string;
}

/** An inline PING over TLS; resolves with the first reply line. */
export function tlsPingLine(port: number, o: TlsOpts, ms = 2000): Promise<string> {
  return withTimeout(
    new Promise<string>((resolve, reject) => {
      const s = tls.connect({
        host: '127.0.0.1',
        port,
        ca: readFileSync(o.ca),
        cert: o.cert ? readFileSync(o.cert) : undefined,
        key: o.key ? readFileSync(o.key) : undefined,
      });
      let data = '';
      s.on('error', reject);
      s.on('secureConnect', () => s.write('PING\r\n'));
      s.on('data', (d: Buffer) => {
        data += d.toString('latin1');
        const i = data.indexOf('\r\n');
        if (i >= 0) {
          s.destroy();
          resolve(data.slice(0, i));
        }
      });
      s.on('close', () => reject(new Error(`closed before a reply (got ${JSON.stringify(data)})`)));
    }),
    ms,
    `TLS PING to ${port}`,
  );
}
