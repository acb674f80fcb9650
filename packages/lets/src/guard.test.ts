/**
 * The stall guard, on constructed cases with a known answer.
 *
 * Stall walk: the outer optimizer is sgd(0), so the training loss never moves from L₀ and the
 * run counts as stalled from the `patience`-th ρ update on; from then on dF/ds = +1 and Adam
 * (reset when the stall starts) moves log ρ by exactly −lr per update.
 *
 * Start guard: L = ½(w₁² + 100 w₂²) at w = (1, 0.01), so g = (1, 1), n = g/√2 and
 * g_p = g + ρ H n = (1 + ρ/√2, 1 + 100ρ/√2). cos(g, g_p) < 0.8 for ρ ∈ {0.5, 0.25, 0.125} and
 * ≥ 0.8 at 0.0625 (worked out below in float64), so ρ₀ = 0.5 halves three times and stops.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as T from '@lets/tree';
import type { Params } from '@lets/tree';
import { adam, applyUpdates, sgd, type GradFn, type GradientTransformation, type LossFn } from '@lets/optim';
import { sam } from '@lets/sam';
import { lets, type LetsOptions } from './lets';
import { gradOf, setupCpu } from './test-util';

beforeAll(setupCpu);

const bowl: LossFn = (p: Params) =>
  tf.tidy(() => {
    const w = p['w']!;
    return tf.mul(0.5, tf.sum(tf.mul(tf.tensor1d([1, 100]), tf.square(w)))) as tf.Scalar;
  });
const shifted: LossFn = (p: Params) => tf.tidy(() => tf.mul(0.5, tf.sum(tf.square(tf.sub(p['w']!, 0.5)))) as tf.Scalar);

const run = (
  outer: GradientTransformation<any>,
  o: LetsOptions,
  steps: number,
  rho = 0.5,
  reportedLoss?: (t: number) => number,
  gradScale?: (t: number) => number,
) => {
  const gradFn: GradFn = gradOf(bowl);
  const valGradFn: GradFn = gradOf(shifted);
  const opt = lets(sam(outer, { rho }), { estimator: 'exact', every: 1, ...o });
  let params: Params = { w: tf.tensor1d([1, 0.01]) };
  let state = opt.init(params);
  const rhos: number[] = [opt.metrics(state).rho];
  const reports: { stalled?: boolean; shrunk?: boolean; updated: boolean }[] = [];
  for (let t = 0; t < steps; t++) {
    const raw = gradFn(params);
    const clean = gradScale === undefined ? raw : { loss: raw.loss, grads: T.scaleBy(raw.grads, gradScale(t)) };
    if (clean !== raw) T.dispose(raw.grads);
    const loss = reportedLoss === undefined ? clean.loss : tf.scalar(reportedLoss(t));
    const [u, next] = opt.update(clean.grads, state, params, { loss, gradFn, valGradFn, lossFn: bowl });
    if (loss !== clean.loss) loss.dispose();
    const p2 = applyUpdates(params, u);
    [u, clean.grads, params].forEach(T.dispose);
    clean.loss.dispose();
    T.disposeState(state);
    params = p2;
    state = next;
    rhos.push(opt.metrics(state).rho);
    reports.push(next.report!);
  }
  T.dispose(params);
  T.disposeState(state);
  return { rhos, reports };
};

const cosAt = (rho: number): number => {
  const s = Math.SQRT1_2;
  const gp = [1 + rho * s, 1 + 100 * rho * s];
  return (gp[0]! + gp[1]!) / (Math.SQRT2 * Math.hypot(gp[0]!, gp[1]!));
};

describe('stall guard', () => {
  it('the hand-worked cosines: below 0.8 at 0.5, 0.25, 0.125; above at 0.0625', () => {
    expect([0.5, 0.25, 0.125].every((r) => cosAt(r) < 0.8)).toBe(true);
    expect(cosAt(0.0625)).toBeGreaterThanOrEqual(0.8);
  });

  it('start guard: before training starts, cos(g, g_p) < 0.8 halves ρ for the next step until it is not', () => {
    const before = tf.memory().numTensors;
    // sgd(0): no progress, so the start guard stays armed; ρ's own optimizer is frozen (lr 0).
    const { rhos, reports } = run(sgd(0), { rhoOptimizer: sgd(0), stallGuard: { startPatience: 100, retry: false } }, 6);
    expect(rhos).toEqual([0.5, 0.25, 0.125, 0.0625, 0.0625, 0.0625, 0.0625]);
    expect(reports.map((r) => r.shrunk === true)).toEqual([true, true, true, false, false, false]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('start guard with retry (the default): the incoherent step is re-taken at the shrunk ρ, so the first step already uses 0.0625', () => {
    const before = tf.memory().numTensors;
    const r = run(sgd(0.01), { rhoOptimizer: sgd(0), stallGuard: { startPatience: 100 } }, 4);
    expect(r.rhos).toEqual([0.5, 0.0625, 0.0625, 0.0625, 0.0625]);
    expect(r.reports.map((x) => x.shrunk === true)).toEqual([true, false, false, false]);
    // The step taken is the one at 0.0625: the same update as plain SAM at ρ = 0.0625.
    const gradFn = gradOf(bowl);
    const w = { w: tf.tensor1d([1, 0.01]) };
    const clean = gradFn(w);
    const opt = lets(sam(sgd(0.01), { rho: 0.5 }), { estimator: 'exact', every: 1, rhoOptimizer: sgd(0) });
    const st = opt.init(w);
    const [u, next] = opt.update(clean.grads, st, w, { loss: clean.loss, gradFn, valGradFn: gradOf(shifted), lossFn: bowl });
    const ref = sam(sgd(0.01), { rho: 0.0625 });
    const rs = ref.init(w);
    const [ur, nr] = ref.update(clean.grads, rs, w, { loss: clean.loss, gradFn });
    expect(Array.from(u['w']!.dataSync())).toEqual(Array.from(ur['w']!.dataSync()));
    // Three retries: the clean pass, four perturbed passes, and the tangent's exact HVP.
    expect(next.report!.gradEvals).toBeGreaterThanOrEqual(5);
    [u, ur, w, clean.grads].forEach(T.dispose);
    clean.loss.dispose();
    [st, next, rs, nr].forEach(T.disposeState);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('start guard: a run still not started after startPatience steps halves ρ at every further step', () => {
    const { rhos, reports } = run(sgd(0), { rhoOptimizer: sgd(0), stallGuard: { startPatience: 5, maxShrinks: Infinity, retry: false } }, 8);
    // cos < 0.8 halves at steps 1–3; steps 4 and 5 keep ρ; from the 6th step on, patience halves.
    expect(rhos).toEqual([0.5, 0.25, 0.125, 0.0625, 0.0625, 0.0625, 0.03125, 0.015625, 0.0078125]);
    expect(reports.map((r) => r.shrunk === true)).toEqual([true, true, true, false, false, true, true, true]);
  });

  it('start guard: a loss a little below L₀ with a collapsed gradient is a collapse, not a start', () => {
    // cos ≥ 0.8 at ρ₀ = 0.05 (0.847 by hand), so only the collapse rule can act: from step 2 the
    // loss is 6 % below L₀ (past the 5 % margin) but ‖g‖ is 0.1·‖g₀‖ (< 0.25), so ρ halves each step.
    expect(cosAt(0.05)).toBeGreaterThan(0.8);
    const { rhos, reports } = run(sgd(0), { rhoOptimizer: sgd(0) }, 5, 0.05, (t) => (t < 2 ? 1 : 0.94), (t) => (t < 2 ? 1 : 0.1));
    expect(reports.map((r) => r.shrunk === true)).toEqual([false, false, true, true, true]);
    expect(rhos[rhos.length - 1]).toBeCloseTo(0.05 / 8, 12);
    // The same losses with a healthy gradient are a start: nothing shrinks.
    const healthy = run(sgd(0), { rhoOptimizer: sgd(0) }, 5, 0.05, (t) => (t < 2 ? 1 : 0.94));
    expect(healthy.reports.every((r) => r.shrunk !== true)).toBe(true);
  });

  it('start guard: a loss only 3 % below L₀ (a collapse to the label entropy looks like that) is no start at the default margin', () => {
    // Step 2: the loss is 3 % below L₀ with a healthy gradient and a coherent ascent (cos 0.847 at
    // ρ = 0.05); from step 3 the gradient collapses. Margin 0.05: step 2 is no start, so the
    // collapse halves ρ; at margin 0.02 (the earlier default) step 2 counts as the start and the
    // guard is disarmed before the collapse shows.
    const collapsed = (t: number) => (t < 2 ? 1 : 0.1);
    const loss = (t: number) => (t < 1 ? 1 : 0.97);
    const d = run(sgd(0), { rhoOptimizer: sgd(0) }, 5, 0.05, loss, collapsed);
    expect(d.reports.map((r) => r.shrunk === true)).toEqual([false, false, true, true, true]);
    const old = run(sgd(0), { rhoOptimizer: sgd(0), stallGuard: { margin: 0.02 } }, 5, 0.05, loss, collapsed);
    expect(old.reports.map((r) => r.shrunk === true)).toEqual([false, false, false, false, false]);
  });

  it('start guard: at most maxShrinks halvings (default 5), however long the collapse lasts', () => {
    const collapsed = (t: number) => (t < 1 ? 1 : 0.1);
    const d = run(sgd(0), { rhoOptimizer: sgd(0) }, 12, 0.05, () => 1, collapsed);
    expect(d.reports.filter((r) => r.shrunk === true).length).toBe(5);
    expect(d.rhos[d.rhos.length - 1]).toBeCloseTo(0.05 / 32, 12);
    const two = run(sgd(0), { rhoOptimizer: sgd(0), stallGuard: { maxShrinks: 2 } }, 12, 0.05, () => 1, collapsed);
    expect(two.rhos[two.rhos.length - 1]).toBeCloseTo(0.05 / 4, 12);
    const unbounded = run(sgd(0), { rhoOptimizer: sgd(0), stallGuard: { maxShrinks: Infinity } }, 12, 0.05, () => 1, collapsed);
    expect(unbounded.reports.filter((r) => r.shrunk === true).length).toBe(11);
    expect(() => lets(sam(sgd(0.1), { rho: 0.1 }), { stallGuard: { maxShrinks: 1.5 } })).toThrow(/stallGuard.maxShrinks/);
  });

  it('start guard disarms once the loss has fallen below (1 − margin)·L₀', () => {
    // The clean loss the caller reports: L₀ = 1 at the first two steps, then 0.94 (6 % below L₀).
    // Steps 1–2 shrink ρ (cos < 0.8 at 0.5 and 0.25); step 3 is past the margin but its ascent is
    // still incoherent (cos 0.78 at 0.125), so it shrinks too and is no start; step 4 (cos 0.83 at
    // 0.0625) starts training, and nothing shrinks after, whatever the cosine.
    const { rhos, reports } = run(sgd(0), { rhoOptimizer: sgd(0), stallGuard: { retry: false } }, 6, 0.5, (t) => (t < 2 ? 1 : 0.94));
    expect(reports.map((r) => r.shrunk === true)).toEqual([true, true, true, false, false, false]);
    expect(rhos[rhos.length - 1]).toBe(0.0625);
    // A later rise of the loss back to L₀ does not re-arm the start guard (the stall walk is for that).
    const later = run(sgd(0), { rhoOptimizer: sgd(0), stallGuard: { retry: false } }, 8, 0.5, (t) => (t < 2 || t > 5 ? 1 : 0.94));
    expect(later.reports.slice(4).every((r) => r.shrunk !== true)).toBe(true);
  });

  it('stall walk: from the patience-th update, Adam moves log ρ down by exactly lr per update', () => {
    const lr = 0.1;
    // minCosine 0 switches the start guard off here, so only the walk acts.
    const { rhos, reports } = run(sgd(0), { rhoOptimizer: adam(lr), stallGuard: { patience: 3, minCosine: 0, startPatience: 1000 } }, 10, 0.05);
    const stalled = reports.map((r) => r.stalled === true);
    // ρ updates happen from step 2 on (every = 1, one step behind); the guard counts updates.
    expect(stalled.slice(0, 3)).toEqual([false, false, false]);
    expect(stalled.slice(3).every(Boolean)).toBe(true);
    for (let i = 4; i < rhos.length; i++) {
      expect(Math.log(rhos[i]! / rhos[i - 1]!)).toBeCloseTo(-lr, 5);
    }
  });

  it('stall walk: batch noise at a near-zero loss is no stall; giving back half the progress is', () => {
    // L₀ = 1, then 0.01 (trained), then 0.05 (noise, 5× the best but 4 % of the progress), then 0.8.
    const loss = (t: number) => (t === 0 ? 1 : t < 10 ? 0.01 : t < 20 ? 0.05 : 0.8);
    const { reports } = run(sgd(0), { rhoOptimizer: sgd(0), stallGuard: { beta: 0 } }, 26, 0.05, loss);
    const stalled = reports.map((r) => r.stalled === true);
    if (process.env.LETS_VERBOSE) console.log(stalled.map((x) => (x ? 1 : 0)).join(''));
    expect(stalled.slice(0, 20).some(Boolean)).toBe(false);
    // β = 0: L̄ is the last loss; 0.8 ≥ 0.01 + 0.5·(1 − 0.01) from the first update that sees it.
    expect(stalled.slice(20).every(Boolean)).toBe(true);
  });

  it('a zero learning rate never moves ρ, stalled or not (the guard acts through the ρ optimizer)', () => {
    const { rhos, reports } = run(sgd(0), { rhoOptimizer: adam(0), stallGuard: { minCosine: 0, startPatience: 1000 } }, 8, 0.05);
    expect(reports.some((r) => r.stalled === true)).toBe(true);
    expect(new Set(rhos).size).toBe(1);
  });

  it('stallGuard: false turns both parts off', () => {
    const { rhos, reports } = run(sgd(0), { rhoOptimizer: sgd(0), stallGuard: false }, 5);
    expect(new Set(rhos).size).toBe(1);
    expect(reports.every((r) => r.stalled === undefined && r.shrunk === undefined)).toBe(true);
  });

  it('rejects bad guard options, naming them', () => {
    const v = sam(sgd(0.1), { rho: 0.05 });
    expect(() => lets(v, { stallGuard: { patience: 0 } })).toThrow(/stallGuard.patience/);
    expect(() => lets(v, { stallGuard: { minCosine: 2 } })).toThrow(/stallGuard.minCosine/);
    expect(() => lets(v, { stallGuard: { shrink: -0.5 } })).toThrow(/stallGuard.shrink/);
  });
});
