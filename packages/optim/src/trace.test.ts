import * as tf from '@tensorflow/tfjs-core';
import { dispose, disposeState } from '@lets/tree';
import { trace } from './trace';
import { useCpu, vals } from './test-util';

beforeAll(useCpu);

describe('trace (PyTorch momentum)', () => {
  // Hand computation with μ = 0.5 and gradients 4, 2, 8:
  //   buf: 4, 0.5·4 + 2 = 4, 0.5·4 + 8 = 10            (heavy ball: updates = buf)
  //   nesterov: g + μ·buf = 4 + 2 = 6, 2 + 2 = 4, 8 + 5 = 13
  const gs = [4, 2, 8];
  it.each([
    [false, [4, 4, 10]],
    [true, [6, 4, 13]],
  ])('nesterov %s', (nesterov, want) => {
    const t = trace({ decay: 0.5, nesterov });
    const p = { w: tf.tensor1d([0, 0]) };
    let s = t.init(p);
    const before = tf.memory().numTensors;
    gs.forEach((g, i) => {
      const x = { w: tf.tensor1d([g, -g]) };
      const [u, s2] = t.update(x, s);
      expect(vals(u)).toEqual({ w: [want[i], -(want[i] as number)] });
      dispose(x);
      dispose(u);
      disposeState(s);
      s = s2;
    });
    expect(tf.memory().numTensors).toBe(before);
    disposeState(s);
    dispose(p);
  });

  it('names a leaf that has no buffer', () => {
    const t = trace({ decay: 0.9 });
    const x = { w: tf.scalar(1) };
    expect(() => t.update(x, { trace: {} })).toThrow(/trace: state has no buffer for 'w'/);
    dispose(x);
  });
});
