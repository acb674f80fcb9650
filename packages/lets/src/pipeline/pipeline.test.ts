import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/Either';
import * as T from '@lets/tree';
import type { Params, Tree } from '@lets/tree';
import { sgd } from '@lets/optim';
import { sam } from '@lets/sam';
import * as data from '@lets/data';
import { mlp } from '@lets/models';
import { lets, type LetsState } from '../lets';
import { lcg, setupCpu, uniform } from '../test-util';
import { decodeCheckpoint, loadCheckpoint } from './checkpoint';
import { disposeTrainState, fit } from './fit';
import { initTrainState, makeTrainStep } from './step';
import type { BatchSource, TrainableModel, TrainBatch, TrainState } from './types';

beforeAll(setupCpu);

/**
 * A small model with state: a running mean of the inputs (like BatchNorm's statistics, updated
 * only in training mode with momentum 0.5), subtracted before a softplus MLP.
 */
const model: TrainableModel = {
  init: (seed) => ({
    params: { 'l1/w': uniform([2, 8], seed, 0.8), 'l1/b': tf.zeros([8]), 'l2/w': uniform([8, 3], seed + 1, 0.8), 'l2/b': tf.zeros([3]) },
    state: { 'bn/mean': tf.zeros([2]) },
  }),
  apply: (p: Params, s: Tree, x: tf.Tensor, { training }) =>
    tf.tidy(() => {
      const mean = training ? tf.add(tf.mul(s['bn/mean']!, 0.5), tf.mul(tf.mean(x, 0), 0.5)) : tf.clone(s['bn/mean']!);
      const h = tf.softplus(tf.add(tf.matMul(tf.sub(x, mean) as tf.Tensor2D, p['l1/w'] as tf.Tensor2D), p['l1/b']!));
      return { logits: tf.add(tf.matMul(h as tf.Tensor2D, p['l2/w'] as tf.Tensor2D), p['l2/b']!), state: { 'bn/mean': mean } };
    }),
};

// Three separable blobs around (3,0), (−3,0), (0,3), shifted by (1,1): 96 train, 48 validation, 48 test points.
const blobs = (n: number, seed: number) => {
  const centres = [
    [3, 0],
    [-3, 0],
    [0, 3],
  ];
  const r = lcg(seed);
  const noise = Array.from({ length: 2 * n }, r);
  const xs = new Float32Array(n * 2);
  const ys = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    ys[i] = c;
    xs[2 * i] = centres[c]![0]! + 1 + (noise[2 * i] as number);
    xs[2 * i + 1] = centres[c]![1]! + 1 + (noise[2 * i + 1] as number);
  }
  return { xs, ys, n };
};
const source = (d: ReturnType<typeof blobs>, batchSize: number): BatchSource =>
  function* (epoch: number) {
    // A fixed per-epoch rotation of the examples, so runs are reproducible.
    for (let s = 0; s < d.n; s += batchSize) {
      const idx = Array.from({ length: Math.min(batchSize, d.n - s) }, (_, i) => (s + i + epoch * 7) % d.n);
      const x = tf.tensor2d(idx.flatMap((i) => [d.xs[2 * i]!, d.xs[2 * i + 1]!]), [idx.length, 2]);
      const y = tf.tensor1d(idx.map((i) => d.ys[i]!), 'int32');
      const b: TrainBatch = { x, y, dispose: () => (x.dispose(), y.dispose()) };
      yield b;
    }
  };
const train = blobs(96, 1);
const val = blobs(48, 2);
const test = blobs(48, 3);
const optimizer = () => lets(sam(sgd(0.1, { momentum: 0.9 }), { rho: 0.05 }), { every: 2, rhoOptimizer: sgd(1) });

describe('training pipeline', () => {
  it('one step keeps exactly the new params, model state and optimizer state', () => {
    const opt = optimizer();
    let state = initTrainState(model, opt, 0);
    const step = makeTrainStep({ model, optimizer: opt });
    const batch = (source(train, 32)(0) as Iterable<TrainBatch>)[Symbol.iterator]().next().value as TrainBatch;
    const vb = (source(val, 32)(0) as Iterable<TrainBatch>)[Symbol.iterator]().next().value as TrainBatch;
    const counts: number[] = [];
    for (let i = 0; i < 6; i++) {
      state = step(state, batch, vb).state;
      counts.push(tf.memory().numTensors);
    }
    // Steps 1, 3, 5 hold a pending tangent (4 tensors): the count alternates, never grows.
    expect(counts.slice(2)).toEqual([counts[0], counts[1], counts[0], counts[1]]);
    batch.dispose?.();
    vb.dispose?.();
    disposeTrainState(state);
  });

  it('a step whose optimizer throws leaves no tensors behind and names the problem', () => {
    const opt = lets(sam(sgd(0.1)), { every: 1 });
    const state = initTrainState(model, opt, 0);
    const step = makeTrainStep({ model, optimizer: opt });
    const batch = (source(train, 32)(0) as Iterable<TrainBatch>)[Symbol.iterator]().next().value as TrainBatch;
    const s1 = step(state, batch, undefined, false).state; // computes a tangent: step 2 needs a validation batch
    const before = tf.memory().numTensors;
    expect(() => step(s1, batch, undefined, false)).toThrow(/valGradFn/);
    expect(tf.memory().numTensors).toBe(before);
    [state, s1].forEach((s) => disposeTrainState(s));
    batch.dispose?.();
  });

  it('fit trains, evaluates, learns ρ, calls back, and keeps the tensor count flat', async () => {
    const before = tf.memory().numTensors;
    const perEpoch: number[] = [];
    const rhos: number[] = [];
    let steps = 0;
    const r = await fit({
      model,
      optimizer: optimizer(),
      train: source(train, 16),
      validation: source(val, 16),
      evaluation: source(test, 48),
      epochs: 4,
      callbacks: {
        onStep: (m) => {
          steps += 1;
          if (m.rho !== undefined) rhos.push(m.rho);
        },
        onEpoch: () => {
          perEpoch.push(tf.memory().numTensors);
        },
      },
    });
    expect(steps).toBe(24);
    expect(r.history).toHaveLength(4);
    expect(r.history[3]!.trainLoss).toBeLessThan(r.history[0]!.trainLoss);
    expect(r.history[3]!.evaluation!.accuracy).toBeGreaterThan(0.9); // separable blobs
    expect(new Set(rhos).size).toBeGreaterThan(1); // ρ moved
    expect(r.history[3]!.rho).toBe((r.state.optState as LetsState<unknown>).variant.rho);
    // The running mean tracked the inputs' mean (≈ (1, 2)) in training mode.
    const mean = Array.from(r.state.modelState['bn/mean']!.dataSync());
    expect(mean[0]).toBeCloseTo(1, 0);
    expect(mean[1]).toBeCloseTo(2, 0);
    expect(new Set(perEpoch.slice(1)).size).toBe(1);
    disposeTrainState(r.state);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a checkpoint resumes bit for bit, and stop ends the run', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lets-ckpt-'));
    const file = path.join(dir, 'last.ckpt');
    const common = { model, train: source(train, 16), validation: source(val, 16) };
    const straight = await fit({ ...common, optimizer: optimizer(), epochs: 3 });
    await fit({ ...common, optimizer: optimizer(), epochs: 3, checkpoint: { file }, callbacks: { onEpoch: (m) => (m.epoch === 1 ? 'stop' : undefined) } }).then((r) =>
      disposeTrainState(r.state),
    );
    const loaded = await loadCheckpoint(file);
    expect(E.isRight(loaded)).toBe(true);
    const ck = (loaded as E.Right<TrainState<unknown>>).right;
    expect(ck.epoch).toBe(2);
    const resumed = await fit({ ...common, optimizer: optimizer(), epochs: 3, resume: ck as TrainState<any> });
    for (const k of Object.keys(straight.state.params)) {
      expect(Array.from(resumed.state.params[k]!.dataSync())).toEqual(Array.from(straight.state.params[k]!.dataSync()));
    }
    expect((resumed.state.optState as LetsState<unknown>).variant.rho).toBe((straight.state.optState as LetsState<unknown>).variant.rho);
    expect(fs.readdirSync(dir)).toEqual(['last.ckpt']); // no temporary file left behind
    [straight, resumed].forEach((r) => disposeTrainState(r.state));
    expect(E.isLeft(decodeCheckpoint(new Uint8Array([1, 2, 3])))).toBe(true);
    expect(E.isLeft(await loadCheckpoint(path.join(dir, 'missing.ckpt')))).toBe(true);
    fs.rmSync(dir, { recursive: true });
  });

  it('works with @lets/models and @lets/data through its small interfaces', async () => {
    const ds = E.getOrElseW((e: unknown) => {
      throw e;
    })(data.holdOut({ fraction: 0.2, seed: 1 })(data.gaussianBlobs({ numClasses: 3, dim: 4, trainPerClass: 60, testPerClass: 20, seed: 3 })));
    const m = mlp({ inputDim: 4, hidden: [16], numClasses: 3, activation: 'relu' });
    const r = await fit({
      model: m,
      optimizer: lets(sam(sgd(0.05, { momentum: 0.9 })), { every: 1 }),
      train: (epoch) => data.batches(ds, 'train', { batchSize: 24, seed: 1, epoch }),
      validation: (epoch) => data.batches(ds, 'validation', { batchSize: 24, seed: 2, epoch }),
      evaluation: () => data.batches(ds, 'test', { batchSize: 60, shuffle: false }),
      epochs: 3,
    });
    expect(r.history[2]!.evaluation!.accuracy).toBeGreaterThan(0.6);
    expect(r.history[2]!.trainLoss).toBeLessThan(r.history[0]!.trainLoss);
    disposeTrainState(r.state);
  });
});
