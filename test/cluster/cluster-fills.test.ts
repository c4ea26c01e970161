// ClusterFills on its own, with stand-in lanes: a GET's token rests on its key's master only,
// a key-less (MGET) token on every master; a lane that answered a redirect loses its token.
// (End to end, with a real cluster: proxy-fill-gating.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BackendAddress } from '../../src/config/config.js';
import { ClusterFills, type FillMasters } from '../../src/cluster/cluster-fills.js';
import { keyHashSlot } from '../../src/cluster/key-slot.js';
import type { NodeLane } from '../../src/cluster/node-lane.js';

const A = { host: '127.0.0.1', port: 7000 } as BackendAddress;
const B = { host: '127.0.0.1', port: 7001 } as BackendAddress;

/** A lane whose connection is tracked for `gen` (-1: not yet), as far as ClusterFills asks. */
function lane(gen: number): NodeLane & { gen: number } {
  const l = {
    gen,
    lost: false,
    refusedReplay: false,
    items: { length: 0 },
    queue: () => undefined,
    inner: {
      answered: true,
      fillGeneration: () => l.gen,
      stillTracked: (g: number) => g === l.gen,
    },
  };
  return l as unknown as NodeLane & { gen: number };
}

function keyOn(addr: BackendAddress): string {
  for (let i = 0; ; i++) if ((keyHashSlot(Buffer.from(`k${i}`)) < 8192) === (addr === A)) return `k${i}`;
}

function setup(tracking: { A: boolean; B: boolean }) {
  const lanes = new Map([
    [A, lane(7)],
    [B, lane(9)],
  ]);
  const masters: FillMasters = {
    masterAddrs: () => [A, B],
    addrOfSlot: (slot) => (slot < 8192 ? A : B),
    trackingOf: (a) => ((a === A ? tracking.A : tracking.B) ? 'tracking' : null),
  };
  const laneFor = (a: BackendAddress) => lanes.get(a) as NodeLane;
  return { lanes, masters, laneFor };
}

test('a GET\'s token rests on its key\'s master: one master\'s link down does not stop the other\'s keys filling', () => {
  const { lanes, masters, laneFor } = setup({ A: true, B: false });
  const f = new ClusterFills(true);
  const t = f.generation(masters, laneFor, keyOn(A));
  assert.ok(t > 0, `a token: ${t}`);
  assert.equal(f.stillTracked(t), true);
  assert.ok(f.owner?.alive, 'an own client owns what it fills');
  assert.equal(f.generation(masters, laneFor, keyOn(B)), -1, 'B\'s link is down: its keys do not fill');
  assert.equal(f.generation(masters, laneFor), -1, 'an MGET needs every master');
  assert.equal(f.generation(masters, laneFor, keyOn(A)), t, 'the same token while nothing changed');
  // A's connection tracks for another generation: the token is gone, a new one is handed out
  const owner = f.owner;
  (lanes.get(A) as NodeLane & { gen: number }).gen = 8;
  assert.equal(f.stillTracked(t), false);
  const t2 = f.generation(masters, laneFor, keyOn(A));
  assert.ok(t2 > 0 && t2 !== t);
  assert.equal(owner?.alive, false, 'what was filled under the old generation dies');
  assert.ok(f.owner?.alive);
});

test('a lane that answered a redirect loses its token; a new one is handed out after', () => {
  const { lanes, masters, laneFor } = setup({ A: true, B: true });
  const f = new ClusterFills(false);
  const t = f.generation(masters, laneFor, keyOn(A));
  const tb = f.generation(masters, laneFor, keyOn(B));
  assert.ok(t > 0 && tb > 0 && t !== tb);
  f.redirected(lanes.get(A) as NodeLane);
  assert.equal(f.stillTracked(t), false, 'a fill in flight through A is not kept');
  assert.equal(f.stillTracked(tb), true, 'B\'s are');
  const t2 = f.generation(masters, laneFor, keyOn(A));
  assert.ok(t2 > 0 && t2 !== t);
  assert.equal(f.stillTracked(t), false, 'the old token stays dead');
  assert.equal(f.stillTracked(t2), true);
  assert.equal(f.owner, null, 'a shared client owns nothing');
});

test('an MGET\'s token rests on every master, and is never a GET\'s', () => {
  const { lanes, masters, laneFor } = setup({ A: true, B: true });
  const f = new ClusterFills(true);
  const all = f.generation(masters, laneFor);
  assert.ok(all < -2, `below -2: ${all}`);
  assert.equal(f.stillTracked(all), true);
  const one = f.generation(masters, laneFor, keyOn(B));
  assert.ok(one > 0);
  (lanes.get(B) as NodeLane & { gen: number }).gen = 10;
  assert.equal(f.stillTracked(all), false, 'one master\'s change ends it');
  assert.equal(f.stillTracked(one), false);
  f.untrack();
  assert.equal(f.stillTracked(f.generation(masters, laneFor, keyOn(A))), true);
});

test('a lane whose node refused the client\'s replayed AUTH fills nothing: it may be another user there', () => {
  const { lanes, masters, laneFor } = setup({ A: true, B: true });
  const f = new ClusterFills(true);
  (lanes.get(B) as NodeLane).refusedReplay = true;
  assert.ok(f.generation(masters, laneFor, keyOn(A)) > 0, "A's keys fill");
  assert.equal(f.generation(masters, laneFor, keyOn(B)), -1, "B's do not");
  assert.equal(f.generation(masters, laneFor), -1, 'nor an MGET over both');
});
