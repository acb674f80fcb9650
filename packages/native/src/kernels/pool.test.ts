import * as tf from '@tensorflow/tfjs-core';
import { maxRelErr, on, rand, setupNative } from '../test-util';

// float32 tolerance: window sums of ≤ 9 values in [-1,1) in another order: ≲ 9·2^-24 ≈ 6e-7;
// max pooling and its gradient are exact. 1e-6 leaves margin; a wrong window gives O(0.1).
const TOL = 1e-6;

let skip: string | undefined;
beforeAll(() => {
  skip = setupNative();
});

type Pad = 'same' | 'valid';
const cases: Array<[string, number[], number, number, Pad]> = [
  ['2x2 stride 2 valid', [2, 8, 8, 3], 2, 2, 'valid'],
  ['3x3 stride 1 same', [2, 6, 6, 2], 3, 1, 'same'],
  ['3x3 stride 2 same, odd input', [1, 7, 7, 3], 3, 2, 'same'],
  ['3x3 stride 2 valid', [1, 9, 8, 2], 3, 2, 'valid'],
];

describe('pooling and its gradients on native vs the stock cpu kernels', () => {
  test.each(cases)('%s', async (_n, xShape, size, stride, pad) => {
    if (skip) return;
    const f = () => {
      const x = rand(xShape, 31) as tf.Tensor4D;
      const avg = tf.avgPool(x, size, stride, pad);
      const max = tf.maxPool(x, size, stride, pad);
      const dy = rand(avg.shape, 32);
      const attrs = { filterSize: size, strides: stride, pad };
      const dAvg = tf.engine().runKernel('AvgPoolGrad', { dy, input: x }, attrs) as tf.Tensor;
      const dMax = tf.engine().runKernel('MaxPoolGrad', { dy, input: x, output: max }, attrs) as tf.Tensor;
      return [avg, max, dAvg, dMax];
    };
    const n = await on('native', f);
    const c = await on('cpu', f);
    for (const i of [0, 1, 3]) expect(maxRelErr(n[i]!, c[i]!)).toBeLessThan(TOL);
    // AvgPoolGrad: equal to tfjs's where no window is cut by padding ('valid'); everywhere the
    // exact adjoint of AvgPool: ⟨avgPool(x), dy⟩ = ⟨x, avgPoolGrad(dy)⟩, summed in float64.
    if (pad === 'valid') expect(maxRelErr(n[2]!, c[2]!)).toBeLessThan(TOL);
    const [x, dy] = await on('native', () => [rand(xShape, 31), rand(n[0]!.length === 0 ? [0] : [n[0]!.length], 32)]);
    let lhs = 0, rhs = 0, scale = 0;
    n[0]!.forEach((v, i) => { lhs += v * dy![i]!; scale += Math.abs(v * dy![i]!); });
    n[2]!.forEach((v, i) => { rhs += x![i]! * v; });
    expect(Math.abs(lhs - rhs)).toBeLessThan(1e-6 * scale);
  });

  test('hand-computed 2x2 pools', async () => {
    if (skip) return;
    const x = () => tf.tensor4d([1, 5, 2, 0, 3, 4, 8, 6, 7, 1, 1, 2, 0, 9, 3, 3], [1, 4, 4, 1]);
    const [avg, max] = await on('native', () => [tf.avgPool(x(), 2, 2, 'valid'), tf.maxPool(x(), 2, 2, 'valid')]);
    expect(Array.from(avg!)).toEqual([13 / 4, 4, 17 / 4, 9 / 4]);
    expect(Array.from(max!)).toEqual([5, 8, 9, 3]);
  });
});

describe('batch norm on native vs the stock cpu kernel', () => {
  test('per-channel parameters, with and without offset and scale', async () => {
    if (skip) return;
    const f = () => {
      const x = rand([2, 3, 3, 4], 41);
      const mean = rand([4], 42), variance = tf.add(tf.abs(rand([4], 43)), 0.5);
      return [
        tf.batchNorm(x, mean, variance, rand([4], 44), rand([4], 45), 1e-3),
        tf.batchNorm(x, mean, variance),
      ];
    };
    const n = await on('native', f);
    const c = await on('cpu', f);
    for (let i = 0; i < 2; i++) expect(maxRelErr(n[i]!, c[i]!)).toBeLessThan(1e-6);
  });
});
