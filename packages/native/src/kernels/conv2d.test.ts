import * as tf from '@tensorflow/tfjs-core';
import { maxRelErr, on, rand, setupNative } from '../test-util';
import { setNativeThreads } from '../backend';
import { loadAddon } from '../addon';

// float32 tolerance: the native kernels sum the same products as the cpu kernels in another
// order (im2col + blocked sgemm with FMA vs nested loops). With K = fh·fw·Ci ≤ 36 products of
// values in [-1,1) per output and sums over ≤ 2·8·8 positions for the filter gradient, the
// rounding difference is ≲ 128·2^-24·Σ|terms| ≈ 1e-5 relative to (1 + |y|); 2e-5 leaves margin,
// and a wrong index or padding gives O(0.1) or more.
const TOL = 2e-5;

let skip: string | undefined;
beforeAll(() => {
  skip = setupNative();
});

type Pad = 'same' | 'valid';
const geometries: Array<[string, number[], number[], number, Pad]> = [
  ['3x3 stride 1 same', [2, 8, 8, 3], [3, 3, 3, 4], 1, 'same'],
  ['3x3 stride 1 valid', [2, 8, 8, 3], [3, 3, 3, 4], 1, 'valid'],
  ['3x3 stride 2 same', [2, 9, 9, 3], [3, 3, 3, 5], 2, 'same'],
  ['3x3 stride 2 valid', [2, 9, 8, 2], [3, 3, 2, 3], 2, 'valid'],
  ['2x4 stride 2 same, even input', [1, 8, 8, 2], [2, 4, 2, 3], 2, 'same'],
  ['1x1 pointwise', [2, 5, 5, 4], [1, 1, 4, 6], 1, 'valid'],
];

describe('Conv2D and its gradients on native vs the stock cpu kernels', () => {
  test.each(geometries)('%s', async (_n, xShape, wShape, stride, pad) => {
    if (skip) return;
    const before = tf.memory().numTensors;
    const f = () => {
      const x = rand(xShape, 11), w = rand(wShape, 12);
      const y = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, pad);
      const dy = rand(y.shape, 13) as tf.Tensor4D;
      const dx = tf.conv2dTranspose(dy, w as tf.Tensor4D, x.shape as [number, number, number, number], stride, pad);
      const dw = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
        strides: stride, pad, dataFormat: 'NHWC', filterShape: wShape,
      }) as tf.Tensor;
      return [y, dx, dw];
    };
    const n = await on('native', f);
    const c = await on('cpu', f);
    for (let i = 0; i < 3; i++) expect(maxRelErr(n[i]!, c[i]!)).toBeLessThan(TOL);
    expect(tf.memory().numTensors).toBe(before);
  });

  test('chunks spread over threads (one image per chunk) give the same results', async () => {
    if (skip) return;
    // Tiny column chunks force one image per chunk, so with 2 threads the chunks run in
    // parallel, each with its own sgemm, and the filter gradient is reduced across threads.
    setNativeThreads(2);
    const addon = loadAddon();
    if (!addon.ok) throw new Error(addon.reason);
    addon.addon.setChunkFloats(64);
    try {
      for (const [, xShape, wShape, stride, pad] of geometries.slice(0, 3)) {
        const f = () => {
          const x = rand([6, ...xShape.slice(1)], 14), w = rand(wShape, 15);
          const y = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, pad);
          const dy = rand(y.shape, 16) as tf.Tensor4D;
          const dx = tf.conv2dTranspose(dy, w as tf.Tensor4D, x.shape as [number, number, number, number], stride, pad);
          const dw = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: stride, pad, dataFormat: 'NHWC', filterShape: wShape }) as tf.Tensor;
          return [y, dx, dw];
        };
        const n = await on('native', f);
        const c = await on('cpu', f);
        for (let i = 0; i < 3; i++) expect(maxRelErr(n[i]!, c[i]!)).toBeLessThan(TOL);
      }
    } finally {
      addon.addon.setChunkFloats(0);
    }
  });

  test('a hand-computed convolution', async () => {
    if (skip) return;
    // 3x3 input 1..9, 2x2 all-ones filter, valid: window sums [[12,16],[24,28]].
    const [y] = await on('native', () =>
      tf.conv2d(tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]), tf.ones([2, 2, 1, 1]) as tf.Tensor4D, 1, 'valid'));
    expect(Array.from(y!)).toEqual([12, 16, 24, 28]);
  });

  test('dilated forward conv', async () => {
    if (skip) return;
    const f = () => tf.conv2d(rand([1, 9, 9, 2], 1) as tf.Tensor4D, rand([3, 3, 2, 3], 2) as tf.Tensor4D, 1, 'same', 'NHWC', 2);
    const [n] = await on('native', f);
    const [c] = await on('cpu', f);
    expect(maxRelErr(n!, c!)).toBeLessThan(TOL);
  });

  test('fused conv with bias and relu, and with leakyrelu through the registered kernels', async () => {
    if (skip) return;
    for (const activation of ['relu', 'leakyrelu'] as const) {
      const f = () => tf.fused.conv2d({
        x: rand([2, 6, 6, 3], 1) as tf.Tensor4D, filter: rand([3, 3, 3, 4], 2) as tf.Tensor4D,
        strides: 1, pad: 'same', bias: rand([4], 3), activation, leakyreluAlpha: 0.1,
      });
      const [n] = await on('native', f);
      const [c] = await on('cpu', f);
      expect(maxRelErr(n!, c!)).toBeLessThan(TOL);
    }
  });
});

describe('depthwise conv and its gradients on native vs the stock cpu kernels', () => {
  const cases: Array<[string, number[], number[], number, Pad]> = [
    ['3x3 stride 1 same, multiplier 1', [2, 7, 7, 3], [3, 3, 3, 1], 1, 'same'],
    ['3x3 stride 2 valid, multiplier 2', [2, 9, 9, 3], [3, 3, 3, 2], 2, 'valid'],
    ['3x3 stride 2 same, multiplier 1', [1, 8, 8, 4], [3, 3, 4, 1], 2, 'same'],
  ];
  test.each(cases)('%s', async (_n, xShape, wShape, stride, pad) => {
    if (skip) return;
    const f = () => {
      const x = rand(xShape, 21) as tf.Tensor4D, w = rand(wShape, 22) as tf.Tensor4D;
      const y = tf.depthwiseConv2d(x, w, stride, pad);
      const dy = rand(y.shape, 23);
      const attrs = { strides: stride, pad, dilations: 1 };
      const dx = tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter: w }, { ...attrs, inputShape: xShape }) as tf.Tensor;
      const dw = tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { ...attrs, filterShape: wShape }) as tf.Tensor;
      return [y, dx, dw];
    };
    const n = await on('native', f);
    const c = await on('cpu', f);
    for (let i = 0; i < 3; i++) expect(maxRelErr(n[i]!, c[i]!)).toBeLessThan(TOL);
  });
});
