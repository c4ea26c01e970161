import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { startAdminProxy, sleep, type ProxyProcess, type RedisServer, startRedis } from '../helpers/index.js';
import { client } from './cache-helpers.js';

// The model test of GET and MGET together (issue 18): random programs of pipelines from
// several proxy clients and a direct writer, which may write while a pipeline is in flight
// (so fills race with its writes). Each pipeline runs in order (the order rule:
// a read behind a write of its own client sees it). A read may return a key's current value,
// or an older one only while every later version is a direct write younger than WINDOW_MS
// (Redis's invalidation is on its way); a write through the proxy is seen by every proxy
// client at once. After the program, a quiet moment, and every client's GET and MGET equal Redis.

const WINDOW_MS = 1000;
const CLIENTS = 3;
const KEYS = 4;

interface Version {
  value: string | null;
  at: number;
  direct: boolean;
}

type Op = { op: 'get'; k: number } | { op: 'mget'; ks: number[] } | { op: 'set'; k: number } | { op: 'del'; k: number };
interface Step {
  /** 0..CLIENTS-1: a proxy client; CLIENTS: the direct writer (its reads are skipped) */
  who: number;
  ops: Op[];
  /** a direct SET of this key sent at the same time as a proxy client's pipeline (a fill races with it) */
  race: number | null;
}

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('get' as const), k: fc.nat(KEYS - 1) }),
  fc.record({ op: fc.constant('mget' as const), ks: fc.array(fc.nat(KEYS - 1), { minLength: 1, maxLength: 6 }) }),
  fc.record({ op: fc.constant('set' as const), k: fc.nat(KEYS - 1) }),
  fc.record({ op: fc.constant('del' as const), k: fc.nat(KEYS - 1) }),
);
const stepArb: fc.Arbitrary<Step> = fc.record({
  who: fc.nat(CLIENTS),
  ops: fc.array(opArb, { minLength: 1, maxLength: 4 }),
  race: fc.option(fc.nat(KEYS - 1), { freq: 3 }),
});

let redis: RedisServer;
let proxy: ProxyProcess;
let proxied: Redis[];
let direct: Redis;
let run = 0;

before(async () => {
  redis = await startRedis();
  ({ proxy } = await startAdminProxy(redis.port, { args: ['--ttl', '3600'] }));
  proxied = Array.from({ length: CLIENTS }, () => client(proxy.port));
  direct = client(redis.port);
  await Promise.all([...proxied.map((c) => c.ping()), direct.ping()]);
});

after(async () => {
  for (const c of proxied) c.disconnect();
  direct.disconnect();
  await proxy.stop();
  await redis.stop();
});

/** May a read sent at `t` return `got` for a key with these versions (oldest first)? */
function allowed(versions: Version[], got: string | null, t: number): boolean {
  for (let i = versions.length - 1; i >= 0; i--) {
    if (versions[i].value === got) return true;
    // an older version is allowed only behind a recent direct write
    if (!versions[i].direct || versions[i].at < t - WINDOW_MS) return false;
  }
  return false;
}

test('GET and MGET from several clients never read older than the model allows', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(stepArb, { minLength: 5, maxLength: 30 }), async (steps) => {
      const prefix = `m${run++}:`;
      const key = (k: number) => `${prefix}${k}`;
      const versions: Version[][] = Array.from({ length: KEYS }, () => [{ value: null, at: 0, direct: false }]);
      let n = 0;
      for (const step of steps) {
        const c = step.who === CLIENTS ? direct : proxied[step.who];
        const isDirect = step.who === CLIENTS;
        const pipe = c.pipeline();
        const values: Array<string | null> = [];
        for (const op of step.ops) {
          if (op.op === 'get') pipe.get(key(op.k));
          else if (op.op === 'mget') pipe.mget(...op.ks.map(key));
          else if (op.op === 'set') {
            const v = `${prefix}v${n++}`;
            values.push(v);
            pipe.set(key(op.k), v);
          } else pipe.del(key(op.k));
        }
        // (only a key the pipeline does not write, so the model knows the order of its versions)
        const race = step.race !== null && !isDirect && !step.ops.some((o) => (o.op === 'set' || o.op === 'del') && o.k === step.race) ? step.race : null;
        const t = Date.now();
        let res: Array<[Error | null, unknown]>;
        if (race === null) {
          res = ((await pipe.exec()) ?? []) as Array<[Error | null, unknown]>;
        } else {
          const v = `${prefix}v${n++}`;
          versions[race].push({ value: v, at: t, direct: true });
          res = ((await Promise.all([pipe.exec(), direct.set(key(race), v)]))[0] ?? []) as Array<[Error | null, unknown]>;
        }
        let vi = 0;
        for (let i = 0; i < step.ops.length; i++) {
          const op = step.ops[i];
          const [err, r] = res[i];
          assert.equal(err, null, `${op.op} failed: ${String(err)}`);
          if (op.op === 'set' || op.op === 'del') {
            // in order within the pipeline: later reads of it are checked against this version
            versions[op.k].push({ value: op.op === 'set' ? values[vi++] : null, at: t, direct: isDirect });
            continue;
          }
          if (isDirect) continue;
          const ks = op.op === 'get' ? [op.k] : op.ks;
          const got = op.op === 'get' ? [r as string | null] : (r as Array<string | null>);
          assert.equal(got.length, ks.length);
          for (let j = 0; j < ks.length; j++) {
            const vs = versions[ks[j]];
            assert.ok(
              allowed(vs, got[j], t),
              `client ${step.who} ${op.op} ${key(ks[j])} got ${got[j]}; versions ${JSON.stringify(vs.slice(-4))}; now ${t}`,
            );
          }
        }
      }
      // quiet: every invalidation is in; every client reads what Redis holds, by GET and by MGET
      await sleep(150);
      const all = Array.from({ length: KEYS }, (_, k) => key(k));
      const truth = await direct.mget(...all);
      for (const c of proxied) {
        assert.deepEqual(await c.mget(...all), truth);
        assert.deepEqual(await c.mget(...all.slice().reverse()), truth.slice().reverse());
        for (let k = 0; k < KEYS; k++) assert.equal(await c.get(all[k]), truth[k]);
      }
    }),
    { numRuns: 40 },
  );
});
