// TLS on both sides: a TLS-only redis-server (rediss:// in --addr, --redis-ca, and a client
// certificate with --redis-cert/--redis-key when Redis demands one), and TLS towards the
// proxy's own clients (--tls-cert/--tls-key, and --tls-ca to require client certificates).
// Certificates are made with openssl in a temp dir; the clients are redis-cli --tls and
// ioredis. The cache must work over TLS (hits in /stats) and stay coherent with a direct
// write on Redis (over TLS too).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { Redis } from 'ioredis';
import { RawClient, getFreePort, pingLine, sleep, withTimeout, proxyStats, eventually, linkUp } from '../helpers/index.js';
import {
  closedAfterConnect,
  crashLines,
  makeCerts,
  spawnProxy,
  startTlsRedis,
  tlsPingLine,
  tlsRedisCli,
  type Certs,
  type Child,
  type TlsOpts,
  type TlsRedis,
} from './fault-helpers.js';

let certs: Certs;

before(async () => {
  certs = await makeCerts();
});
after(() => {
  if (certs) rmSync(certs.dir, { recursive: true, force: true });
});

interface TlsProxy extends Child {
  port: number;
  admin: number;
}

/** The proxy in front of a TLS Redis, serving its own clients over TLS. */
async function tlsProxy(redisPort: number, extra: string[], clientTls: TlsOpts): Promise<TlsProxy> {
  const port = await getFreePort();
  const admin = await getFreePort();
  const args = ['--addr', `rediss://127.0.0.1:${redisPort}`, '--port', String(port), '--admin-port', String(admin), '--log-level', 'info', ...extra];
  const c = await spawnProxy(args, async () => (await tlsPingLine(port, clientTls, 1000)) === '+PONG');
  return { ...c, port, admin };
}

function ioTls(port: number, o: TlsOpts): Redis {
  const c = new Redis({
    host: '127.0.0.1',
    port,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    tls: { ca: readFileSync(o.ca), cert: o.cert ? readFileSync(o.cert) : undefined, key: o.key ? readFileSync(o.key) : undefined },
  });
  c.on('error', () => {});
  return c;
}

/** SET through the proxy, GETs that hit the cache, then a direct TLS write on Redis is seen. */
async function cacheAndCoherence(redis: TlsRedis, proxy: TlsProxy, client: TlsOpts, tag: string): Promise<void> {
  const key = `tls:${tag}`;
  assert.equal(await tlsRedisCli(proxy.port, client, ['SET', key, 'one']), 'OK\n');
  assert.equal(await tlsRedisCli(proxy.port, client, ['GET', key]), 'one\n');

  const io = ioTls(proxy.port, client);
  try {
    const hits0 = (await proxyStats(proxy.admin)).cache.hits;
    await eventually(
      'GETs over TLS are served from the cache',
      async () => {
        assert.equal(await io.get(key), 'one');
        return (await proxyStats(proxy.admin)).cache.hits > hits0;
      },
      3000,
      10,
    );
    // a write made directly on Redis (over TLS) invalidates the cached entry
    assert.equal(await redis.cli('SET', key, 'two'), 'OK\n');
    const ms = await eventually('the direct write is seen through the proxy', async () => (await io.get(key)) === 'two', 2000, 2);
    assert.equal(await tlsRedisCli(proxy.port, client, ['GET', key]), 'two\n');
    console.log(`# ${tag}: cache hits over TLS; a direct write was seen after ${ms} ms`);
  } finally {
    io.disconnect();
  }
}

describe('TLS to Redis (--redis-ca) and to clients (--tls-cert/--tls-key)', () => {
  let redis: TlsRedis;
  let proxy: TlsProxy;
  const client: TlsOpts = { ca: '' };
  before(async () => {
    client.ca = certs.ca;
    redis = await startTlsRedis(certs, 'optional');
    proxy = await tlsProxy(redis.port, ['--redis-ca', certs.ca, '--tls-cert', certs.serverCert, '--tls-key', certs.serverKey], client);
    await linkUp(proxy.admin);
  });
  after(async () => {
    await proxy?.stop();
    await redis?.stop();
  });

  test('SET/GET, cache hits and invalidation over TLS with redis-cli --tls and ioredis', async () => {
    await cacheAndCoherence(redis, proxy, client, 'server-auth');
    assert.deepEqual(crashLines(proxy.output()), []);
  });

  test('a plain-text client on the TLS port gets no Redis service', async () => {
    const c = await RawClient.connect(proxy.port);
    c.write('PING\r\n');
    const got = await c.readBytes(1500, 300);
    assert.ok(!got.toString('latin1').includes('+PONG'), 'no +PONG over plain TCP');
    c.destroy();
  });
});

describe('Redis requiring client certificates (--tls-auth-clients yes)', () => {
  let redis: TlsRedis;
  before(async () => {
    redis = await startTlsRedis(certs, 'yes');
  });
  after(async () => {
    await redis?.stop();
  });

  test('the proxy shows --redis-cert/--redis-key and everything works', async () => {
    const proxy = await tlsProxy(
      redis.port,
      ['--redis-ca', certs.ca, '--redis-cert', certs.clientCert, '--redis-key', certs.clientKey, '--tls-cert', certs.serverCert, '--tls-key', certs.serverKey],
      { ca: certs.ca },
    );
    try {
      await linkUp(proxy.admin);
      await cacheAndCoherence(redis, proxy, { ca: certs.ca }, 'mutual-to-redis');
    } finally {
      await proxy.stop();
    }
  });

  /**
   * A proxy with plain clients in front of this Redis that will not have it: two clients
   * (one at once, one a little later) each send PING and are closed without a reply.
   */
  async function refusedClients(redisArgs: string[]): Promise<{ proxy: Child; closedAfterMs: number[] }> {
    const port = await getFreePort();
    // ready once it listens: a PING cannot be the probe, as no PING is answered
    const proxy = await spawnProxy(['--addr', `rediss://127.0.0.1:${redis.port}`, '--port', String(port), '--log-level', 'info', ...redisArgs], () => listening(port));
    const closedAfterMs: number[] = [];
    for (const wait of [0, 300]) {
      await sleep(wait);
      const { received, closedAfterMs: ms } = await closedAfterConnect(port, 'PING\r\n', 3000);
      assert.equal(received.toString('latin1'), '', 'closed without a reply: never +PONG, never an error made up by the proxy');
      closedAfterMs.push(ms);
    }
    return { proxy, closedAfterMs };
  }

  test('without a client certificate the proxy cannot reach Redis: its clients are accepted and closed at once, and the log says why', async () => {
    const { proxy, closedAfterMs } = await refusedClients(['--redis-ca', certs.ca]);
    try {
      console.log(`# no client certificate: clients closed after ${closedAfterMs.join(', ')} ms`);
      for (const ms of closedAfterMs) assert.ok(ms < 2000, `closed ${ms} ms after its PING: at once, not after a hang`);
      // Redis ends the handshake with TLS alert 116, "certificate required"
      console.log(`# log: ${await logLine(proxy, /certificate required/)}`);
      assert.deepEqual(crashLines(proxy.output()), []);
    } finally {
      await proxy.stop();
    }
  });

  test('a proxy that does not trust the Redis certificate (wrong --redis-ca) refuses to talk to it: its clients are closed, and the log says why', async () => {
    const { proxy, closedAfterMs } = await refusedClients(['--redis-ca', certs.otherCa]);
    try {
      console.log(`# untrusted Redis certificate: clients closed after ${closedAfterMs.join(', ')} ms`);
      for (const ms of closedAfterMs) assert.ok(ms < 2000, `closed ${ms} ms after its PING: at once, not after a hang`);
      // the chain ends in a CA the proxy was not given
      console.log(`# log: ${await logLine(proxy, /self[- ]signed certificate in certificate chain|unable to get local issuer certificate|unable to verify the first certificate/)}`);
      assert.deepEqual(crashLines(proxy.output()), []);
    } finally {
      await proxy.stop();
    }
  });
});

/** The first line of the proxy's log matching `why` (waits up to 3 s for it). */
async function logLine(proxy: Child, why: RegExp): Promise<string> {
  let line: string | undefined;
  await eventually(`the proxy's log says why it cannot reach Redis (${why})`, () => (line = proxy.output().split('\n').find((l) => why.test(l))) !== undefined, 3000);
  return line!;
}

/** true once something listens on `port` (the connection is closed at once). */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

describe('clients must show a certificate (--tls-ca)', () => {
  let redis: TlsRedis;
  let proxy: TlsProxy;
  const withCert: TlsOpts = { ca: '' };
  before(async () => {
    Object.assign(withCert, { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey });
    redis = await startTlsRedis(certs, 'optional');
    proxy = await tlsProxy(
      redis.port,
      ['--redis-ca', certs.ca, '--tls-cert', certs.serverCert, '--tls-key', certs.serverKey, '--tls-ca', certs.ca],
      withCert,
    );
    await linkUp(proxy.admin);
  });
  after(async () => {
    await proxy?.stop();
    await redis?.stop();
  });

  test('redis-cli --cert/--key and ioredis with a client certificate work, cache and invalidation included', async () => {
    await cacheAndCoherence(redis, proxy, withCert, 'mutual-to-clients');
  });

  test('a client without a certificate, or with one from another CA, is refused', async () => {
    const noCert = await tlsRedisCli(proxy.port, { ca: certs.ca }, ['PING'], 5000).then(
      (out) => out,
      (e: Error) => `refused: ${e.message}`,
    );
    assert.doesNotMatch(noCert, /PONG/, 'redis-cli without --cert/--key is not served');
    await assert.rejects(withTimeout(tlsPingLine(proxy.port, { ca: certs.ca }, 3000), 4000, 'no-cert ping'));
    await assert.rejects(
      withTimeout(tlsPingLine(proxy.port, { ca: certs.ca, cert: certs.otherClientCert, key: certs.otherClientKey }, 3000), 4000, 'other-CA ping'),
    );
    // and the proxy keeps serving those who have one
    assert.equal(await tlsPingLine(proxy.port, withCert), '+PONG');
  });
});
