import * as tf from '@tensorflow/tfjs-core';
import { initRuntime } from '@lets/runtime';
import { dispose, disposeState } from '@lets/tree';
import { scaleByAdam } from './scaleByAdam';

// Gradients need tfjs's gradient functions: @lets/runtime registers them.
beforeAll(async () => {
  await initRuntime({ backend: 'cpu' });
  (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
});

describe('scaleByAdam under a gradient tape', () => {
  it('stays differentiable (the composed ops are used): d/dg of the first step g/(|g| + eps) is eps/(|g| + eps)²', () => {
    const t = scaleByAdam({ eps: 1 });
    const p = { w: tf.zeros([2]) };
    const s = t.init(p);
    const dg = tf.grad((g: tf.Tensor) => tf.sum(t.update({ w: g }, s)[0].w as tf.Tensor))(tf.tensor1d([1, -3]));
    // 1/(1+1)² = 0.25, 1/(3+1)² = 0.0625; float32 gradients of a few ops: 6 digits
    const d = Array.from(dg.dataSync());
    expect(d[0]).toBeCloseTo(0.25, 6);
    expect(d[1]).toBeCloseTo(0.0625, 6);
    dg.dispose();
    dispose(p);
    disposeState(s);
  });
});
