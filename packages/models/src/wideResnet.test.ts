import * as tf from '@tensorflow/tfjs-core';
import { countParams } from './countParams';
import { bandImages, disposeTree, tensorGrowth, trainSgd, useCpu } from './test-util';
import { wideResnet } from './wideResnet';

beforeAll(useCpu);

const tiny = (dropout = 0) =>
  wideResnet({ depth: 10, widen: 2, baseWidth: 2, inputShape: [8, 8, 3], numClasses: 3, dropout });

describe('wideResnet', () => {
  it('WRN-28-10 reference shapes: 4 blocks per group, widths 160/320/640, pre-activation BN', () => {
    const m = wideResnet({ depth: 28, widen: 10 });
    expect(m.name).toBe('wrn-28-10');
    expect(m.paramShapes['stem/conv/kernel']).toEqual([3, 3, 3, 16]);
    expect(m.paramShapes['group1/block0/bn1/gamma']).toEqual([16]);
    expect(m.paramShapes['group1/block0/shortcut/conv/kernel']).toEqual([1, 1, 16, 160]);
    expect(m.paramShapes['group1/block3/conv2/kernel']).toEqual([3, 3, 160, 160]);
    expect(m.paramShapes['group1/block4/conv1/kernel']).toBeUndefined();
    expect(m.paramShapes['group3/block0/conv1/kernel']).toEqual([3, 3, 320, 640]);
    expect(m.paramShapes['fc/kernel']).toEqual([640, 10]);
    expect(countParams(m)).toBe(36_479_194);
    expect(countParams(wideResnet({ depth: 16, widen: 8 }))).toBe(10_961_370);
    expect(() => wideResnet({ depth: 20 })).toThrow(/'depth' must be 6n \+ 4/);
  });

  it('tiny WRN-10-2 gives [batch, classes] logits and updates every BN in training mode', () => {
    const m = tiny();
    const { params, state } = m.init(0);
    const x = tf.randomNormal([4, 8, 8, 3], 0, 1, 'float32', 5);
    const r = m.apply(params, state, x, { training: true });
    expect(r.logits.shape).toEqual([4, 3]);
    for (const k of Object.keys(state).filter((p) => p.endsWith('/mean'))) {
      const moved = tf.max(tf.abs(tf.sub(r.state[k]!, state[k]!))).dataSync()[0] as number;
      expect(moved).toBeGreaterThan(0);
    }
    r.logits.dispose();
    [r.state, params, state].forEach(disposeTree);
    x.dispose();
  });

  it('trains on a tiny banded-image task (with dropout 0.1, seeded)', () => {
    const m = tiny(0.1);
    const { params, state } = m.init(11);
    const { x, y } = bandImages(6, 8, 8, 3, 3);
    const out = trainSgd(m, params, state, x, y, { steps: 15, lr: 0.1 });
    const last = out.losses[out.losses.length - 1] as number;
    expect(last).toBeLessThan(0.5 * (out.losses[0] as number));
    [out.params, out.state, params, state].forEach(disposeTree);
    [x, y].forEach((t) => t.dispose());
  });

  it('leaks nothing', () => {
    const m = tiny(0.1);
    const { params, state } = m.init(0);
    const x = tf.ones([2, 8, 8, 3]);
    expect(tensorGrowth(m, params, state, x)).toBe(0);
    x.dispose();
    [params, state].forEach(disposeTree);
  });
});
