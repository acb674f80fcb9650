import * as tf from '@tensorflow/tfjs-core';
import { Rng, initRuntime, random } from '@lets/runtime';
import { fans, glorotUniform, heNormal, normal, sample } from './initializers';
import { cnn } from './cnn';
import { resnet } from './resnet';
import { disposeTree, useCpu } from './test-util';

beforeAll(useCpu);

const moments = (a: Float32Array): { mean: number; variance: number; min: number; max: number } => {
  let s = 0;
  let s2 = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const v of a) {
    s += v;
    s2 += v * v;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  const mean = s / a.length;
  return { mean, variance: s2 / a.length - mean * mean, min, max };
};

describe('initializers', () => {
  it('fans of dense [in, out] and conv [kh, kw, in, out] kernels', () => {
    expect(fans([784, 256])).toEqual({ fanIn: 784, fanOut: 256 });
    expect(fans([3, 3, 16, 32])).toEqual({ fanIn: 144, fanOut: 288 });
    expect(() => fans([5])).toThrow(/rank >= 2/);
  });

  it('heNormal has variance 2/fan for the chosen fan', () => {
    const shape = [3, 3, 64, 32]; // fan_in 576, fan_out 288, n = 18,432
    for (const mode of ['fan_in', 'fan_out'] as const) {
      const { mean, variance } = moments(sample(heNormal(mode), shape, new Rng(1)));
      const want = 2 / (mode === 'fan_in' ? 576 : 288);
      // Relative sd of a sample variance is √(2/n) ≈ 1%: allow 5%.
      expect(Math.abs(variance / want - 1)).toBeLessThan(0.05);
      expect(Math.abs(mean)).toBeLessThan(5 * Math.sqrt(want / 18432));
    }
  });

  it('glorotUniform lies in ±√(6/(fan_in+fan_out)) with variance a²/3', () => {
    const a = Math.sqrt(6 / (300 + 100));
    const { variance, min, max } = moments(sample(glorotUniform, [300, 100], new Rng(2)));
    expect(min).toBeGreaterThanOrEqual(-a);
    expect(max).toBeLessThanOrEqual(a);
    expect(min).toBeLessThan(-0.99 * a);
    expect(Math.abs(variance / ((a * a) / 3) - 1)).toBeLessThan(0.03);
    const n = moments(sample(normal(0.02), [20000], new Rng(3)));
    expect(Math.abs(Math.sqrt(n.variance) / 0.02 - 1)).toBeLessThan(0.03);
  });

  it('model init: biases and β zero, γ and running variance one; kernels from the per-path stream', () => {
    const m = resnet({ inputShape: [8, 8, 3], width: 4, blocks: [1], numClasses: 2 });
    const { params, state } = m.init(9);
    expect(Array.from(params['fc/bias']!.dataSync())).toEqual([0, 0]);
    expect(Array.from(params['stem/bn/gamma']!.dataSync())).toEqual([1, 1, 1, 1]);
    expect(Array.from(params['stem/bn/beta']!.dataSync())).toEqual([0, 0, 0, 0]);
    expect(Array.from(state['stem/bn/mean']!.dataSync())).toEqual([0, 0, 0, 0]);
    expect(Array.from(state['stem/bn/variance']!.dataSync())).toEqual([1, 1, 1, 1]);
    // The stem kernel is exactly the He-normal (fan_out) sample of its own stream.
    const want = sample(heNormal('fan_out'), [3, 3, 3, 4], random.rng(random.fold(random.key(9), 'stem/conv/kernel')));
    expect(Array.from(params['stem/conv/kernel']!.dataSync())).toEqual(Array.from(want));
    [params, state].forEach(disposeTree);
  });

  it('same seed → bit-identical params, different seed → different; same on cpu and wasm', async () => {
    const m = cnn({ inputShape: [8, 8, 1], channels: [2, 2], hidden: 4, numClasses: 2 });
    const snap = (seed: number): number[][] => {
      const { params } = m.init(seed);
      const out = Object.values(params).map((t) => Array.from(t.dataSync()));
      disposeTree(params);
      return out;
    };
    const a = snap(1);
    expect(snap(1)).toEqual(a);
    expect(snap(2)).not.toEqual(a);
    await initRuntime({ backend: 'wasm' });
    try {
      expect(tf.getBackend()).toBe('wasm');
      expect(snap(1)).toEqual(a);
    } finally {
      await useCpu();
    }
  });
});
