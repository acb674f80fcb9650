/**
 * `gradientScale`: a transformation that declares it claims U(g + w) − U(g) = c·w for every w
 * (affine in g with Jacobian c·I). Checked here in float64 on the host against the transform's
 * own updates: U at two gradients, at a state a few updates in (non-zero momentum buffers, a
 * schedule past its first value), with params for weight decay. And the other direction: the
 * transforms that are not affine in g (Adam, clipping, a masked non-unit scale) do not declare it,
 * and a chain declares it only when all its members do.
 */
import * as tf from '@tensorflow/tfjs-core';
import { dispose, disposeState, type Params } from '@lets/tree';
import type { GradientTransformation } from './types';
import { addDecayedWeights } from './addDecayedWeights';
import { adam, sgd } from './alias';
import { chain } from './chain';
import { clipByGlobalNorm } from './clip';
import { identity } from './identity';
import { namedChain } from './namedChain';
import { scale, scaleByLearningRate, scaleBySchedule } from './scale';
import { scaleByAdam } from './scaleByAdam';
import { trace } from './trace';
import { masked } from './masked';
import { rng, useCpu, vals } from './test-util';

beforeAll(useCpu);

const shapes = { a: [3, 2], b: [4] } as const;
const tree = (next: () => number, s = 1): Params =>
  Object.fromEntries(Object.entries(shapes).map(([k, sh]) => [k, tf.tensor(Array.from({ length: sh.reduce((x, y) => x * y, 1) }, () => s * (2 * next() - 1)), [...sh])]));

/** The transform's state after `k` updates from the given gradients (the first k draws). */
const advanced = <S>(t: GradientTransformation<S>, params: Params, next: () => number, k: number): S => {
  let s = t.init(params);
  for (let i = 0; i < k; i++) {
    const g = tree(next);
    const [u, s2] = t.update(g, s, params);
    dispose(g);
    dispose(u);
    disposeState(s);
    s = s2;
  }
  return s;
};

const cosineLr = (count: number): number => 0.1 * 0.5 * (1 + Math.cos((Math.PI * count) / 50));

const affine: [string, () => GradientTransformation<any>, (count: number) => number][] = [
  ['identity', () => identity(), () => 1],
  ['scale(-0.3)', () => scale(-0.3), () => -0.3],
  ['scaleBySchedule(cosine)', () => scaleBySchedule(cosineLr), cosineLr],
  ['scaleByLearningRate(0.05)', () => scaleByLearningRate(0.05), () => -0.05],
  ['scaleByLearningRate(cosine, flipSign false)', () => scaleByLearningRate(cosineLr, { flipSign: false }), cosineLr],
  ['trace(0.9)', () => trace({ decay: 0.9 }), () => 1],
  ['trace(0.9, nesterov)', () => trace({ decay: 0.9, nesterov: true }), () => 1.9],
  ['addDecayedWeights(5e-4)', () => addDecayedWeights(5e-4), () => 1],
  ['sgd(cosine, momentum 0.9, weight decay 5e-4)', () => sgd(cosineLr, { momentum: 0.9, weightDecay: 5e-4 }), (c) => -cosineLr(c)],
  ['sgd(0.1, nesterov 0.5)', () => sgd(0.1, { momentum: 0.5, nesterov: true }), () => -0.15],
  ['namedChain(wd, momentum, lr)', () => namedChain({ wd: addDecayedWeights(1e-3), mom: trace({ decay: 0.8 }), lr: scaleByLearningRate(cosineLr) }), (c) => -cosineLr(c)],
];

describe('gradientScale', () => {
  it.each(affine)('%s: U(g + w) − U(g) = c·w at a state 7 updates in, and c is the hand value', (_name, make, want) => {
    const t = make();
    expect(t.gradientScale).toBeDefined();
    const next = rng(11);
    const params = tree(next, 2);
    const state = advanced(t, params, next, 7);
    const before = tf.memory().numTensors;
    const g = tree(next);
    const w = tree(next, 3);
    const gw = Object.fromEntries(Object.keys(g).map((k) => [k, tf.add(g[k]!, w[k]!)]));
    const [u0, s0] = t.update(g, state, params);
    const [u1, s1] = t.update(gw, state, params);
    const c = t.gradientScale!(state, params);
    // The count the update used is 7 (schedules) — the hand value at that count.
    expect(c).toBeCloseTo(want(7), 12);
    const [h0, h1, hw] = [vals(u0), vals(u1), vals(w)];
    for (const k of Object.keys(hw)) {
      hw[k]!.forEach((wi, i) => {
        const diff = h1[k]![i]! - h0[k]![i]!;
        // float32 updates: the difference carries rounding of |U| ≈ |c|·(|g| + |w|) + the rest.
        expect(Math.abs(diff - c * wi)).toBeLessThan(1e-5 * (1 + Math.abs(h1[k]![i]!) + Math.abs(h0[k]![i]!)));
      });
    }
    [g, w, gw, u0, u1].forEach(dispose);
    disposeState(s0);
    disposeState(s1);
    expect(tf.memory().numTensors).toBe(before);
    disposeState(state);
    dispose(params);
  });

  it('reads the state it is given: the schedule at its count, not a later one', () => {
    const t = scaleByLearningRate(cosineLr);
    expect(t.gradientScale!({ count: 0 })).toBe(-0.1);
    expect(t.gradientScale!({ count: 25 })).toBeCloseTo(-0.05, 15);
  });

  it.each([
    ['scaleByAdam', () => scaleByAdam()],
    ['adam', () => adam(1e-3)],
    ['clipByGlobalNorm', () => clipByGlobalNorm(1)],
    ['masked(scale(2))', () => masked(scale(2), (k: string) => k === 'a')],
    ['chain(trace, scaleByAdam)', () => chain(trace({ decay: 0.9 }), scaleByAdam())],
    ['addDecayedWeights with a mask', () => addDecayedWeights(1e-3, { mask: (k: string) => k === 'a' })],
  ] as [string, () => GradientTransformation<any>][])('%s does not declare it (not affine in g, or not c·I)', (_name, make) => {
    expect(make().gradientScale).toBeUndefined();
  });

  it('chain(identity(), t) and chain(t, identity()) keep t\'s scale; an empty chain is 1', () => {
    const t = scaleByLearningRate(0.2);
    expect(chain(identity(), t).gradientScale!([{}, { count: 3 }])).toBe(-0.2);
    expect(chain(t, identity()).gradientScale!([{ count: 3 }, {}])).toBe(-0.2);
    expect(chain().gradientScale!([] as never)).toBe(1);
  });
});
