import * as tf from '@tensorflow/tfjs-core';
import { dispose, disposeState } from '@lets/tree';
import { namedChain } from './namedChain';
import { scale } from './scale';
import { trace } from './trace';
import { useCpu, vals } from './test-util';

beforeAll(useCpu);

describe('namedChain', () => {
  it('applies in key order and keys the state by name', () => {
    const u = { a: tf.tensor1d([1, 2]) };
    const t = namedChain({ double: scale(2), momentum: trace({ decay: 0.5 }), negate: scale(-1) });
    const s0 = t.init(u);
    expect(Object.keys(s0)).toEqual(['double', 'momentum', 'negate']);
    const [u1, s1] = t.update(u, s0);
    const [u2, s2] = t.update(u, s1);
    // buf: 2u, then 0.5·2u + 2u = 3u; out −buf
    expect(vals(u1)).toEqual({ a: [-2, -4] });
    expect(vals(u2)).toEqual({ a: [-3, -6] });
    expect(vals(s2.momentum.trace)).toEqual({ a: [3, 6] });
    [u, u1, u2].forEach(dispose);
    [s0, s1, s2].forEach(disposeState);
  });

  it('refuses index-like names and a state without a name', () => {
    expect(() => namedChain({ '0': scale(1) })).toThrow(/name '0' looks like an array index/);
    const u = { a: tf.scalar(1) };
    expect(() => namedChain({ x: scale(1), y: scale(2) }).update(u, { x: {} } as never)).toThrow(/state has no entry 'y' \(have x\)/);
    dispose(u);
  });
});
