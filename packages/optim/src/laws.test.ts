import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { dispose, disposeState } from '@lets/tree';
import type { GradientTransformation } from './types';
import { pool } from './test-util-pool';
import { chain } from './chain';
import { identity } from './identity';
import { masked } from './masked';
import { multiSteps } from './multiSteps';
import { applyUpdates } from './applyUpdates';
import { useCpu } from './test-util';

beforeAll(useCpu);

// A problem: leaf shapes (paths l0, l1, … so the pool's masks and labels apply), initial params
// and a few steps of gradients, all float32 values.
const shapeArb = fc.constantFrom<number[]>([1], [2], [3], [2, 2]);
const f32 = fc.float({ min: -4, max: 4, noNaN: true, noDefaultInfinity: true });
const problemArb = fc
  .tuple(fc.array(shapeArb, { minLength: 1, maxLength: 3 }), fc.integer({ min: 1, max: 3 }))
  .chain(([shapes, steps]) => {
    const treeArb = fc.tuple(...shapes.map((s) => fc.array(f32, { minLength: size(s), maxLength: size(s) })));
    return fc.record({ shapes: fc.constant(shapes), params: treeArb, grads: fc.array(treeArb, { minLength: steps, maxLength: steps }) });
  });
type Problem = { shapes: number[][]; params: number[][]; grads: number[][][] };
const size = (s: number[]): number => s.reduce((a, b) => a * b, 1);
const names = Object.keys(pool());
const nameArb = fc.constantFrom(...names);

const tree = (p: Problem, leaves: number[][]) =>
  Object.fromEntries(leaves.map((v, i) => [`l${i}`, tf.tensor(v, p.shapes[i])]));

/** The updates `t` emits along the trajectory (params ← params + updates), as host arrays. */
const trajectory = (t: GradientTransformation<any>, p: Problem): number[][][] => {
  let params = tree(p, p.params);
  let state = t.init(params);
  const out: number[][][] = [];
  for (const g of p.grads) {
    const gt = tree(p, g);
    const [u, s] = t.update(gt, state, params);
    out.push(Object.values(u).map((x) => Array.from(x.dataSync())));
    const next = applyUpdates(params, u);
    [gt, u, params].forEach(dispose);
    disposeState(state);
    params = next;
    state = s;
  }
  dispose(params);
  disposeState(state);
  return out;
};

// Equal as numbers (so −0 equals 0: x + 0 turns −0 into 0, which no later step can tell apart except through a sign of zero).
const same = (a: number[][][], b: number[][][]): boolean =>
  a.length === b.length && a.every((s, i) => s.every((l, j) => l.every((x, k) => x === b[i]![j]![k] || (Number.isNaN(x) && Number.isNaN(b[i]![j]![k]!)))));

const runs = { numRuns: 40 };

describe('algebraic laws (fast-check, exact equality of the updates along a trajectory)', () => {
  it('chain(identity, t) ≡ t ≡ chain(t, identity)', () => {
    fc.assert(
      fc.property(nameArb, problemArb, (n, p) => {
        const t = () => pool()[n]!;
        const want = trajectory(t(), p);
        return same(trajectory(chain(identity(), t()), p), want) && same(trajectory(chain(t(), identity()), p), want);
      }),
      runs,
    );
  });

  it('chain is associative: chain(chain(a, b), c) ≡ chain(a, chain(b, c)) ≡ chain(a, b, c)', () => {
    fc.assert(
      fc.property(nameArb, nameArb, nameArb, problemArb, (a, b, c, p) => {
        const t = (n: string) => pool()[n]!;
        const left = trajectory(chain(chain(t(a), t(b)), t(c)), p);
        return same(left, trajectory(chain(t(a), chain(t(b), t(c))), p)) && same(left, trajectory(chain(t(a), t(b), t(c)), p));
      }),
      runs,
    );
  });

  it('masked with an all-false mask is the identity (predicate or boolean tree), keeping no state', () => {
    fc.assert(
      fc.property(nameArb, problemArb, (n, p) => {
        const want = trajectory(identity(), p);
        const allFalse = Object.fromEntries(p.shapes.map((_, i) => [`l${i}`, false]));
        const m1 = masked(pool()[n]!, () => false);
        const m2 = masked(pool()[n]!, allFalse);
        const params = tree(p, p.params);
        const noState = (s: unknown): boolean => JSON.stringify(s, (_k, v) => (v instanceof tf.Tensor ? 'TENSOR' : v)).indexOf('TENSOR') < 0;
        const s1 = m1.init(params);
        dispose(params);
        const ok = noState(s1) && same(trajectory(m1, p), want) && same(trajectory(m2, p), want);
        disposeState(s1);
        return ok;
      }),
      runs,
    );
  });

  it('multiSteps(t, 1) ≡ t', () => {
    fc.assert(
      fc.property(nameArb, problemArb, (n, p) => same(trajectory(multiSteps(pool()[n]!, 1), p), trajectory(pool()[n]!, p))),
      runs,
    );
  });

  it('the laws can fail: chain(t, t) is not t for scale(−0.5)', () => {
    const p: Problem = { shapes: [[2]], params: [[1, 2]], grads: [[[1, 1]]] };
    const t = () => pool().scale!;
    expect(same(trajectory(chain(t(), t()), p), trajectory(t(), p))).toBe(false);
  });
});
