// @lets/native's fused bias-and-ReLU (LetsBiasRelu forward, LetsBiasReluGrad backward), which
// @lets/models' conv and dense ReLU layers reach by name, changes no bit of training: SGD, SAM
// and LETS-SAM steps of the CNN and the MLP give the same parameter bytes on 'native' with the
// kernel registered as with it unregistered (Add then Relu forward, Step, Multiply and Sum
// backward). Skipped where the native addon is not built.
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@lets/runtime';
import { BIAS_RELU_KERNEL, cnn, mlp } from '@lets/models';
import { sgd } from '@lets/optim';
import { sam } from '@lets/sam';
import { lets } from '@lets/lets';
import type { GradientTransformation } from '@lets/optim';
import { initTrainState, makeTrainStep } from './step';
import { disposeTrainState } from './fit';
import type { TrainableModel } from './types';
import { countedNativeKernels } from './test-util';

const GRAD = 'LetsBiasReluGrad';
let native = false;
const calls: Record<string, number> = {};
let saved: tf.KernelConfig[] = [];

beforeAll(async () => {
  saved = (await countedNativeKernels([BIAS_RELU_KERNEL, GRAD], calls, 'bias-ReLU kernel tests')) ?? [];
  native = saved.length > 0;
});

function withoutKernel<R>(f: () => R): R {
  tf.unregisterKernel(BIAS_RELU_KERNEL, 'native');
  try {
    return f();
  } finally {
    tf.registerKernel(saved[0]!);
  }
}

const bytes = (p: Record<string, tf.Tensor>): Buffer[] =>
  Object.keys(p).sort().map((k) => Buffer.from((p[k]!.dataSync() as Float32Array).slice().buffer));

/** `steps` training steps from seed 0 on one batch and one validation batch: the final parameters' bytes and the loss. */
function train(model: TrainableModel, make: () => GradientTransformation<unknown>, x: tf.Tensor, y: tf.Tensor, steps: number): { bytes: Buffer[]; loss: number } {
  const optimizer = make();
  const step = makeTrainStep({ model, optimizer });
  let state = initTrainState(model, optimizer, 0);
  let loss = NaN;
  for (let i = 0; i < steps; i++) {
    const r = step(state, { x, y }, { x, y });
    state = r.state;
    loss = r.metrics.loss;
  }
  const out = bytes(state.params as Record<string, tf.Tensor>);
  disposeTrainState(state);
  return { bytes: out, loss };
}

describe('LetsBiasRelu through @lets/models on native', () => {
  const methods: Array<[string, () => GradientTransformation<unknown>]> = [
    ['SGD with momentum', () => sgd(0.05, { momentum: 0.9 }) as GradientTransformation<unknown>],
    ['SAM', () => sam(sgd(0.05, { momentum: 0.9 }), { rho: 0.05 }) as unknown as GradientTransformation<unknown>],
    ['LETS-SAM', () => lets(sam(sgd(0.05, { momentum: 0.9 }), { rho: 0.05 })) as unknown as GradientTransformation<unknown>],
  ];
  const models: Array<[string, () => TrainableModel, number[]]> = [
    // 20 × 12 × 12 × 4 = 11,520 elements in the first conv's output, and 20 × 6 × 6 × 8 in the second: one thread
    ['cnn (small)', () => cnn({ inputShape: [12, 12, 1], channels: [4, 8], hidden: 16, numClasses: 3 }), [20, 12, 12, 1]],
    // 64 × 28 × 28 × 8 = 401,408 elements (above 2^18): the threaded loops and the threads' order of the bias sum
    ['cnn (threaded)', () => cnn({ inputShape: [28, 28, 1], channels: [8], hidden: 0, numClasses: 3 }), [64, 28, 28, 1]],
    ['mlp', () => mlp({ inputDim: 30, hidden: [16, 16], numClasses: 3, activation: 'relu' }), [20, 30]],
  ];
  test.each(models)('%s: the same parameter bytes with and without the kernel, for SGD, SAM and LETS-SAM', (_name, makeModel, shape) => {
    if (!native) return;
    const rng = new Rng(3);
    const x = rng.normal(shape);
    const y = tf.tidy(() => tf.cast(tf.oneHot(rng.randint([shape[0]!], 3), 3), 'float32'));
    const model = makeModel();
    const before = tf.memory().numTensors;
    for (const [what, make] of methods) {
      calls[BIAS_RELU_KERNEL] = 0;
      calls[GRAD] = 0;
      const fused = train(model, make, x, y, 6);
      expect([what, calls[BIAS_RELU_KERNEL]! > 0, calls[GRAD]! > 0]).toEqual([what, true, true]);
      calls[BIAS_RELU_KERNEL] = 0;
      const plain = withoutKernel(() => train(model, make, x, y, 6));
      expect([what, calls[BIAS_RELU_KERNEL]]).toEqual([what, 0]);
      expect([what, Number.isFinite(fused.loss), fused.loss]).toEqual([what, true, plain.loss]);
      expect([what, fused.bytes.every((b, i) => b.equals(plain.bytes[i]!))]).toEqual([what, true]);
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y]);
  });

  test('a ReLU model whose activation is not relu does not take the kernel', () => {
    if (!native) return;
    const m = mlp({ inputDim: 5, hidden: [4], numClasses: 2, activation: 'tanh' });
    calls[BIAS_RELU_KERNEL] = 0;
    const { params, state } = m.init(0);
    const x = tf.ones([2, 5]);
    const out = m.apply(params, state, x, { training: true, seed: 0 });
    expect(calls[BIAS_RELU_KERNEL]).toBe(0);
    tf.dispose([x, out.logits, ...Object.values(params)]);
  });
});
