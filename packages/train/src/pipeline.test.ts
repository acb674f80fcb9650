import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/Either';
import * as T from '@lets/tree';
import type { Params, Tree } from '@lets/tree';
import { sgd, type GradientTransformation } from '@lets/optim';
import { sam } from '@lets/sam';
import * as data from '@lets/data';
import { mlp } from '@lets/models';
import { lets, type LetsState } from '@lets/lets';
import { lcg, setupCpu, statefulMlp } from './test-util';
import { decodeCheckpoint } from './checkpoint';
import { loadCheckpoint } from './checkpoint_file';
import { disposeTrainState } from './fit';
import { fit } from './index';
import { fit as browserFit } from './browser';
import { random } from '@lets/runtime';
import { batchExtras, initTrainState, makeTrainStep, modelGradFn, passSeed, sampleCrossEntropy } from './step';
import { evaluate } from './evaluate';
import { crossEntropy } from './loss';
import type { BatchSource, TrainableModel, TrainBatch, TrainState } from './types';

beforeAll(setupCpu);

// A small model with state (a running mean used in training mode): test-util's.
const model: TrainableModel = statefulMlp;

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

  it('passes get their dropout seed from the run key: passSeed(seed, step, 0) for the batch, 1 for validation', () => {
    // passSeed is the seed of runtime's key fold(key(seed), step, pass): distinct per step and pass
    expect(passSeed(7, 3, 1)).toBe(random.fold(random.key(7), 3, 1));
    const all = [0, 1, 2].flatMap((t) => [0, 1].flatMap((p) => [passSeed(7, t, p), passSeed(8, t, p)]));
    expect(new Set(all).size).toBe(12);
    all.forEach((x) => expect(Number.isSafeInteger(x)).toBe(true));
    // A model that records the seed of every training-mode pass.
    const seen: (number | undefined)[] = [];
    const spy: TrainableModel = { init: model.init, apply: (p, s, x, o) => (seen.push(o.seed), model.apply(p, s, x, o)) };
    const opt = lets(sam(sgd(0.1), { rho: 0.05 }), { every: 1, rhoOptimizer: sgd(1) });
    let state = initTrainState(spy, opt, 0);
    const step = makeTrainStep({ model: spy, optimizer: opt, seed: 7 });
    const batch = (source(train, 32)(0) as Iterable<TrainBatch>)[Symbol.iterator]().next().value as TrainBatch;
    const vb = (source(val, 32)(0) as Iterable<TrainBatch>)[Symbol.iterator]().next().value as TrainBatch;
    for (let t = 0; t < 2; t++) {
      seen.length = 0;
      state = step(state, batch, vb).state;
      expect(seen.length).toBeGreaterThan(1);
      expect(seen[0]).toBe(passSeed(7, t, 0)); // the clean pass
      expect(new Set(seen)).toEqual(new Set(t === 0 ? [passSeed(7, t, 0)] : [passSeed(7, t, 0), passSeed(7, t, 1)]));
    }
    expect(() => makeTrainStep({ model, optimizer: opt, seed: 0.5 })).toThrow(/seed must be a safe integer, got 0.5/);
    batch.dispose?.();
    vb.dispose?.();
    disposeTrainState(state);
  });

  it("reports what the optimizer's metrics(state) say, and nothing from the state's shape", () => {
    // A transformation of the test's own with a metrics function: the step reports it as is.
    const inner = sgd(0.1);
    const own: GradientTransformation<{ count: number; inner: ReturnType<typeof inner.init> }> = {
      init: (p) => ({ count: 0, inner: inner.init(p) }),
      update: (u, st, p, extra) => {
        const [updates, next] = inner.update(u, st.inner, p, extra);
        return [updates, { count: st.count + 1, inner: next }];
      },
      metrics: (st) => ({ rho: 0.5 * st.count, note: 'own' }),
    };
    // A state that looks like SAM's ({ rho }) but a transformation without metrics: no ρ.
    const shaped: GradientTransformation<{ rho: number }> = { init: () => ({ rho: 7 }), update: (u) => [T.clone(u), { rho: 7 }] };
    const batch = (source(train, 32)(0) as Iterable<TrainBatch>)[Symbol.iterator]().next().value as TrainBatch;
    const a = makeTrainStep({ model, optimizer: own })(initTrainState(model, own, 0), batch);
    expect(a.metrics.rho).toBe(0.5);
    expect(a.metrics.transform).toEqual({ rho: 0.5, note: 'own' });
    const b = makeTrainStep({ model, optimizer: shaped })(initTrainState(model, shaped, 0), batch);
    expect(b.metrics.rho).toBeUndefined();
    expect(b.metrics.transform).toBeUndefined();
    // LETS reports its step report with ρ of the next step.
    const l = optimizer();
    const c = makeTrainStep({ model, optimizer: l })(initTrainState(model, l, 0), batch);
    const ls = c.state.optState as LetsState<unknown>;
    expect(c.metrics.rho).toBe(ls.variant.rho);
    expect(c.metrics.transform).toEqual({ ...ls.report, rho: ls.variant.rho });
    batch.dispose?.();
    for (const r of [a, b, c]) disposeTrainState(r.state);
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

  it("the browser entry's fit hands checkpoint bytes to checkpoint.write (the same bytes as the file), and refuses a checkpoint without one", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lets-ckpt-'));
    const file = path.join(dir, 'last.ckpt');
    const common = { model, train: source(train, 16), validation: source(val, 16), epochs: 2 };
    const store = new Map<string, Uint8Array>();
    const inPage = await browserFit({ ...common, optimizer: optimizer(), checkpoint: { file: 'run/last', bestFile: 'run/best', write: (k, b) => void store.set(k, b) }, best: (m) => -m.trainLoss });
    const onDisk = await fit({ ...common, optimizer: optimizer(), checkpoint: { file, bestFile: path.join(dir, 'best.ckpt') }, best: (m) => -m.trainLoss });
    expect([...store.keys()].sort()).toEqual(['run/best', 'run/last']);
    expect(Buffer.from(store.get('run/last')!).equals(fs.readFileSync(file))).toBe(true);
    expect(Buffer.from(store.get('run/best')!).equals(fs.readFileSync(path.join(dir, 'best.ckpt')))).toBe(true);
    const back = decodeCheckpoint(store.get('run/last')!, 'run/last');
    expect(E.isRight(back)).toBe(true);
    const ck = (back as E.Right<TrainState<unknown>>).right;
    expectBitEqual(ck.params, inPage.state.params);
    expect(ck.step).toBe(inPage.state.step);
    const before = tf.memory().numTensors;
    await expect(browserFit({ ...common, optimizer: optimizer(), checkpoint: { file: 'x' } })).rejects.toThrow(/fit: checkpoint\.write is required here \(there are no files in a browser\)/);
    expect(tf.memory().numTensors).toBe(before);
    [inPage, onDisk].forEach((r) => disposeTrainState(r.state));
    disposeTrainState(ck);
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

/** A source of thunks: each batch is built (and counted) only when the pipeline uses it. */
const lazySource = (d: ReturnType<typeof blobs>, batchSize: number, builds: { n: number }): BatchSource =>
  function* (epoch: number) {
    for (let s = 0; s < d.n; s += batchSize) {
      yield () => {
        builds.n += 1;
        const idx = Array.from({ length: Math.min(batchSize, d.n - s) }, (_, i) => (s + i + epoch * 7) % d.n);
        const x = tf.tensor2d(idx.flatMap((i) => [d.xs[2 * i]!, d.xs[2 * i + 1]!]), [idx.length, 2]);
        const y = tf.tensor1d(idx.map((i) => d.ys[i]!), 'int32');
        return { x, y, dispose: () => (x.dispose(), y.dispose()) };
      };
    }
  };

const expectBitEqual = (a: Params, b: Params): void => {
  expect(Object.keys(a)).toEqual(Object.keys(b));
  for (const k of Object.keys(a)) expect(Buffer.from(a[k]!.dataSync().buffer).equals(Buffer.from(b[k]!.dataSync().buffer))).toBe(true);
};

describe('training pipeline: what the lets command needs', () => {
  it('a run killed mid-epoch resumes from its step checkpoint bit for bit, without building the skipped batches', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lets-mid-'));
    const file = path.join(dir, 'last.ckpt');
    const eager = { model, train: source(train, 16), validation: source(val, 16) };
    const straight = await fit({ ...eager, optimizer: optimizer(), epochs: 3 });
    // 96 / 16 = 6 steps an epoch; checkpoints every 4 steps; killed after step 10 (epoch 1, batch 4).
    const before = tf.memory().numTensors;
    const builds = { n: 0 };
    const lazy = { model, train: lazySource(train, 16, builds), validation: lazySource(val, 16, { n: 0 }) };
    await expect(
      fit({ ...lazy, optimizer: optimizer(), epochs: 3, checkpoint: { file, everySteps: 4 }, callbacks: { onStep: (_m, s) => { if (s.step === 10) throw new Error('killed'); } } }),
    ).rejects.toThrow('killed');
    expect(tf.memory().numTensors).toBe(before); // the run state was released on the way out
    const ck = (await loadCheckpoint(file)) as E.Right<TrainState<unknown>>;
    expect(ck.right.step).toBe(8);
    expect(ck.right.epoch).toBe(1);
    expect(ck.right.batchInEpoch).toBe(2);
    expect(ck.right.valCursor).toEqual({ epoch: 2, index: 2 }); // 8 validation batches used, 48 / 16 = 3 an epoch
    builds.n = 0;
    const starts: [number, number][] = [];
    const resumed = await fit({ ...lazy, optimizer: optimizer(), epochs: 3, resume: ck.right as TrainState<any>, callbacks: { onEpochStart: (e, done) => void starts.push([e, done]) } });
    expect(starts).toEqual([[1, 2], [2, 0]]);
    expect(builds.n).toBe(18 - 8); // only the batches still to train were built
    expect(resumed.state.step).toBe(18);
    expectBitEqual(resumed.state.params, straight.state.params);
    expect((resumed.state.optState as LetsState<unknown>).variant.rho).toBe((straight.state.optState as LetsState<unknown>).variant.rho);
    [straight, resumed].forEach((r) => disposeTrainState(r.state));
    fs.rmSync(dir, { recursive: true });
  });

  it('a lazy validation batch is built only on the steps that read it, and trains exactly like an eager one', async () => {
    const valBuilds = { n: 0 };
    const steps: number[] = [];
    let rhoUpdates = 0;
    let rho = 0.05;
    const eager = await fit({ model, optimizer: optimizer(), train: source(train, 16), validation: source(val, 16), epochs: 2 });
    const before = tf.memory().numTensors;
    const lazy = await fit({
      model,
      optimizer: optimizer(),
      train: source(train, 16),
      validation: lazySource(val, 16, valBuilds),
      epochs: 2,
      callbacks: {
        onStep: (m) => {
          steps.push(m.step);
          if (m.rho !== rho) rhoUpdates += 1;
          rho = m.rho as number;
        },
      },
    });
    // A validation batch is read exactly on the steps where ρ moves (LETS's upper level, every 2 steps).
    expect(steps).toHaveLength(12);
    expect(rhoUpdates).toBeGreaterThan(0);
    expect(rhoUpdates).toBeLessThan(12);
    expect(valBuilds.n).toBe(rhoUpdates);
    expectBitEqual(lazy.state.params, eager.state.params);
    disposeTrainState(lazy.state);
    expect(tf.memory().numTensors).toBe(before);
    disposeTrainState(eager.state);
  });

  it('evaluates several sources, tracks the best epoch across a resume and writes it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lets-best-'));
    const bestFile = path.join(dir, 'best.ckpt');
    const file = path.join(dir, 'last.ckpt');
    const common = {
      model,
      train: source(train, 16),
      validation: source(val, 16),
      evaluations: { val: source(val, 48), test: source(test, 48) },
    };
    // Score 10 − epoch: only the first epoch ever improves, also after a resume.
    const first = await fit({ ...common, best: (m) => 10 - m.epoch, optimizer: optimizer(), epochs: 2, checkpoint: { file, bestFile } });
    expect(first.history.map((m) => m.improved)).toEqual([true, false]);
    expect(first.state.best).toBe(10);
    const ck = (await loadCheckpoint(file)) as E.Right<TrainState<unknown>>;
    expect(ck.right.best).toBe(10);
    const more = await fit({ ...common, best: (m) => 10 - m.epoch, optimizer: optimizer(), epochs: 3, resume: ck.right as TrainState<any> });
    expect(more.history.map((m) => m.improved)).toEqual([false]);
    const bestCk = (await loadCheckpoint(bestFile)) as E.Right<TrainState<unknown>>;
    expect(bestCk.right.epoch).toBe(1);
    // The per-source metrics are `evaluate` on that source at the epoch's state.
    const last = first.history[1]!.evaluations!;
    const direct = await evaluate(model, first.state.params, first.state.modelState, source(test, 48)(1) as Iterable<TrainBatch>);
    expect(last['test']).toEqual(direct);
    expect(last['val']!.count).toBe(48);
    disposeTrainState(bestCk.right);
    [first, more].forEach((r) => disposeTrainState(r.state));
    fs.rmSync(dir, { recursive: true });
  });

  it("gives SAM variants the batch's per-sample losses, subset gradients and micro-batch gradients", () => {
    const m = mlp({ inputDim: 2, hidden: [8], numClasses: 3, activation: 'relu' });
    const { params, state } = m.init(0);
    const batch = (source(train, 32)(0) as Iterable<TrainBatch>)[Symbol.iterator]().next().value as TrainBatch;
    const before = tf.memory().numTensors;
    const ex = batchExtras(m, state, batch, crossEntropy, 5, sampleCrossEntropy, 2) as {
      sampleLossFn: (p: Params) => tf.Tensor1D;
      subsetGradFn: (p: Params, i: tf.Tensor1D) => { loss: tf.Scalar; grads: Params; state?: Tree };
      microGradFns: ((p: Params) => { loss: tf.Scalar; grads: Params; state?: Tree })[];
    };
    // Called inside one scope, as an optimizer calls them inside the step's scope.
    const r = tf.tidy(() => {
      const full = modelGradFn(m, state, batch, crossEntropy, 5)(params);
      const per = ex.sampleLossFn(params);
      const sub = ex.subsetGradFn(params, tf.range(0, 32, 1, 'int32') as tf.Tensor1D);
      const [a, b] = ex.microGradFns.map((f) => f(params));
      return {
        shape: per.shape,
        // The mean of the per-sample losses is the batch loss.
        meanPer: tf.mean(per).dataSync()[0]!,
        loss: full.loss.dataSync()[0]!,
        // The subset of every row is the batch.
        subsetOk: T.allClose(sub.grads, full.grads, { rtol: 1e-5, atol: 1e-6 }),
        micro: ex.microGradFns.length,
        // Two equal halves: the mean of their mean-loss gradients is the batch's.
        microOk: T.allClose(T.scaleBy(T.add(a!.grads, b!.grads), 0.5), full.grads, { rtol: 1e-4, atol: 1e-6 }),
      };
    });
    expect(r.shape).toEqual([32]);
    expect(r.meanPer).toBeCloseTo(r.loss, 5); // float32 mean of 32 terms: ≈ 1e-7 relative, 5 digits is loose
    expect(r.subsetOk).toBe(true);
    expect(r.micro).toBe(2);
    expect(r.microOk).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
    batch.dispose?.();
    T.dispose(params);
    T.dispose(state);
  });
});
