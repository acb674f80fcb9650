import * as tf from '@tensorflow/tfjs-core';
import * as T from '@lets/tree';
import type { Params } from '@lets/tree';
import { adam, applyUpdates, linear, sgd, type Extra, type GradientTransformation } from '@lets/optim';
import * as S from '@lets/sam';
import { lets, type LetsOptions } from './lets';
import { type Batch, disposeBatch, gradOf, lossOf, makeBatch, mlpInit, setupCpu, stepInputs } from './test-util';

beforeAll(setupCpu);

/** Runs `steps` updates of `opt` on a cycle of batches; returns final params, state, reports and the ρ its `metrics` reports. */
const train = <St>(
  opt: GradientTransformation<St>,
  params0: Params,
  batches: readonly Batch[],
  val: Batch,
  steps: number,
  extraOf: (b: Batch) => Partial<Extra> = () => ({}),
) => {
  let params = T.clone(params0);
  let state = opt.init(params);
  const reports: any[] = [];
  for (let t = 0; t < steps; t++) {
    const b = batches[t % batches.length]!;
    const inp = stepInputs(params, b, val);
    const [u, next] = opt.update(inp.grads, state, params, { ...inp.extra, ...extraOf(b) });
    const p2 = applyUpdates(params, u);
    [u, inp.grads, params].forEach(T.dispose);
    inp.loss.dispose();
    T.disposeState(state);
    params = p2;
    state = next;
    reports.push((next as any).report);
  }
  return { params, state, reports, rho: opt.metrics?.(state).rho };
};

const fixtures = () => ({
  batches: [0, 1, 2, 3].map((i) => makeBatch(24, 5, 3, 50 + i)),
  val: makeBatch(24, 5, 3, 60, 1),
  params: mlpInit(5, 6, 3, 70),
});
const release = (f: ReturnType<typeof fixtures>) => {
  f.batches.forEach(disposeBatch);
  disposeBatch(f.val);
  T.dispose(f.params);
};

describe('lets with a zero learning rate on ρ', () => {
  it.each([
    ['sam + SGD momentum, fd', () => S.sam(sgd(0.1, { momentum: 0.9 }), { rho: 0.1 }), { estimator: 'fd', every: 1 }],
    ['asam + SGD, exact', () => S.asam(sgd(0.1), { rho: 0.5 }), { estimator: 'exact', every: 3 }],
  ] as [string, () => S.SamTransformation<any>, LetsOptions][])(
    'is bit-for-bit the plain variant for 100 steps (%s)',
    (_name, make, options) => {
      const f = fixtures();
      const before = tf.memory().numTensors;
      const plain = train(make(), f.params, f.batches, f.val, 100);
      const learned = train(lets(make(), { ...options, rhoOptimizer: adam(0) }), f.params, f.batches, f.val, 100);
      for (const k of Object.keys(plain.params)) {
        expect(Array.from(learned.params[k]!.dataSync())).toEqual(Array.from(plain.params[k]!.dataSync()));
      }
      expect(learned.rho).toBe(plain.rho);
      expect(learned.rho).toBeDefined();
      // ρ updates did happen (the hypergradient was computed), they just moved nothing.
      expect(learned.reports.filter((r) => r.updated).length).toBeGreaterThan(30);
      [plain, learned].forEach((r) => {
        T.dispose(r.params);
        T.disposeState(r.state);
      });
      expect(tf.memory().numTensors).toBe(before);
      release(f);
    },
  );
});

// ESAM's data selection needs per-sample losses and subset gradients; mSAM uses M = 2 micro-batches.
const esamExtra = (b: Batch): Partial<Extra> => {
  const sampleLossFn = (p: Params) =>
    tf.tidy(() => {
      const z = tf.add(tf.matMul(tf.softplus(tf.add(tf.matMul(b.x, p['l1/w'] as tf.Tensor2D), p['l1/b']!)) as tf.Tensor2D, p['l2/w'] as tf.Tensor2D), p['l2/b']!);
      return tf.sub(tf.logSumExp(z, 1), tf.sum(tf.mul(b.y, z), 1)) as tf.Tensor1D;
    });
  const subsetGradFn = (p: Params, idx: tf.Tensor1D) => {
    const sub: Batch = { x: tf.gather(b.x, idx) as tf.Tensor2D, y: tf.gather(b.y, idx) as tf.Tensor2D };
    const r = gradOf(lossOf(sub))(p);
    disposeBatch(sub);
    return r;
  };
  return { sampleLossFn, subsetGradFn };
};
const msamExtra = (b: Batch): Partial<Extra> => {
  const half = (i: number): Batch => ({ x: tf.slice(b.x, [i * 12, 0], [12, 5]) as tf.Tensor2D, y: tf.slice(b.y, [i * 12, 0], [12, 3]) as tf.Tensor2D });
  const fns = [0, 1].map((i) => (p: Params) => {
    const hb = half(i);
    const r = gradOf(lossOf(hb))(p);
    disposeBatch(hb);
    return r;
  });
  return { microGradFns: fns };
};

const presets: [string, () => S.SamTransformation<any>, (b: Batch) => Partial<Extra>][] = [
  ['sam', () => S.sam(sgd(0.2)), () => ({})],
  ['asam', () => S.asam(sgd(0.2)), () => ({})],
  ['fisherSam', () => S.fisherSam(sgd(0.2)), () => ({})],
  ['gsam', () => S.gsam(sgd(0.2)), () => ({})],
  ['esam', () => S.esam(sgd(0.2)), esamExtra],
  ['samOn', () => S.samOn(sgd(0.2)), () => ({})],
  ['vasso', () => S.vasso(sgd(0.2)), () => ({})],
  ['friendlySam', () => S.friendlySam(sgd(0.2)), () => ({})],
  ['lookSam', () => S.lookSam(sgd(0.2), { k: 2 }), () => ({})],
  ['msam', () => S.msam(sgd(0.2), { microBatches: 2 }), msamExtra],
  ['gam', () => S.gam(sgd(0.2)), () => ({})],
  ['randomSam', () => S.randomSam(sgd(0.2)), () => ({})],
  ['stableSam', () => S.stableSam(sgd(0.2)), () => ({})],
  ['leSam', () => S.leSam(sgd(0.2), { totalSteps: 100 }), () => ({})],
];

describe.each(presets)('lets(%s)', (name, make, extraOf) => {
  it('runs, ρ moves, and the live tensor count does not grow', () => {
    const f = fixtures();
    // samOn perturbs normalization parameters only: give the MLP a 'bn/gamma' scale on its hidden layer.
    const params = name === 'samOn' ? { ...T.clone(f.params), 'bn/gamma': tf.ones([6]) } : T.clone(f.params);
    const variant = make();
    const rho0 = variant.init(params).rho;
    const opt = lets(variant, { estimator: 'fd', every: 1, rhoOptimizer: sgd(50) });
    // One warm-up run first: some variants cache constants on first use (not a per-step leak).
    const warm = train(opt, params, f.batches, f.val, 2, extraOf);
    T.dispose(warm.params);
    T.disposeState(warm.state);
    const before = tf.memory().numTensors;
    const r = train(opt, params, f.batches, f.val, 6, extraOf);
    expect(r.reports.every((x) => Number.isFinite(x.rho))).toBe(true);
    // LookSAM (k = 2) defers tangents past its in-between steps: ρ is updated every other step.
    expect(r.reports.filter((x) => x.updated).length).toBe(name === 'lookSam' ? 3 : 5);
    const hg = r.reports.filter((x) => x.updated).map((x) => x.hypergradient as number);
    expect(hg.every(Number.isFinite)).toBe(true);
    expect(hg.some((h) => h !== 0)).toBe(true);
    expect(r.rho).not.toBe(rho0);
    T.dispose(r.params);
    T.disposeState(r.state);
    expect(tf.memory().numTensors).toBe(before);
    T.dispose(params);
    release(f);
  });
});

describe('lets: schedule, cost, clamping, errors', () => {
  const counting = (b: Batch) => {
    let calls = 0;
    const g = gradOf(lossOf(b));
    return { fn: (p: Params) => (calls++, g(p)), calls: () => calls };
  };

  it('updates ρ every k steps and costs one validation gradient (+1 for fd) per update', () => {
    const f = fixtures();
    const opt = lets(S.sam(sgd(0.2), { rho: 0.1 }), { estimator: 'fd', every: 3 });
    let params = T.clone(f.params);
    let state = opt.init(params);
    const perStep: { train: number; val: number; updated: boolean; evals: number }[] = [];
    for (let t = 0; t < 9; t++) {
      const b = f.batches[t % 4]!;
      const inp = stepInputs(params, b);
      const tr = counting(b);
      const vl = counting(f.val);
      const [u, next] = opt.update(inp.grads, state, params, { ...inp.extra, gradFn: tr.fn, valGradFn: vl.fn });
      perStep.push({ train: tr.calls(), val: vl.calls(), updated: next.report!.updated, evals: next.report!.gradEvals });
      const p2 = applyUpdates(params, u);
      [u, inp.grads, params].forEach(T.dispose);
      inp.loss.dispose();
      T.disposeState(state);
      params = p2;
      state = next;
    }
    // ρ is updated at steps 3 and 6 (tangents computed at steps 2, 5, 8).
    expect(perStep.map((s) => s.updated)).toEqual([false, false, false, true, false, false, true, false, false]);
    // Train-batch gradient calls: SAM's perturbed pass, +1 ('fd') on tangent steps; the clean one is the caller's.
    expect(perStep.map((s) => s.train)).toEqual([1, 1, 2, 1, 1, 2, 1, 1, 2]);
    expect(perStep.map((s) => s.val)).toEqual([0, 0, 0, 1, 0, 0, 1, 0, 0]);
    // Reported evaluations count the clean pass too.
    expect(perStep.map((s) => s.evals)).toEqual(perStep.map((s) => 1 + s.train + s.val));
    T.dispose(params);
    T.disposeState(state);
    release(f);
  });

  it('LookSAM with its default k = 5 and the default every = 5 still learns ρ (deferred tangents)', () => {
    const f = fixtures();
    const r = train(lets(S.lookSam(sgd(0.2), { rho: 0.1 }), { rhoOptimizer: sgd(50) }), f.params, f.batches, f.val, 12);
    // LookSAM's SAM steps are 0, 5, 10: tangents due at 4 and 9 are taken at 5 and 10, ρ updated at 6 and 11.
    expect(r.reports.map((x) => x.updated)).toEqual([false, false, false, false, false, false, true, false, false, false, false, true]);
    expect(r.rho).not.toBe(0.1);
    T.dispose(r.params);
    T.disposeState(r.state);
    release(f);
  });

  it('GSAM with ρ tied to a learning rate that decays to 0: learns the multiplier, survives ρ_t = 0', () => {
    const f = fixtures();
    const lr = linear({ init: 0.2, end: 0, transitionSteps: 6 });
    const r = train(lets(S.gsam(sgd(lr), { rho: 0.1, lr }), { every: 1, rhoOptimizer: sgd(20) }), f.params, f.batches, f.val, 8);
    // ρ_t = scale_t · 0.1 · lr(t)/0.2: the ratio to the schedule is the learned multiplier, which moves.
    const scales = r.reports.map((x, t) => x.rho / (0.1 * (lr(t) / 0.2)));
    expect(scales[0]).toBeCloseTo(1, 12);
    expect(scales.slice(0, 6).some((x) => Math.abs(x - 1) > 1e-3)).toBe(true);
    expect(r.reports[6].rho).toBe(0);
    expect(r.reports[7].rho).toBe(0);
    T.dispose(r.params);
    T.disposeState(r.state);
    release(f);
  });

  it('clamps ρ to [rhoMin, rhoMax] and keeps the state serializable', () => {
    const f = fixtures();
    // A ρ optimizer whose update is a constant ±10 on log ρ: ρ·e^{±10} must land on a bound.
    const constant = (d: number): GradientTransformation<Record<string, never>> => ({
      init: () => ({}),
      update: (g) => [T.map((x) => tf.fill(x.shape, d))(g), {}] as const,
    });
    const upOpt = lets(S.sam(sgd(0.2), { rho: 0.1 }), { every: 1, rhoOptimizer: constant(10), rhoMax: 0.3 });
    const up = train(upOpt, f.params, f.batches, f.val, 3);
    const down = train(lets(S.sam(sgd(0.2), { rho: 0.1 }), { every: 1, rhoOptimizer: constant(-10), rhoMin: 0.01 }), f.params, f.batches, f.val, 3);
    expect(up.rho).toBe(0.3);
    expect(down.rho).toBe(0.01);
    expect(up.reports.map((r) => r.rho)).toEqual([0.1, 0.3, 0.3]);
    const { manifest, data } = T.serializeState(up.state);
    const back = T.deserializeState(manifest, data);
    expect(back._tag).toBe('Right');
    if (back._tag === 'Right') {
      expect(upOpt.metrics(back.right as any).rho).toBe(0.3);
      T.disposeState(back.right);
    }
    [up, down].forEach((r) => {
      T.dispose(r.params);
      T.disposeState(r.state);
    });
    release(f);
  });

  it('fails early, naming what is missing or wrong', () => {
    const variant = S.sam(sgd(0.1));
    expect(() => lets(variant, { every: 0 })).toThrow(/every must be an integer ≥ 1/);
    expect(() => lets(variant, { rhoMin: 0 })).toThrow(/rhoMin/);
    expect(() => lets(variant, { rhoMin: 1, rhoMax: 0.5 })).toThrow(/rhoMax/);
    expect(() => lets(variant, { estimator: 'newton' as never })).toThrow(/unknown estimator/);
    const f = fixtures();
    const opt = lets(variant, { every: 1, estimator: 'exact' });
    let state = opt.init(f.params);
    const inp = stepInputs(f.params, f.batches[0]!);
    const { lossFn: _drop, ...noLossFn } = inp.extra;
    expect(() => opt.update(inp.grads, state, f.params, noLossFn)).toThrow(/lossFn/);
    const [u, next] = opt.update(inp.grads, state, f.params, inp.extra);
    T.dispose(u);
    T.disposeState(state);
    state = next;
    // The next step updates ρ and has no validation closure.
    expect(() => opt.update(inp.grads, state, f.params, inp.extra)).toThrow(/extra\.valGradFn/);
    T.disposeState(state);
    T.dispose(inp.grads);
    inp.loss.dispose();
    release(f);
  });
});
