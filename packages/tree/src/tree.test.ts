import * as tf from '@tensorflow/tfjs-core';
import { pipe } from 'fp-ts/function';
import * as T from './tree';
import { useCpu } from './test-util';

beforeAll(useCpu);

const a = (): T.Tree => ({ w: tf.tensor2d([[1, -2], [3, 4]]), b: tf.tensor1d([0.5, -0.5]) });
const b = (): T.Tree => ({ w: tf.tensor2d([[2, 0], [-1, 1]]), b: tf.tensor1d([1, 3]) });
const vals = (t: T.Tree): Record<string, number[]> =>
  Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Array.from(v.dataSync())]));

describe('tree math', () => {
  it('add, sub, mul, div, scaleBy, addScaled match element-wise hand values', () => {
    const x = a();
    const y = b();
    expect(vals(T.add(x, y))).toEqual({ w: [3, -2, 2, 5], b: [1.5, 2.5] });
    expect(vals(T.sub(x, y))).toEqual({ w: [-1, -2, 4, 3], b: [-0.5, -3.5] });
    expect(vals(T.mul(x, y))).toEqual({ w: [2, -0, -3, 4], b: [0.5, -1.5] });
    expect(vals(T.div(y, x))).toEqual({ w: [2, -0, -1 / 3, 0.25].map(Math.fround), b: [2, -6] });
    expect(vals(T.scaleBy(x, -2))).toEqual({ w: [-2, 4, -6, -8], b: [-1, 1] });
    expect(vals(T.addScaled(x, 0.5, y))).toEqual({ w: [2, -2, 2.5, 4.5], b: [1, 1] });
  });

  it('keeps the canonical (insertion) order of paths', () => {
    expect(T.keys(T.add(a(), b()))).toEqual(['w', 'b']);
    expect(T.keys(pipe(a(), T.map((v) => tf.neg(v))))).toEqual(['w', 'b']);
  });

  it('vdot, sum and the norms equal hand-computed reductions', () => {
    const x = a();
    const y = b();
    // <x,y> = 2 + 0 - 3 + 4 + 0.5 - 1.5 = 2
    expect(T.vdot(x, y).dataSync()[0]).toBeCloseTo(2, 6);
    expect(T.sum(x).dataSync()[0]).toBeCloseTo(6, 6);
    // ‖x‖² = 1 + 4 + 9 + 16 + 0.25 + 0.25 = 30.5
    expect(T.sqNorm(x).dataSync()[0]).toBeCloseTo(30.5, 5);
    expect(T.norm(x).dataSync()[0]).toBeCloseTo(Math.sqrt(30.5), 5);
    expect(T.norm(x, 1).dataSync()[0]).toBeCloseTo(11, 5);
    expect(T.norm(x, Infinity).dataSync()[0]).toBe(4);
    expect(T.norm({}).dataSync()[0]).toBe(0);
    expect(() => T.norm(x, 3 as 2)).toThrow(/ord must be 1, 2 or Infinity/);
  });

  it('zipWith names the first differing path', () => {
    const x = a();
    expect(() => T.add(x, { w: x.w as tf.Tensor, c: x.b as tf.Tensor })).toThrow(
      /position 1: first has 'b', second has 'c'/,
    );
    expect(() => T.add(x, { w: x.w as tf.Tensor })).toThrow(/first has 'b', second has nothing/);
    expect(() => T.vdot({ b: x.b as tf.Tensor, w: x.w as tf.Tensor }, x)).toThrow(/position 0/);
  });

  it('zerosLike, onesLike, fullLike, clone keep shapes and dtypes', () => {
    const x = { i: tf.tensor1d([1, 2], 'int32'), f: tf.zeros([2, 3]) };
    expect(T.zerosLike(x).i?.dtype).toBe('int32');
    expect(Array.from((T.onesLike(x).f as tf.Tensor).dataSync())).toEqual([1, 1, 1, 1, 1, 1]);
    expect(Array.from((T.fullLike(x, 7).i as tf.Tensor).dataSync())).toEqual([7, 7]);
    const c = T.clone(x);
    expect(c.f).not.toBe(x.f);
    expect(T.allClose(c, x)).toBe(true);
    expect(T.size(x)).toBe(8);
  });

  it('allClose follows |a-b| <= atol + rtol|b| and rejects NaN, shape and key differences', () => {
    const x = { v: tf.tensor1d([1, 100]) };
    expect(T.allClose(x, { v: tf.tensor1d([1, 100.0009]) }, { rtol: 1e-5, atol: 0 })).toBe(true);
    expect(T.allClose(x, { v: tf.tensor1d([1, 100.01]) }, { rtol: 1e-5, atol: 0 })).toBe(false);
    expect(T.allClose(x, { v: tf.tensor1d([1, NaN]) })).toBe(false);
    expect(T.allClose(x, { v: tf.tensor2d([[1, 100]]) })).toBe(false);
    expect(T.allClose(x, { u: tf.tensor1d([1, 100]) })).toBe(false);
  });

  it('select, splitBy and merge split and rejoin by a predicate on path and tensor', () => {
    const t: T.Tree = { 'conv/kernel': tf.zeros([3, 3, 1, 2]), 'conv/bias': tf.zeros([2]), 'bn/gamma': tf.ones([2]) };
    const weights = T.select((_, x) => x.rank > 1)(t);
    expect(T.keys(weights)).toEqual(['conv/kernel']);
    const [bn, rest] = T.splitBy((p) => p.startsWith('bn/'))(t);
    expect(T.keys(bn)).toEqual(['bn/gamma']);
    expect(T.keys(rest)).toEqual(['conv/kernel', 'conv/bias']);
    expect(T.keys(T.merge(bn, rest, T.keys(t)))).toEqual(T.keys(t));
    expect(() => T.merge(bn, bn)).toThrow(/'bn\/gamma' is in both trees/);
  });

  it('isFinite detects NaN and Inf anywhere in the tree', () => {
    expect(T.isFinite(a()).dataSync()[0]).toBe(1);
    expect(T.isFinite({ ...a(), z: tf.tensor1d([0, Infinity]) }).dataSync()[0]).toBe(0);
    expect(T.isFinite({ z: tf.tensor1d([NaN]) }).dataSync()[0]).toBe(0);
  });

  it('leaks no tensors: each op returns only its result', () => {
    const x = a();
    const y = b();
    const before = tf.memory().numTensors;
    const outs = [T.add(x, y), T.addScaled(x, 3, y), T.scaleBy(x, tf.scalar(2))];
    const scalars = [T.vdot(x, y), T.norm(x), T.norm(x, 1), T.norm(x, Infinity), T.sqNorm(x), T.sum(x), T.isFinite(x)];
    // 3 trees of 2 leaves + 7 scalars + the scalar 2 given to scaleBy
    expect(tf.memory().numTensors - before).toBe(3 * 2 + 7 + 1);
    outs.forEach(T.dispose);
    scalars.forEach((s) => s.dispose());
    expect(tf.memory().numTensors - before).toBe(1);
  });
});
