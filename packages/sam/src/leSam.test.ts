/**
 * LE-SAM (loss-equated SAM): ε = min(σ/(‖g‖ + ϱ), ρ_max)·g/‖g‖ and d = ∇L(w + ε) on the test
 * quadratic, against the formula worked out by hand in float64, with an SGD outer step; its σ
 * schedule (warm-up, hold, cosine to 0) at known steps.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as T from '@lets/tree';
import { sgd } from '@lets/optim';
import { A, C, W0, expectClose, hadd, hgrad, hnorm, hscale, setup, toHost, toTree, quadratic } from './test-util';
import { leSam, leSamSchedule } from './presets';
import { lossEquated } from './lossEquated';

const LR = 0.1;
beforeAll(setup);

const step = (sigma: number, rhoMax: number, varrho = 1e-12) => {
  const q = quadratic();
  const params = toTree(W0);
  const opt = leSam(sgd(LR), { rho: sigma, rhoMax, varrho });
  const state = opt.init(params);
  const clean = q.gradFn(params);
  const s = opt.step(clean.grads, state, params, { gradFn: q.gradFn, loss: clean.loss });
  const eps = T.scaleBy(s.direction, s.rho);
  const out = { eps: toHost(eps), updates: toHost(s.updates), epsNorm: s.state.report!.epsNorm.dataSync()[0] as number, calls: q.calls() };
  [eps, params, clean.grads, s.updates, s.direction, s.perturbedGrads].forEach(T.dispose);
  clean.loss.dispose();
  T.disposeState(state);
  T.disposeState(s.state);
  q.dispose();
  return out;
};

describe('LE-SAM', () => {
  const g = hgrad(W0);
  const gn = hnorm(g);

  it.each([
    ['the loss budget binds (σ/‖g‖ < ρ_max)', 0.35, 1.0],
    ['the cap binds (σ/‖g‖ > ρ_max)', 0.35, 0.02],
  ])('%s: ε = min(σ/(‖g‖+ϱ), ρ_max) g/‖g‖ and d = ∇L(w + ε)', (_name, sigma, rhoMax) => {
    const before = tf.memory().numTensors;
    const rhoT = Math.min(sigma / (gn + 1e-12), rhoMax);
    const eps = hscale(g, rhoT / gn);
    const got = step(sigma, rhoMax);
    expectClose(got.eps, eps);
    expect(got.epsNorm).toBeCloseTo(rhoT, 5);
    // The first-order loss increase ρ_t‖g‖ equals σ while the cap does not bind.
    if (sigma / gn < rhoMax) expect(rhoT * gn).toBeCloseTo(sigma, 6);
    expectClose(got.updates, hscale(hgrad(hadd(W0, eps), A, C), -LR));
    expect(got.calls).toBe(2);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('ϱ keeps the radius finite: σ/(‖g‖ + ϱ)', () => {
    const varrho = 0.5;
    const rhoT = Math.min(0.35 / (gn + varrho), 10);
    expectClose(step(0.35, 10, varrho).eps, hscale(g, rhoT / gn));
  });

  it('σ schedule: linear warm-up, hold, cosine to 0 at totalSteps', () => {
    const s = leSamSchedule(0.4, 100, 10, 20);
    expect(s(0)).toBeCloseTo(0.04, 12);
    expect(s(9)).toBeCloseTo(0.4, 12);
    expect(s(10)).toBe(0.4);
    expect(s(29)).toBe(0.4);
    expect(s(30)).toBeCloseTo(0.4, 12);
    expect(s(65)).toBeCloseTo(0.2, 12); // half way through the cosine part
    expect(s(100)).toBeCloseTo(0, 12);
    const opt = leSam(sgd(LR), { rho: 0.4, totalSteps: 100 });
    const st = opt.init(toTree(W0));
    expect(st.rho).toBeCloseTo(0.4 / 5, 12); // default warm-up: 5 % of the run
    T.disposeState(st);
  });

  it('rejects bad options, naming them', () => {
    expect(() => lossEquated({ rhoMax: 0 })).toThrow(/rhoMax/);
    expect(() => lossEquated({ varrho: -1 })).toThrow(/varrho/);
    expect(() => leSamSchedule(0.35, 10, 8, 4)).toThrow(/warmupSteps \+ holdSteps/);
    expect(() => leSam(sgd(LR), { rho: () => 0.1, totalSteps: 10 })).toThrow(/not both/);
  });
});
