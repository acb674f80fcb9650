/**
 * Constructed cases with a known answer. One parameter w, train loss L_tr = ½(w − 1)², from
 * w₀ = 0 with SGD (η = 0.1): n = sign(w − 1) = −1 while w < 1, so dw_{t+1}/dρ = −η H n = +η > 0:
 * a larger ρ moves w further right. The validation loss sets δ and dδ/dw:
 *   L_vl = ½(w − 3)²:  δ = 4 − 2w > 0, dδ/dw = −2: val above train, larger ρ shrinks the gap → ρ grows;
 *   L_vl = ½(w + 2)²:  δ = 3w + 1.5 > 0, dδ/dw = +3: val above train, larger ρ widens it  → ρ shrinks;
 *   L_vl = ½(w − 3)² − 5: δ = −1 − 2w < 0, dδ/dw = −2: val below train, larger ρ widens |δ| → ρ shrinks;
 *   L_vl = ½(w + 2)² − 5: δ = 3w − 3.5 < 0, dδ/dw = +3: val below train, larger ρ shrinks |δ| → ρ grows;
 *   L_vl = ½(w − 1)² − 1: δ = −1 < 0, dδ/dw = 0: the gap does not depend on ρ          → ρ stays.
 * (dF/dρ = δ · dδ/dw · η.) Twelve steps keep w < 1 − ρ, so n stays −1.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as T from '@lets/tree';
import type { Params } from '@lets/tree';
import { applyUpdates, sgd, type GradFn, type LossFn } from '@lets/optim';
import { sam } from '@lets/sam';
import { lets } from './lets';
import { gradOf, setupCpu } from './test-util';

beforeAll(setupCpu);

const quad = (c: number, k = 0): LossFn => (p: Params) => tf.tidy(() => tf.add(tf.mul(0.5, tf.sum(tf.square(tf.sub(p['w']!, c)))), k) as tf.Scalar);

const run = (val: LossFn, estimator: 'exact' | 'fd' | 'fisher' | 'identity', objective: 'gap' | 'val' = 'gap') => {
  const train: LossFn = quad(1);
  const gradFn: GradFn = gradOf(train);
  const valGradFn: GradFn = gradOf(val);
  const opt = lets(sam(sgd(0.1), { rho: 0.05 }), { estimator, every: 1, rhoOptimizer: sgd(0.5), objective, stallGuard: false, tangentProjection: 'none' });
  let params: Params = { w: tf.tensor1d([0]) };
  let state = opt.init(params);
  const rhos: number[] = [opt.metrics(state).rho];
  const signs: number[] = [];
  for (let t = 0; t < 12; t++) {
    const clean = gradFn(params);
    const [u, next] = opt.update(clean.grads, state, params, { loss: clean.loss, gradFn, valGradFn, lossFn: train });
    const p2 = applyUpdates(params, u);
    [u, clean.grads, params].forEach(T.dispose);
    clean.loss.dispose();
    T.disposeState(state);
    params = p2;
    state = next;
    rhos.push(opt.metrics(state).rho);
    if (next.report!.updated) signs.push(Math.sign(next.report!.hypergradient!));
  }
  const w = params['w']!.dataSync()[0] as number;
  T.dispose(params);
  T.disposeState(state);
  return { rhos, signs, w };
};

describe('constructed cases: ρ moves the way the gap asks', () => {
  it.each(['exact', 'fd', 'fisher', 'identity'] as const)('%s: val above train and larger ρ shrinks the gap → ρ grows', (est) => {
    const before = tf.memory().numTensors;
    const { rhos, signs, w } = run(quad(3), est);
    expect(w).toBeLessThan(0.9); // n stayed −1 throughout
    expect(signs.every((s) => s < 0)).toBe(true);
    for (let i = 2; i < rhos.length; i++) expect(rhos[i]!).toBeGreaterThan(rhos[i - 1]!);
    expect(tf.memory().numTensors).toBe(before);
  });

  it.each(['exact', 'fd', 'fisher', 'identity'] as const)('%s: val above train and larger ρ widens the gap → ρ shrinks', (est) => {
    const { rhos, signs } = run(quad(-2), est);
    expect(signs.every((s) => s > 0)).toBe(true);
    for (let i = 2; i < rhos.length; i++) expect(rhos[i]!).toBeLessThan(rhos[i - 1]!);
  });

  it.each([
    ['val below train, larger ρ widens |δ| → ρ shrinks', quad(3, -5), -1],
    ['val below train, larger ρ shrinks |δ| → ρ grows', quad(-2, -5), 1],
  ] as [string, LossFn, number][])('%s', (_name, val, direction) => {
    const { rhos } = run(val, 'exact');
    for (let i = 2; i < rhos.length; i++) expect(Math.sign(rhos[i]! - rhos[i - 1]!)).toBe(direction);
  });

  it('a gap that does not depend on ρ leaves ρ where it is', () => {
    const { rhos, signs } = run(quad(1, -1), 'exact');
    expect(signs.every((s) => s === 0)).toBe(true);
    expect(new Set(rhos).size).toBe(1);
  });
});

// The validation-loss objective: dF/dρ = ⟨∇L_vl, dw/dρ⟩ = (dL_vl/dw)·η, whatever the training loss.
describe("constructed cases: ρ moves the way the validation loss asks (objective 'val')", () => {
  it.each(['exact', 'fd'] as const)('%s: L_vl = ½(w − 3)², moving right lowers it → ρ grows', (est) => {
    const { rhos, signs } = run(quad(3), est, 'val');
    expect(signs.every((s) => s < 0)).toBe(true);
    for (let i = 2; i < rhos.length; i++) expect(rhos[i]!).toBeGreaterThan(rhos[i - 1]!);
  });
  it.each(['exact', 'fd'] as const)('%s: L_vl = ½(w + 2)², moving right raises it → ρ shrinks', (est) => {
    const { rhos, signs } = run(quad(-2), est, 'val');
    expect(signs.every((s) => s > 0)).toBe(true);
    for (let i = 2; i < rhos.length; i++) expect(rhos[i]!).toBeLessThan(rhos[i - 1]!);
  });
  it('a validation loss at its minimum wherever w moves (L_vl = 0·w) leaves ρ where it is', () => {
    const flat: LossFn = (p: Params) => tf.tidy(() => tf.mul(0, tf.sum(p['w']!)) as tf.Scalar);
    const { rhos } = run(flat, 'exact', 'val');
    expect(new Set(rhos).size).toBe(1);
  });
});
