// WebGPU through the `webgpu` package. On a machine without a GPU this uses the software
// path (Dawn's OpenGL ES on Mesa llvmpipe); where neither the packages nor an adapter can
// be had, the test prints why and checks nothing else.
import * as tf from '@tensorflow/tfjs-core';
import { describeRuntime, initRuntime } from './backend';
import { Rng } from './rng';
import { softmaxCrossEntropy } from './losses';

async function threeSteps(): Promise<number[]> {
  const r = new Rng(1);
  const w1 = tf.variable(r.normal([20, 16], 0, 0.3));
  const w2 = tf.variable(r.normal([16, 4], 0, 0.3));
  const k = tf.variable(r.normal([3, 3, 1, 2], 0, 0.3));
  const x = r.normal([8, 20]);
  const img = r.normal([8, 4, 5, 1]) as tf.Tensor4D;
  const y = tf.tidy(() => tf.cast(tf.oneHot(r.randint([8], 4), 4), 'float32'));
  const out: number[] = [];
  for (let i = 0; i < 3; i++) {
    const l = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => {
        const c = tf.reshape(tf.relu(tf.conv2d(img, k as tf.Tensor4D, 1, 'same')), [8, 40]);
        const h = tf.tanh(tf.add(tf.matMul(x, w1), tf.slice(c, [0, 0], [8, 16])));
        return softmaxCrossEntropy(tf.matMul(h, w2), y);
      });
      for (const v of [w1, w2, k]) v.assign(tf.sub(v, tf.mul(grads[v.name]!, 0.5)));
      return value;
    });
    out.push((await l.data())[0]!);
    l.dispose();
  }
  tf.dispose([w1, w2, k, x, img, y]);
  return out;
}

describe('webgpu backend', () => {
  it('trains a small net to the same losses as cpu (or is skipped with a reason)', async () => {
    await initRuntime({ backend: 'cpu' });
    const cpu = await threeSteps();
    try {
      await initRuntime({ backend: 'webgpu', webgpu: { software: true } });
    } catch (e) {
      // eslint-disable-next-line no-console
      console.log(`webgpu test skipped: ${(e as Error).message}`);
      await initRuntime({ backend: 'cpu' });
      return;
    }
    const info = describeRuntime();
    expect(info.backend).toBe('webgpu');
    expect(typeof info.gpuAdapter).toBe('string');
    const gpu = await threeSteps();
    await initRuntime({ backend: 'cpu' });
    // float32 on a different device and summation order: agree to 1e-4 relative
    for (let i = 0; i < 3; i++) expect(Math.abs(gpu[i]! - cpu[i]!)).toBeLessThan(1e-4 * Math.abs(cpu[i]!));
    expect(cpu[2]).toBeLessThan(cpu[0]!);
  });
});
