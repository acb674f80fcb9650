import * as tf from '@tensorflow/tfjs-core';
import { disposeState, dispose } from '@lets/tree';
import { chain } from './chain';
import { identity } from './identity';
import { scale } from './scale';
import { trace } from './trace';
import { useCpu, vals } from './test-util';

beforeAll(useCpu);

describe('identity and chain', () => {
  it('identity returns new tensors with the same values', () => {
    const u = { a: tf.tensor1d([1, -2]), b: tf.scalar(3) };
    const t = identity();
    const [out, s] = t.update(u, t.init(u));
    expect(vals(out)).toEqual({ a: [1, -2], b: [3] });
    expect(out.a).not.toBe(u.a);
    expect(s).toEqual({});
    dispose(out);
    expect(u.a.isDisposed).toBe(false);
    dispose(u);
  });

  it('chain applies left to right: scale(2) then trace then scale(-1)', () => {
    const u = { a: tf.tensor1d([1, 2]) };
    const t = chain(scale(2), trace({ decay: 0.5 }), scale(-1));
    const s0 = t.init(u);
    expect(s0.length).toBe(3);
    const [u1, s1] = t.update(u, s0);
    // buf = 2u; out = −2u
    expect(vals(u1)).toEqual({ a: [-2, -4] });
    const [u2, s2] = t.update(u, s1);
    // buf = 0.5·2u + 2u = 3u; out = −3u
    expect(vals(u2)).toEqual({ a: [-3, -6] });
    expect(vals(s2[1].trace)).toEqual({ a: [3, 6] });
    // inputs untouched, old state still alive (the caller owns it)
    expect(vals(u)).toEqual({ a: [1, 2] });
    expect(vals(s1[1].trace)).toEqual({ a: [2, 4] });
    [u, u1, u2].forEach(dispose);
    [s0, s1, s2].forEach(disposeState);
  });

  it('disposes its intermediate updates and nothing else', () => {
    const u = { a: tf.tensor1d([1, 2]), b: tf.zeros([3]) };
    const t = chain(scale(2), scale(3), identity(), scale(0.5));
    const s = t.init(u);
    const before = tf.memory().numTensors;
    const [out] = t.update(u, s);
    expect(tf.memory().numTensors).toBe(before + 2);
    expect(vals(out).a).toEqual([3, 6]);
    dispose(out);
    dispose(u);
  });

  it('chain() of nothing is the identity, and bad arguments and states are named', () => {
    const u = { a: tf.tensor1d([1]) };
    const t = chain();
    const [out] = t.update(u, t.init(u));
    expect(out.a).not.toBe(u.a);
    expect(vals(out)).toEqual({ a: [1] });
    expect(() => chain(scale(1), {} as never)).toThrow(/chain: argument 1 is not a GradientTransformation/);
    expect(() => chain(scale(1)).update(u, {} as never)).toThrow(/chain: state must be an array of 1 states, got object/);
    dispose(out);
    dispose(u);
  });
});

describe('chain tolerates a transform that passes leaves through without cloning', () => {
  it('does not dispose a tensor that the next transform returned as is', () => {
    const passThrough = { init: () => ({}), update: (u: Record<string, tf.Tensor>) => [u, {}] as const };
    const u = { a: tf.tensor1d([1, 2]) };
    const t = chain(scale(2), passThrough, passThrough);
    const [out] = t.update(u, t.init(u));
    expect(vals(out)).toEqual({ a: [2, 4] });
    dispose(out);
    dispose(u);
  });
});
