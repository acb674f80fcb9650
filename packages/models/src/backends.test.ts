import * as tf from '@tensorflow/tfjs-core';
import { initRuntime } from '@lets/runtime';
import type { Tree } from '@lets/tree';
import { cnn } from './cnn';
import { mlp } from './mlp';
import { resnet } from './resnet';
import { transformer } from './transformer';
import { bandData, crossEntropy, disposeTree, useCpu } from './test-util';
import type { Model } from './types';

// The main job runs on the single-threaded wasm backend (with @lets/runtime's training
// kernels). Same seed → same params (JS PRNG), so logits and gradients must agree with cpu.

interface Snapshot {
  logits: number[];
  grads: number[][];
}

const snapshot = (m: Model, xData: { values: Float32Array | Int32Array; shape: number[] }, labels: number[]): Snapshot => {
  const { params, state } = m.init(4);
  const x = tf.tensor(xData.values, xData.shape, m.inputDtype);
  const y = tf.tensor1d(labels, 'int32');
  const keys = Object.keys(params);
  let logits: number[] = [];
  const grads = tf.grads((...ws: tf.Tensor[]) => {
    const p: Tree = Object.fromEntries(keys.map((k, i) => [k, ws[i]!]));
    const r = m.apply(p, state, x, { training: true });
    logits = Array.from(r.logits.dataSync());
    return crossEntropy(r.logits, y);
  })(keys.map((k) => params[k]!));
  const out = { logits, grads: grads.map((g) => Array.from(g.dataSync())) };
  [...grads, x, y].forEach((t) => t.dispose());
  [params, state].forEach(disposeTree);
  return out;
};

const relErr = (a: number[], b: number[]): number => {
  let num = 0;
  let den = 0;
  a.forEach((v, i) => {
    num += (v - (b[i] as number)) ** 2;
    den += v * v;
  });
  // Floor 1e-3: some gradients are exactly zero in exact arithmetic (attention key biases:
  // softmax ignores a shift common to all keys) and only float32 noise remains there.
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-3);
};

describe('cpu and wasm agree (forward and gradients)', () => {
  const imgData = { values: bandData(4, 8, 8, 3, 2).data, shape: [4, 8, 8, 3] };
  const img1Data = { values: bandData(4, 8, 8, 1, 2).data, shape: [4, 8, 8, 1] };
  const tok = { values: Int32Array.from([1, 2, 3, 4, 5, 6, 6, 5, 4, 3, 2, 1, 0, 1, 0, 1, 7, 7, 7, 7, 1, 1, 2, 2]), shape: [4, 6] };
  const cases: [string, () => Model, { values: Float32Array | Int32Array; shape: number[] }][] = [
    ['mlp', () => mlp({ inputDim: 64, hidden: [8], numClasses: 2 }), img1Data],
    ['cnn (avg pool)', () => cnn({ inputShape: [8, 8, 1], channels: [4, 8], hidden: 8, numClasses: 2 }), img1Data],
    ['cnn (max pool)', () => cnn({ inputShape: [8, 8, 1], channels: [4, 8], hidden: 8, numClasses: 2, pool: 'max' }), img1Data],
    ['resnet', () => resnet({ inputShape: [8, 8, 3], width: 4, blocks: [1, 1], numClasses: 2 }), imgData],
    ['transformer', () => transformer({ vocabSize: 8, seqLen: 6, dModel: 8, numHeads: 2, numLayers: 1, dFF: 8, numClasses: 2 }), tok],
  ];
  const cpu = new Map<string, Snapshot>();

  beforeAll(async () => {
    await useCpu();
    for (const [name, make, data] of cases) cpu.set(name, snapshot(make(), data, [0, 1, 0, 1]));
    await initRuntime({ backend: 'wasm' });
  });
  afterAll(async () => {
    await useCpu();
  });

  it.each(cases.map(([n]) => n))('%s', (name) => {
    const [, make, data] = cases.find(([n]) => n === name)!;
    expect(tf.getBackend()).toBe('wasm');
    const w = snapshot(make(), data, [0, 1, 0, 1]);
    const c = cpu.get(name)!;
    // Different kernels (XNNPACK, im2col, summation order) in float32: 1e-4 relative.
    expect(relErr(c.logits, w.logits)).toBeLessThan(1e-4);
    c.grads.forEach((g, i) => expect(relErr(g, w.grads[i]!)).toBeLessThan(1e-4));
  });
});
