import * as tf from '@tensorflow/tfjs-core';
import { cnn } from './cnn';
import { bandImages, disposeTree, evalLoss, tensorGrowth, trainSgd, useCpu } from './test-util';

beforeAll(useCpu);

describe('cnn (LeNet-style)', () => {
  it.each([
    [[28, 28, 1], 'MNIST'],
    [[32, 32, 3], 'CIFAR'],
  ] as [[number, number, number], string][])('default architecture on %j (%s) gives [batch, 10] logits', (inputShape) => {
    const m = cnn({ inputShape });
    const { params, state } = m.init(0);
    const x = tf.randomNormal([2, ...inputShape]);
    const r = m.apply(params, state, x, { training: false });
    expect(r.logits.shape).toEqual([2, 10]);
    expect(Array.from(r.logits.dataSync()).every(Number.isFinite)).toBe(true);
    r.logits.dispose();
    x.dispose();
    disposeTree(params);
  });

  it.each(['avg', 'max'] as const)('trains on a tiny banded-image task with %s pooling', (pool) => {
    const m = cnn({ inputShape: [8, 8, 1], channels: [4, 8], hidden: 16, numClasses: 4, pool });
    const { params, state } = m.init(7);
    const { x, y } = bandImages(8, 8, 8, 1, 4);
    const out = trainSgd(m, params, state, x, y, { steps: 25, lr: 0.1 });
    // Start ≈ ln 4 ≈ 1.39; require the loss to at least halve.
    expect(evalLoss(m, out.params, out.state, x, y)).toBeLessThan(0.5 * (out.losses[0] as number));
    disposeTree(out.params);
    [x, y].forEach((t) => t.dispose());
    disposeTree(params);
  });

  it('conv0 output agrees with a by-hand 3×3 same-padded convolution at one pixel', () => {
    const m = cnn({ inputShape: [4, 4, 1], channels: [1], hidden: 0, numClasses: 1 });
    const { params, state } = m.init(1);
    // With hidden = 0 and a 1-channel 2×2 pooled map, logits = avgpool(relu(conv))·W_head.
    const x = tf.tensor4d(Array.from({ length: 16 }, (_, i) => (i % 5) - 2), [1, 4, 4, 1]);
    const k = params['conv0/kernel']!.dataSync();
    const xv = x.dataSync();
    const at = (r: number, c: number): number => (r < 0 || c < 0 || r > 3 || c > 3 ? 0 : (xv[r * 4 + c] as number));
    const conv = (r: number, c: number): number => {
      let s = 0;
      for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) s += at(r + i - 1, c + j - 1) * (k[i * 3 + j] as number);
      return Math.max(0, s);
    };
    const pooled = [
      [0, 0],
      [0, 2],
      [2, 0],
      [2, 2],
    ].map(([r, c]) => (conv(r!, c!) + conv(r!, c! + 1) + conv(r! + 1, c!) + conv(r! + 1, c! + 1)) / 4);
    const wHead = params['head/kernel']!.dataSync();
    const want = pooled.reduce((a, p, i) => a + p * (wHead[i] as number), 0);
    const r = m.apply(params, state, x, { training: false });
    expect(r.logits.dataSync()[0]).toBeCloseTo(want, 4);
    r.logits.dispose();
    x.dispose();
    disposeTree(params);
  });

  it('rejects inputs of the wrong image shape and an even kernel', () => {
    const m = cnn();
    const { params, state } = m.init(0);
    const x = tf.zeros([1, 32, 32, 3]);
    expect(() => m.apply(params, state, x, { training: false })).toThrow(/expected \[batch, 28, 28, 1\]/);
    expect(() => cnn({ kernelSize: 4 })).toThrow(/'kernelSize' must be odd/);
    expect(() => cnn({ inputShape: [2, 2, 1], channels: [4, 4] })).toThrow(/too small/);
    x.dispose();
    disposeTree(params);
  });

  it('leaks nothing (with dropout)', () => {
    const m = cnn({ inputShape: [8, 8, 1], channels: [2, 2], hidden: 4, numClasses: 2, dropout: 0.2 });
    const { params, state } = m.init(0);
    const x = tf.ones([2, 8, 8, 1]);
    expect(tensorGrowth(m, params, state, x)).toBe(0);
    x.dispose();
    disposeTree(params);
  });
});
