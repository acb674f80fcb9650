/**
 * The wrapper's contract: zero gradients, gradient-evaluation counts, memory, model state,
 * ρ ownership (schedules, withRho), errors, and the step's descent (the map g_p ↦ updates).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as T from '@lets/tree';
import type { Params } from '@lets/tree';
import { adam, sgd, type GradFn } from '@lets/optim';
import { W0, expectBitEqual, expectClose, hadd, hgrad, hmap, hscale, hunit, quadratic, runSteps, setup, toHost, toTree, type HostTree } from './test-util';
import {
  asam, esam, fisherSam, friendlySam, gam, gsam, lookSam, msam, randomSam, sam, samOn, stableSam, vasso,
} from './presets';
import { withRho } from './sharpnessAware';
import type { SamExtra, SamTransformation } from './types';

beforeAll(setup);

const outer = () => sgd(0.05, { momentum: 0.9, weightDecay: 1e-3 });

/** Every preset with the extras it needs (micro-batch functions, per-sample losses). */
const VARIANTS: Record<string, () => SamTransformation<any>> = {
  sam: () => sam(outer()),
  asam: () => asam(outer()),
  fisherSam: () => fisherSam(outer()),
  gsam: () => gsam(outer()),
  esam: () => esam(outer()),
  samOn: () => samOn(outer()),
  vasso: () => vasso(outer()),
  friendlySam: () => friendlySam(outer()),
  lookSam: () => lookSam(outer(), { k: 3 }),
  msam: () => msam(outer(), { microBatches: 3 }),
  gam: () => gam(outer()),
  randomSam: () => randomSam(outer()),
  stableSam: () => stableSam(outer()),
};

/**
 * Gradient evaluations per step, counting the caller's clean one: the table in docs/sam.md.
 * LookSAM (k = 3 here) takes 2 on steps 0, 3, 6, ... and 1 otherwise; mSAM 1 + 2M (M = 3).
 */
const EVALS: Record<string, (t: number) => number> = {
  sam: () => 2, asam: () => 2, fisherSam: () => 2, gsam: () => 2, esam: () => 2, samOn: () => 2,
  vasso: () => 2, friendlySam: () => 2, lookSam: (t) => (t % 3 === 0 ? 2 : 1), msam: () => 1 + 2 * 3,
  gam: () => 4, randomSam: () => 3, stableSam: () => 2,
};

/** Extras for `gradFn`, counting every gradient evaluation any of them makes. */
const extrasFor = (gradFn: GradFn, count: () => void): SamExtra => {
  const counted: GradFn = (p) => {
    count();
    return gradFn(p);
  };
  return {
    gradFn: counted,
    microGradFns: [counted, counted, counted],
    // four "samples" whose losses are multiples of the batch loss: enough to exercise the selection
    sampleLossFn: (p: Params) => {
      const r = gradFn(p);
      T.dispose(r.grads);
      const l = tf.tidy(() => tf.mul(r.loss, tf.tensor1d([1, 3, 2, 0.5])) as tf.Tensor1D);
      r.loss.dispose();
      return l;
    },
    subsetGradFn: (p: Params, idx: tf.Tensor1D) => {
      expect(idx.size).toBe(2); // ⌊γB⌋ = ⌊0.5·4⌋
      return counted(p);
    },
  };
};

describe('a zero gradient gives ε = 0 and a finite update, for every variant', () => {
  // a constant loss: g = 0 at every point (also at Random SAM's smoothed point)
  const zeroGradFn: GradFn = (p) => ({
    loss: tf.scalar(1),
    grads: T.zerosLike(p),
  });
  it.each(Object.keys(VARIANTS))('%s', (name) => {
    const opt = VARIANTS[name]!();
    const params = toTree(W0);
    let state = opt.init(params);
    const extra = extrasFor(zeroGradFn, () => undefined);
    for (let t = 0; t < 3; t++) {
      const g = T.zerosLike(params);
      const s = opt.step(g, state, params, extra);
      for (const v of Object.values(toHost(s.direction))) for (const x of v) expect(x).toBe(0);
      for (const v of Object.values(toHost(s.updates))) for (const x of v) expect(Number.isFinite(x)).toBe(true);
      const r = s.state.report!;
      expect(r.epsNorm.dataSync()[0]).toBe(0);
      expect(Number.isFinite(r.cosine.dataSync()[0]!)).toBe(true);
      [g, s.updates, s.direction, s.perturbedGrads].forEach(T.dispose);
      T.disposeState(state);
      state = s.state;
    }
    T.disposeState(state);
    T.dispose(params);
  });
});

describe('gradient evaluations per step match the table in the docs', () => {
  it.each(Object.keys(VARIANTS))('%s', (name) => {
    const q = quadratic();
    let calls = 1;
    const extra = extrasFor(q.gradFn, () => {
      calls += 1;
    });
    const opt = VARIANTS[name]!();
    let params = toTree(W0);
    let state = opt.init(params);
    for (let t = 0; t < 7; t++) {
      calls = 1; // the caller's clean pass
      const clean = q.gradFn(params);
      const [u, next] = opt.update(clean.grads, state, params, { ...extra, loss: clean.loss });
      expect([t, calls]).toEqual([t, EVALS[name]!(t)]);
      expect([t, next.report!.gradEvals]).toEqual([t, EVALS[name]!(t)]);
      const p2 = T.add(params, u);
      [u, clean.grads, params].forEach(T.dispose);
      clean.loss.dispose();
      T.disposeState(state);
      params = p2;
      state = next;
    }
    T.dispose(params);
    T.disposeState(state);
    q.dispose();
  });
});

describe('no tensor leaks over many steps', () => {
  it.each(Object.keys(VARIANTS))('%s (update and step)', (name) => {
    const start = tf.memory().numTensors;
    const q = quadratic();
    const extra = extrasFor(q.gradFn, () => undefined);
    const opt = VARIANTS[name]!();
    const before = tf.memory().numTensors;
    runSteps(opt, 25, q.gradFn, extra as Record<string, unknown>);
    expect(tf.memory().numTensors).toBe(before);
    // step() with everything it returns disposed, including what its descent returns
    const params = toTree(W0);
    let state = opt.init(params);
    const mid = tf.memory().numTensors;
    for (let t = 0; t < 10; t++) {
      const clean = q.gradFn(params);
      const s = opt.step(clean.grads, state, params, { ...extra, loss: clean.loss });
      const [tan, tanState] = s.descent.update(s.perturbedGrads, state.outer, params, extra);
      [tan, s.updates, s.direction, s.perturbedGrads, clean.grads].forEach(T.dispose);
      T.disposeState(tanState);
      clean.loss.dispose();
      T.disposeState(state);
      state = s.state;
      if (t === 4) expect(tf.memory().numTensors).toBeGreaterThan(mid - 1);
    }
    T.disposeState(state);
    T.dispose(params);
    expect(tf.memory().numTensors).toBe(before);
    q.dispose();
    expect(tf.memory().numTensors).toBe(start);
  });
});

describe('model state: the perturbed pass’s is discarded, the clean pass’s kept', () => {
  it('a running-mean (BatchNorm-like) state after one SAM step equals the clean pass’s', () => {
    // model: z = x·w, batch-normalized by the batch mean; running mean r ← 0.9 r + 0.1 mean(z)
    const X = [[1, 2], [0.5, -1], [-2, 0.3], [1.5, 0.7]];
    const Y = [0.3, -0.2, 0.8, 0.1];
    const x = tf.tensor2d(X);
    const y = tf.tensor1d(Y);
    const r0 = 0.25;
    let running = tf.scalar(r0);
    const produced: tf.Tensor[] = [];
    const gradFn: GradFn = (p) => {
      const f = (w: tf.Tensor) =>
        tf.tidy(() => {
          const z = tf.squeeze(tf.matMul(x, tf.reshape(w, [2, 1])), [1]);
          return tf.mean(tf.square(tf.sub(tf.sub(z, tf.mean(z)), y))) as tf.Scalar;
        });
      const { value, grads } = tf.valueAndGrads(f)([p.w as tf.Tensor]);
      const mean = tf.tidy(() => tf.mean(tf.squeeze(tf.matMul(x, tf.reshape(p.w as tf.Tensor, [2, 1])), [1])));
      const next = tf.tidy(() => tf.add(tf.mul(running, 0.9), tf.mul(mean, 0.1)));
      mean.dispose();
      produced.push(next);
      return { loss: value, grads: { w: grads[0] as tf.Tensor }, state: { 'bn/runningMean': next } };
    };
    const w0 = [0.7, -0.4];
    const params = { w: tf.tensor1d(w0) };
    const opt = sam(sgd(0.1), { rho: 0.5 });
    const state = opt.init(params);
    const clean = gradFn(params); // the caller's clean pass: its state is the one to keep
    const [u, next] = opt.update(clean.grads, state, params, { gradFn, loss: clean.loss });
    // one perturbed pass ran, its state was disposed by the wrapper
    expect(produced.length).toBe(2);
    expect(produced[1]!.isDisposed).toBe(true);
    expect(produced[0]!.isDisposed).toBe(false);
    // the kept state is the clean pass's, by hand: 0.9 r0 + 0.1 mean(x·w0)
    const zMean = X.reduce((s, row) => s + row[0]! * w0[0]! + row[1]! * w0[1]!, 0) / X.length;
    const kept = clean.state!['bn/runningMean']!.dataSync()[0]!;
    expect(kept).toBeCloseTo(0.9 * r0 + 0.1 * zMean, 6);
    running.dispose();
    running = clean.state!['bn/runningMean'] as tf.Scalar;
    [x, y, clean.loss].forEach((t) => t.dispose());
    [u, params, clean.grads].forEach(T.dispose);
    T.disposeState(next);
    T.disposeState(state);
    running.dispose();
  });
});

describe('ρ belongs to the wrapper', () => {
  it('a schedule counted in outer steps, rescaled by withRho; metrics(state).rho reads it', () => {
    const schedule = (t: number) => 0.1 / (1 + t);
    const opt = sam(sgd(0.1), { rho: schedule });
    const q = quadratic();
    const params = toTree(W0);
    let state = opt.init(params);
    expect(opt.metrics(state).rho).toBe(0.1);
    const step = () => {
      const clean = q.gradFn(params);
      const s = opt.step(clean.grads, state, params, { gradFn: q.gradFn });
      const used = s.rho;
      const eps = toHost(T.scaleBy(s.direction, 1));
      [s.updates, s.direction, s.perturbedGrads, clean.grads].forEach(T.dispose);
      clean.loss.dispose();
      T.disposeState(state);
      state = s.state;
      return { used, eps };
    };
    expect(step().used).toBe(0.1);
    expect(opt.metrics(state).rho).toBe(schedule(1));
    state = withRho(state, 0.2); // 4× the schedule's 0.05
    expect(state.rhoScale).toBeCloseTo(4, 12);
    const s1 = step();
    expect(s1.used).toBe(0.2);
    expect(opt.metrics(state).rho).toBeCloseTo(4 * schedule(2), 12);
    // the perturbation really used ρ = 0.2: ‖ε‖ = 0.2 for SAM
    expect(state.report!.epsNorm.dataSync()[0]).toBeCloseTo(0.2, 6);
    expect(() => withRho(state, -1)).toThrow(/withRho: rho must be a finite number ≥ 0/);
    expect(() => withRho(state, NaN)).toThrow(/withRho/);
    const zero = withRho(state, 0);
    expect(() => withRho(zero, 0.1)).toThrow(/current rho is 0/);
    T.disposeState(state);
    T.dispose(params);
    q.dispose();
  });

  it('needs extra.gradFn when ρ > 0 (and says so), not when ρ = 0', () => {
    const params = toTree(W0);
    const g = toTree(hgrad(W0));
    const opt = sam(sgd(0.1), { rho: 0.05 });
    const state = opt.init(params);
    expect(() => opt.update(g, state, params, {})).toThrow(/extra\.gradFn/);
    const zero = sam(sgd(0.1), { rho: 0 });
    const s0 = zero.init(params);
    const [u, s1] = zero.update(g, s0, params, {});
    expectClose(u, hscale(hgrad(W0), -0.1));
    expect(() => sam(sgd(0.1), { rho: -1 })).toThrow(/rho at step 0 is -1/);
    const m2 = msam(sgd(0.1), { rho: 0.1, microBatches: 2 });
    const ms = m2.init(params);
    expect(() => m2.update(g, ms, params, { gradFn: () => { throw new Error('not reached'); } })).toThrow(/extra\.microGradFns/);
    T.disposeState(ms);
    [u, params, g].forEach(T.dispose);
    [state, s0, s1].forEach(T.disposeState);
  });
});

describe('descent: the rest of the step as an ordinary transform of g_p', () => {
  it.each(['sam', 'gsam', 'stableSam', 'asam', 'esam'])('%s: descent(g_p) from the input outer state gives the step’s updates bit for bit', (name) => {
    const q = quadratic();
    const extra = extrasFor(q.gradFn, () => undefined);
    const opt = VARIANTS[name]!();
    let params = toTree(W0);
    let state = opt.init(params);
    for (let t = 0; t < 3; t++) {
      const clean = q.gradFn(params);
      const s = opt.step(clean.grads, state, params, { ...extra, loss: clean.loss });
      const [u, st] = s.descent.update(s.perturbedGrads, state.outer, params, extra);
      expectBitEqual(u, s.updates);
      const p2 = T.add(params, s.updates);
      [u, s.updates, s.direction, s.perturbedGrads, clean.grads, params].forEach(T.dispose);
      T.disposeState(st);
      clean.loss.dispose();
      T.disposeState(state);
      state = s.state;
      params = p2;
    }
    T.dispose(params);
    T.disposeState(state);
    q.dispose();
  });
  it('checks the structure of g_p', () => {
    const q = quadratic();
    const opt = sam(sgd(0.1), { rho: 0.1 });
    const params = toTree(W0);
    const state = opt.init(params);
    const clean = q.gradFn(params);
    const s = opt.step(clean.grads, state, params, { gradFn: q.gradFn });
    const { ['bn/gamma']: _drop, ...partial } = s.perturbedGrads;
    expect(() => s.descent.update(partial, state.outer, params, {})).toThrow(/sam: descent's g_p and params/);
    [s.updates, s.direction, s.perturbedGrads, clean.grads, params].forEach(T.dispose);
    clean.loss.dispose();
    [state, s.state].forEach(T.disposeState);
    q.dispose();
  });
});

describe('state is plain data: a checkpoint restores the run bit for bit', () => {
  it.each(['vasso', 'esam', 'lookSam', 'randomSam', 'gsam'])('%s', (name) => {
    const q = quadratic();
    const extra = extrasFor(q.gradFn, () => undefined);
    const opt = VARIANTS[name]!();
    const stepOnce = (params: Params, state: any) => {
      const clean = q.gradFn(params);
      const [u, next] = opt.update(clean.grads, state, params, { ...extra, loss: clean.loss });
      const p2 = T.add(params, u);
      [u, clean.grads].forEach(T.dispose);
      clean.loss.dispose();
      return [p2, next] as const;
    };
    let params = toTree(W0);
    let state: any = opt.init(params);
    for (let t = 0; t < 4; t++) {
      const [p2, next] = stepOnce(params, state);
      T.dispose(params);
      T.disposeState(state);
      [params, state] = [p2, next];
    }
    const { manifest, data } = T.serializeState({ params, state });
    const restored = T.deserializeState(JSON.parse(JSON.stringify(manifest)), data);
    if (restored._tag === 'Left') throw restored.left;
    let { params: rp, state: rs } = restored.right as { params: Params; state: any };
    expect(rs.count).toBe(4);
    expect(rs.perturbation).toBeDefined();
    for (let t = 0; t < 4; t++) {
      const [a, an] = stepOnce(params, state);
      const [b, bn] = stepOnce(rp, rs);
      expect(toHost(a)).toEqual(toHost(b));
      [params, rp].forEach(T.dispose);
      [state, rs].forEach(T.disposeState);
      [params, state, rp, rs] = [a, an, b, bn];
    }
    [params, rp].forEach(T.dispose);
    [state, rs].forEach(T.disposeState);
    q.dispose();
  });
});

it('a step that fails (a missing extra input) leaks nothing and leaves the old state alone', () => {
  const params = toTree(W0);
  const g = toTree(hgrad(W0));
  const opt = msam(sgd(0.1), { rho: 0.1, microBatches: 2 });
  const s0 = opt.init(params);
  const before = tf.memory().numTensors;
  expect(() => opt.update(g, s0, params, { gradFn: () => { throw new Error('not reached'); } })).toThrow(/microGradFns/);
  expect(tf.memory().numTensors).toBe(before);
  const v = vasso(sgd(0.1), { rho: 0.1 });
  const vs = v.init(params);
  const before2 = tf.memory().numTensors;
  expect(() => v.update(g, vs, params, {})).toThrow(/extra\.gradFn/);
  expect(tf.memory().numTensors).toBe(before2);
  expect(T.tensorsOf(vs).every((t) => !t.isDisposed)).toBe(true);
  [params, g].forEach(T.dispose);
  [s0, vs].forEach(T.disposeState);
});
