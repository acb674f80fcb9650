import * as tf from '@tensorflow/tfjs-core';
import { countParams } from './countParams';
import { resnet, resnet18 } from './resnet';
import { bandImages, disposeTree, evalLoss, tensorGrowth, trainSgd, useCpu } from './test-util';

beforeAll(useCpu);

const tiny = () => resnet({ inputShape: [8, 8, 3], width: 4, blocks: [1, 1], numClasses: 3 });

describe('resnet (CIFAR form)', () => {
  it('ResNet-18 reference shapes: 3×3 stem, 8 blocks, 3 projection shortcuts, fc 512→10', () => {
    const m = resnet18();
    expect(m.paramShapes['stem/conv/kernel']).toEqual([3, 3, 3, 64]);
    expect(m.paramShapes['stage4/block1/conv2/kernel']).toEqual([3, 3, 512, 512]);
    expect(m.paramShapes['stage2/block0/shortcut/conv/kernel']).toEqual([1, 1, 64, 128]);
    expect(m.paramShapes['stage1/block0/shortcut/conv/kernel']).toBeUndefined();
    expect(m.paramShapes['fc/kernel']).toEqual([512, 10]);
    expect(m.stateShapes['stage3/block0/bn1/mean']).toEqual([256]);
    expect(countParams(m)).toBe(11_173_962);
  });

  it('tiny ResNet gives [batch, classes] logits in both modes', () => {
    const m = tiny();
    const { params, state } = m.init(0);
    const x = tf.randomNormal([4, 8, 8, 3]);
    for (const training of [true, false]) {
      const r = m.apply(params, state, x, { training });
      expect(r.logits.shape).toEqual([4, 3]);
      r.logits.dispose();
      disposeTree(r.state);
    }
    x.dispose();
    disposeTree(params);
    disposeTree(state);
  });

  it('training mode updates the BN running stats; eval mode uses them', () => {
    const m = tiny();
    const { params, state } = m.init(0);
    const x = tf.add(tf.mul(tf.randomNormal([4, 8, 8, 3], 0, 1, 'float32', 1), 2), 3);
    const r1 = m.apply(params, state, x, { training: true });
    // The stem BN sees conv(x) with the stem kernel: its running mean moves to 0.1·batch mean.
    const stemOut = tf.conv2d(x as tf.Tensor4D, params['stem/conv/kernel'] as tf.Tensor4D, 1, 'same');
    const batchMean = tf.mean(stemOut, [0, 1, 2]).dataSync();
    const rm = r1.state['stem/bn/mean']!.dataSync();
    // float32 means of 256 O(1) values: 1e-4 absolute.
    batchMean.forEach((mu, c) => expect(rm[c]).toBeCloseTo(0.1 * mu, 4));
    // Eval with the initial state (mean 0, var 1) vs with the updated state gives different logits.
    const e0 = m.apply(params, state, x, { training: false });
    const e1 = m.apply(params, r1.state, x, { training: false });
    const diff = tf.max(tf.abs(tf.sub(e0.logits, e1.logits))).dataSync()[0] as number;
    expect(diff).toBeGreaterThan(1e-3);
    // Eval returns the state it was given.
    expect(tf.max(tf.abs(tf.sub(e1.state['stem/bn/mean']!, r1.state['stem/bn/mean']!))).dataSync()[0]).toBe(0);
    [stemOut, x, r1.logits, e0.logits, e1.logits].forEach((t) => t.dispose());
    [r1.state, e0.state, e1.state, params, state].forEach(disposeTree);
  });

  it('trains on a tiny banded-image task', () => {
    const m = tiny();
    const { params, state } = m.init(3);
    const { x, y } = bandImages(6, 8, 8, 3, 3);
    const out = trainSgd(m, params, state, x, y, { steps: 15, lr: 0.1 });
    // Loss measured in training mode at step 0 vs eval mode with the learned running stats
    // would mix BN modes; compare training-mode losses of the first and the last step.
    const last = out.losses[out.losses.length - 1] as number;
    expect(last).toBeLessThan(0.5 * (out.losses[0] as number));
    expect(Number.isFinite(evalLoss(m, out.params, out.state, x, y))).toBe(true);
    [out.params, out.state, params, state].forEach(disposeTree);
    [x, y].forEach((t) => t.dispose());
  });

  it('leaks nothing', () => {
    const m = tiny();
    const { params, state } = m.init(0);
    const x = tf.ones([2, 8, 8, 3]);
    expect(tensorGrowth(m, params, state, x)).toBe(0);
    x.dispose();
    disposeTree(params);
    disposeTree(state);
  });
});
