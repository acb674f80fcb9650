/**
 * ρ learned over a span of the run, then held (`totalSteps`, `rhoLrSpan`, `holdAfter`).
 *
 * The reference for every case is the same LETS without the hold, whose ρ optimizer's rate is
 * cosine-decayed to exactly 0 after the span (what `lets train` ran before the hold existed):
 * holding must give the same ρ and the same parameters bit for bit, and only save the work.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as T from '@lets/tree';
import type { Params } from '@lets/tree';
import { adam, applyUpdates, cosineDecay, sgd, type GradFn, type GradientTransformation, type LossFn } from '@lets/optim';
import { sam } from '@lets/sam';
import { DEFAULT_RHO_LR, DEFAULT_RHO_LR_SPAN, learningUpdates, lets, type LetsOptions, type LetsReport } from './lets';
import { disposeBatch, gradOf, lossOf, makeBatch, mlpInit, setupCpu } from './test-util';

beforeAll(setupCpu);

describe('learningUpdates', () => {
  it('is round(span · max(1, ⌊totalSteps / every⌋)), at least 1 (worked by hand)', () => {
    expect(DEFAULT_RHO_LR_SPAN).toBe(0.3);
    expect(learningUpdates(852, 5)).toBe(51); // the noisy study: 170 updates, 0.3 of them
    expect(learningUpdates(855, 5, 0.3)).toBe(51); // 171 · 0.3 = 51.3
    expect(learningUpdates(40, 2, 0.3)).toBe(6);
    expect(learningUpdates(10, 5, 0.3)).toBe(1); // round(0.6)
    expect(learningUpdates(3, 5, 0.3)).toBe(1); // a run shorter than one update still learns once
    expect(learningUpdates(100, 1, 1)).toBe(100);
  });
  it('rejects bad input, naming it', () => {
    expect(() => learningUpdates(0, 5)).toThrow('learningUpdates: totalSteps must be an integer ≥ 1, got 0');
    expect(() => learningUpdates(10, 0)).toThrow('learningUpdates: every must be an integer ≥ 1, got 0');
    expect(() => learningUpdates(10, 5, 0)).toThrow('learningUpdates: span must be a number in (0, 1], got 0');
    expect(() => learningUpdates(10, 5, 1.5)).toThrow('learningUpdates: span must be a number in (0, 1], got 1.5');
  });
});

describe('lets options of the hold', () => {
  const v = () => sam(sgd(0.1), { rho: 0.05 });
  it('rejects bad values, naming the option and what was expected', () => {
    expect(() => lets(v(), { totalSteps: 0 })).toThrow("lets: totalSteps must be an integer ≥ 1 (the run's length in steps), got 0");
    expect(() => lets(v(), { totalSteps: 2.5 })).toThrow('lets: totalSteps must be an integer ≥ 1');
    expect(() => lets(v(), { totalSteps: 100, rhoLrSpan: 0 })).toThrow("lets: rhoLrSpan must be a number in (0, 1] (a fraction of the run's ρ updates), got 0");
    expect(() => lets(v(), { rhoLrSpan: 0.5 })).toThrow('lets: rhoLrSpan is a fraction of the run, so it needs totalSteps');
    expect(() => lets(v(), { holdAfter: 0 })).toThrow('lets: holdAfter must be an integer ≥ 1 (ρ updates) or Infinity, got 0');
  });
});

interface Trace {
  readonly rhos: number[];
  readonly reports: LetsReport[];
  readonly params: Float32Array;
  readonly valCalls: number;
}

/** A softplus MLP on a fixed teacher, validating on shifted labels: `steps` LETS-SAM steps. */
const mlpRun = (o: LetsOptions, steps: number): Trace => {
  const b = makeBatch(32, 6, 3, 11);
  const vb = makeBatch(32, 6, 3, 12, 1);
  const lossFn = lossOf(b);
  const gradFn = gradOf(lossFn);
  const valGrad = gradOf(lossOf(vb));
  let valCalls = 0;
  const valGradFn: GradFn = (p) => {
    valCalls += 1;
    return valGrad(p);
  };
  const opt = lets(sam(sgd(0.2, { momentum: 0.9 }), { rho: 0.05 }), { estimator: 'fd', ...o });
  let params: Params = mlpInit(6, 8, 3, 5);
  let state = opt.init(params);
  const rhos = [opt.metrics(state).rho];
  const reports: LetsReport[] = [];
  for (let t = 0; t < steps; t++) {
    const clean = gradFn(params);
    const [u, next] = opt.update(clean.grads, state, params, { loss: clean.loss, gradFn, lossFn, valGradFn });
    const p2 = applyUpdates(params, u);
    [u, clean.grads, params].forEach(T.dispose);
    clean.loss.dispose();
    T.disposeState(state);
    params = p2;
    state = next;
    rhos.push(opt.metrics(state).rho);
    reports.push(next.report as LetsReport);
  }
  const flat = tf.tidy(() => tf.concat(Object.keys(params).sort().map((k) => tf.reshape(params[k]!, [-1]))));
  const out = flat.dataSync() as Float32Array;
  flat.dispose();
  T.dispose(params);
  T.disposeState(state);
  disposeBatch(b);
  disposeBatch(vb);
  return { rhos, reports, params: out, valCalls };
};

describe('hold after the learning span', () => {
  it('totalSteps: the same ρ and parameters as a rate cosine-decayed to 0 there, bit for bit, without the tangents and validation passes after it', () => {
    const before = tf.memory().numTensors;
    // 40 steps, ρ updated every 2: 20 updates, learned over round(0.3 · 20) = 6.
    const held = mlpRun({ every: 2, totalSteps: 40 }, 40);
    const ref = mlpRun({ every: 2, rhoOptimizer: adam(cosineDecay(DEFAULT_RHO_LR, 6)) }, 40);
    expect(tf.memory().numTensors).toBe(before);
    expect(held.rhos).toEqual(ref.rhos);
    expect(Buffer.from(held.params.buffer).equals(Buffer.from(ref.params.buffer))).toBe(true);
    // ρ moved over the span (it is learned) and not after it.
    const updates = held.reports.map((r, i) => (r.updated ? i : -1)).filter((i) => i >= 0);
    expect(updates).toEqual([2, 4, 6, 8, 10, 12]);
    expect(new Set(held.rhos.slice(0, 14)).size).toBeGreaterThan(3);
    expect(new Set(held.rhos.slice(13)).size).toBe(1);
    // The reference kept paying for 19 validation passes; the hold stops after the 6 it uses.
    expect(ref.valCalls).toBe(19);
    expect(held.valCalls).toBe(6);
    // Held from the 6th update on: the step costs what SAM's does (2 gradient evaluations).
    expect(held.reports.slice(0, 12).every((r) => r.held === undefined)).toBe(true);
    // Held from the 6th update (step 12, which still pays its validation pass) on: each step then
    // costs what SAM's does (2 gradient evaluations); without the hold every step paid 3.
    expect(held.reports[12]).toMatchObject({ updated: true, held: true, gradEvals: 3 });
    expect(held.reports.slice(13).every((r) => r.held === true && r.gradEvals === 2)).toBe(true);
    expect(ref.reports.slice(13).every((r) => r.gradEvals === 3)).toBe(true);
  });

  it('rhoLrSpan 1: learned over the whole run, so nothing is held before its last update', () => {
    const r = mlpRun({ every: 2, totalSteps: 20, rhoLrSpan: 1 }, 20);
    expect(r.reports.filter((x) => x.updated).length).toBe(9);
    expect(r.reports.slice(0, 18).every((x) => x.held === undefined)).toBe(true);
  });

  it('holdAfter with a user ρ optimizer: held after that many updates', () => {
    const r = mlpRun({ every: 1, rhoOptimizer: sgd(0.5), holdAfter: 3 }, 10);
    expect(r.valCalls).toBe(3);
    expect(new Set(r.rhos.slice(4)).size).toBe(1);
    expect(new Set(r.rhos.slice(0, 5)).size).toBeGreaterThan(1);
  });
});

// The stall guard's constructed case (guard.test.ts): L = ½(w₁² + 100 w₂²), the loss the guard
// sees is given, so a stall can be made to start after the span.
const bowl: LossFn = (p: Params) => tf.tidy(() => tf.mul(0.5, tf.sum(tf.mul(tf.tensor1d([1, 100]), tf.square(p['w']!)))) as tf.Scalar);
const shifted: LossFn = (p: Params) => tf.tidy(() => tf.mul(0.5, tf.sum(tf.square(tf.sub(p['w']!, 0.5)))) as tf.Scalar);
const bowlRun = (outer: GradientTransformation<any>, o: LetsOptions, steps: number, reported: (t: number) => number) => {
  const gradFn = gradOf(bowl);
  const valGradFn = gradOf(shifted);
  const opt = lets(sam(outer, { rho: 0.05 }), { estimator: 'exact', every: 1, ...o });
  let params: Params = { w: tf.tensor1d([1, 0.01]) };
  let state = opt.init(params);
  const rhos = [opt.metrics(state).rho];
  const reports: LetsReport[] = [];
  for (let t = 0; t < steps; t++) {
    const clean = gradFn(params);
    const loss = tf.scalar(reported(t));
    const [u, next] = opt.update(clean.grads, state, params, { loss, gradFn, valGradFn, lossFn: bowl });
    loss.dispose();
    const p2 = applyUpdates(params, u);
    [u, clean.grads, params].forEach(T.dispose);
    clean.loss.dispose();
    T.disposeState(state);
    params = p2;
    state = next;
    rhos.push(opt.metrics(state).rho);
    reports.push(next.report as LetsReport);
  }
  T.dispose(params);
  T.disposeState(state);
  return { rhos, reports };
};

describe('the stall guard while ρ is held', () => {
  it('a stall that starts after the span resets the ρ optimizer and walks ρ down, as without the hold, bit for bit', () => {
    const before = tf.memory().numTensors;
    // Trained by step 2 (loss 0.01), a stall from step 14 (β = 0: L̄ is the last loss); 20 updates, span 6.
    const reported = (t: number) => (t < 2 ? 1 : t < 14 ? 0.01 : 0.8);
    const guard = { beta: 0, minCosine: 0, startPatience: 1000 };
    const held = bowlRun(sgd(0), { totalSteps: 20, stallGuard: guard }, 20, reported);
    const ref = bowlRun(sgd(0), { rhoOptimizer: adam(cosineDecay(DEFAULT_RHO_LR, 6)), stallGuard: guard }, 20, reported);
    expect(tf.memory().numTensors).toBe(before);
    expect(held.rhos).toEqual(ref.rhos);
    // Held before the stall (steps 7–13), learning again from the stall on: ρ walks down.
    expect(held.reports.slice(7, 14).every((r) => r.held === true)).toBe(true);
    expect(held.reports[14]!.stalled).toBe(true);
    expect(held.reports[14]!.updated).toBe(true);
    expect(held.reports[14]!.held).toBeUndefined();
    expect(held.rhos[16]!).toBeLessThan(held.rhos[14]!);
    expect(held.rhos[14]).toBe(held.rhos[8]);
  });
});
