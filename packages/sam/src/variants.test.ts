/**
 * Each preset's ε (= ρ·direction) and update on the test quadratic L(w) = ½ Σ a(w − c)², against
 * the variant's formula worked out by hand in float64 (test-util's h* helpers), with an SGD outer
 * optimizer (update = −lr·d).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as T from '@lets/tree';
import { sgd, applyUpdates } from '@lets/optim';
import type { Params } from '@lets/tree';
import {
  A, C, W0, expectClose, hadd, hdot, hgrad, hmap, hnorm, hscale, hsub, hunit, hzip, quadratic, setup, toHost, toTree,
  type HostTree,
} from './test-util';
import { asam, esam, fisherSam, friendlySam, gam, gsam, lookSam, msam, randomSam, sam, samOn, stableSam, vasso } from './presets';
import type { SamTransformation } from './types';
import { random } from '@lets/runtime';

const LR = 0.1;
beforeAll(setup);

/** One step of `opt` from W0: ε, updates and the report, as host values. */
const oneStep = (opt: SamTransformation<any>, extra: Record<string, unknown> = {}) => {
  const q = quadratic();
  const params = toTree(W0);
  const state = opt.init(params);
  const clean = q.gradFn(params);
  const s = opt.step(clean.grads, state, params, { gradFn: q.gradFn, loss: clean.loss, ...extra });
  const eps = T.scaleBy(s.direction, s.rho);
  const out = { eps: toHost(eps), updates: toHost(s.updates), state: s.state, calls: q.calls() };
  const rep = s.state.report!;
  const report = {
    cleanLoss: rep.cleanLoss!.dataSync()[0] as number,
    perturbedLoss: rep.perturbedLoss.dataSync()[0] as number,
    gradNorm: rep.gradNorm.dataSync()[0] as number,
    epsNorm: rep.epsNorm.dataSync()[0] as number,
    cosine: rep.cosine.dataSync()[0] as number,
    gradEvals: rep.gradEvals,
  };
  T.dispose(eps);
  T.dispose(params);
  T.dispose(clean.grads);
  clean.loss.dispose();
  T.disposeState(state);
  T.disposeState(s.state);
  T.dispose(s.updates);
  T.dispose(s.direction);
  T.dispose(s.perturbedGrads);
  q.dispose();
  return { ...out, report };
};

/** The update an SGD outer step gives for the direction d. */
const sgdUpdate = (d: HostTree): HostTree => hscale(d, -LR);
const hloss = (w: HostTree, a: HostTree = A, c: HostTree = C): number =>
  Object.keys(w).reduce((s, k) => s + (w[k] as number[]).reduce((t, x, i) => t + 0.5 * (a[k]![i]!) * (x - c[k]![i]!) ** 2, 0), 0);

describe('SAM', () => {
  it('ε = ρ g/‖g‖, d = ∇L(w + ε), and the report', () => {
    const rho = 0.05;
    const g = hgrad(W0);
    const eps = hscale(hunit(g), rho);
    const gp = hgrad(hadd(W0, eps));
    const r = oneStep(sam(sgd(LR), { rho }));
    expectClose(r.eps, eps);
    expectClose(r.updates, sgdUpdate(gp));
    expect(r.report.cleanLoss).toBeCloseTo(hloss(W0), 5);
    expect(r.report.perturbedLoss).toBeCloseTo(hloss(hadd(W0, eps)), 5);
    expect(r.report.gradNorm).toBeCloseTo(hnorm(g), 5);
    expect(r.report.epsNorm).toBeCloseTo(rho, 6);
    expect(r.report.cosine).toBeCloseTo(hdot(g, gp) / (hnorm(g) * hnorm(gp)), 5);
    expect(r.report.gradEvals).toBe(2);
    expect(r.calls).toBe(2);
  });
});

describe('ASAM', () => {
  const rho = 0.5;
  it('official form: T = |w| + η on rank > 1 weights only, ε = ρ T²g/‖Tg‖', () => {
    const g = hgrad(W0);
    const t = hmap(W0, (x, _i, k) => (k === 'dense/kernel' ? Math.abs(x) + 0.01 : 1));
    const tg = hzip(t, g, (a, b) => a * b);
    const eps = hscale(hzip(t, tg, (a, b) => a * b), rho / (hnorm(tg) + 1e-12));
    const r = oneStep(asam(sgd(LR), { rho }));
    expectClose(r.eps, eps);
    expectClose(r.updates, sgdUpdate(hgrad(hadd(W0, eps))));
  });
  it("adaptive form (davda54/sam adaptive=True): ε = ρ w²g/‖|w|g‖ on every parameter, and it differs from the official one", () => {
    const g = hgrad(W0);
    const tg = hzip(W0, g, (w, x) => Math.abs(w) * x);
    const eps = hscale(hzip(W0, g, (w, x) => w * w * x), rho / (hnorm(tg) + 1e-12));
    const r = oneStep(asam(sgd(LR), { rho, form: 'adaptive' }));
    expectClose(r.eps, eps);
    expectClose(r.updates, sgdUpdate(hgrad(hadd(W0, eps))));
    const official = oneStep(asam(sgd(LR), { rho }));
    // bias and bn/gamma are scaled in one form and not in the other: far apart, not a rounding difference
    expect(Math.abs((official.eps['dense/bias']![0]!) - (r.eps['dense/bias']![0]!))).toBeGreaterThan(1e-2);
  });
});

describe('Fisher SAM', () => {
  it('ε = γ (g/f)/√(Σ g²/f), f = 1 + η g², and εᵀ f ε = γ² (the ellipsoid)', () => {
    const gamma = 0.1;
    const eta = 1;
    const g = hgrad(W0);
    const f = hmap(g, (x) => 1 + eta * x * x);
    const gf = hzip(g, f, (x, y) => x / y);
    const eps = hscale(gf, gamma / (Math.sqrt(hdot(g, gf)) + 1e-12));
    const r = oneStep(fisherSam(sgd(LR), { rho: gamma, eta }));
    expectClose(r.eps, eps);
    expectClose(r.updates, sgdUpdate(hgrad(hadd(W0, eps))));
    // the constraint, computed from the library's ε in float64
    const quad = hdot(hzip(r.eps, f, (e, fi) => e * fi), r.eps);
    expect(Math.abs(quad - gamma * gamma) / (gamma * gamma)).toBeLessThan(1e-5);
    // ...and it is not the Euclidean sphere
    expect(Math.abs(hnorm(r.eps) - gamma)).toBeGreaterThan(1e-3);
  });
});

describe('GSAM', () => {
  it('d = g_p − α (g − ⟨g, ĝ_p⟩ĝ_p)', () => {
    const rho = 0.05;
    const alpha = 0.4;
    const g = hgrad(W0);
    const gp = hgrad(hadd(W0, hscale(hunit(g), rho)));
    const up = hunit(gp);
    const perp = hsub(g, hscale(up, hdot(g, up)));
    const d = hsub(gp, hscale(perp, alpha));
    const r = oneStep(gsam(sgd(LR), { rho, alpha }));
    expectClose(r.updates, sgdUpdate(d));
    // the descent direction keeps g_p's component along g_p
    expect(Math.abs(hdot(perp, up))).toBeLessThan(1e-9 * hnorm(g));
  });
  it('ρ follows the learning-rate schedule linearly: ρ_t = ρ_min + (ρ − ρ_min)(lr_t − lr_min)/(lr_max − lr_min)', () => {
    const lr = (t: number) => 0.1 * (1 - t / 10);
    const opt = gsam(sgd(lr), { rho: 0.08, rhoMin: 0.02, lr, lrMin: 0 });
    const q = quadratic();
    let params = toTree(W0);
    let state = opt.init(params);
    for (let t = 0; t < 5; t++) {
      expect(state.rho).toBeCloseTo(0.02 + (0.06 * (lr(t) - 0)) / 0.1, 12);
      const clean = q.gradFn(params);
      const [u, next] = opt.update(clean.grads, state, params, { gradFn: q.gradFn });
      const p2 = applyUpdates(params, u);
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

describe('ESAM', () => {
  it('SWP: ε = (ρ/β) m⊙g/‖g‖ with m ~ Bernoulli(β) from the seeded PRNG, state advanced', () => {
    const rho = 0.05;
    const beta = 0.5;
    const g = hgrad(W0);
    let rng = random.key(7);
    const m: HostTree = {};
    for (const k of Object.keys(W0)) {
      const [sub, next] = random.split(rng);
      rng = next!;
      const u = random.uniforms(sub!, W0[k]!.length);
      m[k] = Array.from(u).map((x) => (x < beta ? 1 : 0));
    }
    const eps = hscale(hzip(m, hunit(g), (a, b) => a * b), rho / beta);
    const r = oneStep(esam(sgd(LR), { rho, beta, gamma: 1, seed: 7 }));
    expectClose(r.eps, eps);
    expectClose(r.updates, sgdUpdate(hgrad(hadd(W0, eps))));
    const pstate = r.state.perturbation as { pipeline: [unknown, { rng: number }] };
    expect(pstate.pipeline[1].rng).toBe(rng);
  });

  it('SDS: the perturbed pass runs on the top-⌊γB⌋ samples by ℓ_i(w+ε) − ℓ_i(w)', () => {
    // per-sample least squares ℓ_i = ½(x_i·w − y_i)², B = 4, γ = 0.5 keeps 2 samples
    const X = [[1, 0.5], [-0.3, 2], [0.7, -1.2], [1.5, 1]];
    const Y = [0.2, -1, 0.5, 2];
    const w0 = [0.4, -0.6];
    const hostLosses = (w: number[]) => X.map((x, i) => 0.5 * (x[0]! * w[0]! + x[1]! * w[1]! - Y[i]!) ** 2);
    const hostGrad = (w: number[], idx: number[]) => {
      const out: [number, number] = [0, 0];
      for (const i of idx) {
        const r = X[i]![0]! * w[0]! + X[i]![1]! * w[1]! - Y[i]!;
        out[0] += (r * X[i]![0]!) / idx.length;
        out[1] += (r * X[i]![1]!) / idx.length;
      }
      return out;
    };
    const rho = 0.3;
    const g = hostGrad(w0, [0, 1, 2, 3]);
    const gn = Math.hypot(g[0]!, g[1]!) + 1e-12;
    const weps = [w0[0]! + (rho * g[0]!) / gn, w0[1]! + (rho * g[1]!) / gn];
    const l0 = hostLosses(w0);
    const l1 = hostLosses(weps);
    const order = [0, 1, 2, 3].sort((i, j) => l1[j]! - l0[j]! - (l1[i]! - l0[i]!));
    const chosen = order.slice(0, 2);
    const want = { w: hostGrad(weps, chosen).map((x) => -LR * x) };

    const x = tf.tensor2d(X);
    const y = tf.tensor1d(Y);
    const lossesAt = (p: Params) => tf.tidy(() => tf.mul(tf.square(tf.sub(tf.squeeze(tf.matMul(x, tf.reshape(p.w as tf.Tensor, [2, 1])), [1]), y)), 0.5)) as tf.Tensor1D;
    const subsetGradFn = (p: Params, idx: tf.Tensor1D) => {
      const { value, grads } = tf.valueAndGrads((wv: tf.Tensor) =>
        tf.mean(tf.gather(tf.mul(tf.square(tf.sub(tf.squeeze(tf.matMul(x, tf.reshape(wv, [2, 1])), [1]), y)), 0.5), idx)) as tf.Scalar,
      )([p.w as tf.Tensor]);
      return { loss: value, grads: { w: grads[0] as tf.Tensor } };
    };
    const gradFn = (p: Params) => subsetGradFn(p, tf.tensor1d([0, 1, 2, 3], 'int32'));
    const params = { w: tf.tensor1d(w0) };
    const opt = esam(sgd(LR), { rho, beta: 1, gamma: 0.5 });
    const state = opt.init(params);
    const all = tf.tensor1d([0, 1, 2, 3], 'int32');
    const clean = subsetGradFn(params, all);
    const [u, next] = opt.update(clean.grads, state, params, { gradFn, sampleLossFn: lossesAt, subsetGradFn });
    expectClose(u, want);
    expect(next.report!.gradEvals).toBe(2);
    expect(chosen).not.toEqual([0, 1]); // the selection matters in this example
    [u, params, clean.grads].forEach(T.dispose);
    [x, y, all, clean.loss].forEach((t) => t.dispose());
    T.disposeState(next);
    T.disposeState(state);
  });
});

describe('SAM-ON', () => {
  it('perturbs only normalization-layer leaves, the norm over them', () => {
    const rho = 0.05;
    const g = hgrad(W0);
    const sel = hmap(g, (x, _i, k) => (k === 'bn/gamma' ? x : 0));
    const eps = hscale(hunit(sel), rho);
    const r = oneStep(samOn(sgd(LR), { rho }));
    expectClose(r.eps, eps);
    expectClose(r.updates, sgdUpdate(hgrad(hadd(W0, eps))));
    expect(r.eps['dense/kernel']).toEqual([0, 0, 0, 0]);
  });
});

/** Runs `steps` steps of `opt` on the quadratic, returning the host params after each. */
const trajectory = (opt: SamTransformation<any>, steps: number, extra: (params: Params) => Record<string, unknown> = () => ({})) => {
  const q = quadratic();
  let params = toTree(W0);
  let state = opt.init(params);
  const out: { eps: HostTree; w: HostTree }[] = [];
  for (let t = 0; t < steps; t++) {
    const clean = q.gradFn(params);
    const s = opt.step(clean.grads, state, params, { gradFn: q.gradFn, ...extra(params) });
    const next = applyUpdates(params, s.updates);
    const eps = T.scaleBy(s.direction, s.rho);
    out.push({ eps: toHost(eps), w: toHost(next) });
    [eps, s.updates, s.direction, s.perturbedGrads, clean.grads, params].forEach(T.dispose);
    clean.loss.dispose();
    T.disposeState(state);
    state = s.state;
    params = next;
  }
  T.dispose(params);
  T.disposeState(state);
  q.dispose();
  return out;
};

describe('stateful variants over several steps', () => {
  it('VaSSO: d_t = (1−θ)d_{t−1} + θ g_t, ε = ρ d_t/‖d_t‖', () => {
    const rho = 0.2;
    const theta = 0.9;
    let w = W0;
    let d = hmap(W0, () => 0);
    const got = trajectory(vasso(sgd(LR), { rho, theta }), 3);
    for (const step of got) {
      const g = hgrad(w);
      d = hzip(d, g, (a, b) => (1 - theta) * a + theta * b);
      const eps = hscale(hunit(d), rho);
      expectClose(step.eps, eps);
      w = hadd(w, sgdUpdate(hgrad(hadd(w, eps))));
      expectClose(step.w, w);
    }
  });

  it('Friendly SAM: d = g − σ m_{t−1}, m_t = λ m_{t−1} + (1−λ) g', () => {
    const rho = 0.05;
    const sigma = 1;
    const lambda = 0.6;
    let w = W0;
    let m = hmap(W0, () => 0);
    const got = trajectory(friendlySam(sgd(LR), { rho, sigma, lambda }), 3);
    for (const step of got) {
      const g = hgrad(w);
      const d = hsub(g, hscale(m, sigma));
      m = hzip(m, g, (a, b) => lambda * a + (1 - lambda) * b);
      const eps = hscale(hunit(d), rho);
      expectClose(step.eps, eps);
      w = hadd(w, sgdUpdate(hgrad(hadd(w, eps))));
      expectClose(step.w, w);
    }
  });

  it('LookSAM (k = 2): SAM and g_v every 2nd step, g + α‖g‖/‖g_v‖ g_v in between', () => {
    // g_v = g_p − ⟨g_p, ĝ⟩ĝ cancels most of g_p, so its float32 relative error is about
    // 2^-24·‖g_p‖/‖g_v‖; a larger ρ keeps ‖g_v‖/‖g_p‖ near 0.1 and the default tolerance valid.
    const rho = 0.5;
    const alpha = 0.7;
    let w = W0;
    let gv = hmap(W0, () => 0);
    const got = trajectory(lookSam(sgd(LR), { rho, k: 2, alpha }), 4);
    got.forEach((step, t) => {
      const g = hgrad(w);
      let d: HostTree;
      if (t % 2 === 0) {
        const gp = hgrad(hadd(w, hscale(hunit(g), rho)));
        const gh = hunit(g);
        gv = hsub(gp, hscale(gh, hdot(gp, gh)));
        d = gp;
      } else {
        d = hadd(g, hscale(gv, (alpha * hnorm(g)) / (hnorm(gv) + 1e-12)));
      }
      w = hadd(w, sgdUpdate(d));
      expectClose(step.w, w);
    });
  });

  it('Random SAM: ε = ρ ∇L(w+δ)/‖∇L(w+δ)‖ with δ ~ N(0, σ²) from the seeded PRNG', () => {
    const rho = 0.05;
    const sigma = 0.1;
    let rng = random.key(3);
    let w = W0;
    const got = trajectory(randomSam(sgd(LR), { rho, sigma, seed: 3 }), 2);
    for (const step of got) {
      const delta: HostTree = {};
      for (const k of Object.keys(w)) {
        const [sub, next] = random.split(rng);
        rng = next!;
        const z = random.normals(sub!, w[k]!.length);
        delta[k] = Array.from(z).map((v) => v * sigma);
      }
      const eps = hscale(hunit(hgrad(hadd(w, delta))), rho);
      expectClose(step.eps, eps);
      w = hadd(w, sgdUpdate(hgrad(hadd(w, eps))));
      expectClose(step.w, w);
    }
  });
});

describe('StableSAM', () => {
  it('d = g_p ‖g‖/‖g_p‖', () => {
    const rho = 0.05;
    const g = hgrad(W0);
    const gp = hgrad(hadd(W0, hscale(hunit(g), rho)));
    const r = oneStep(stableSam(sgd(LR), { rho }));
    expectClose(r.updates, sgdUpdate(hscale(gp, hnorm(g) / (hnorm(gp) + 1e-12))));
  });
});

describe('GAM', () => {
  it('four evaluations and the official decomposition', () => {
    const rho = 0.03;
    const normRho = 0.2;
    const [b0, b1, gamma] = [0.1, 0.1, 0.05];
    const g0 = hgrad(W0);
    const g1 = hgrad(hadd(W0, hscale(hunit(g0), rho)));
    const w2 = hadd(W0, hscale(hunit(hsub(g1, g0)), normRho));
    const g2 = hgrad(w2);
    const g3 = hgrad(hadd(w2, hscale(hunit(g2), rho)));
    const m = hadd(hscale(g0, b0), hscale(g2, 1 - b0));
    const a = hadd(hscale(g1, b1), hscale(g3, 1 - b1));
    const cos = hdot(m, a) / (hnorm(m) * hnorm(a) + 1e-12);
    const d = hsub(a, hscale(hsub(m, hscale(a, (cos * hnorm(m)) / (hnorm(a) + 1e-12))), gamma));
    const r = oneStep(gam(sgd(LR), { rho, normRho, beta0: b0, beta1: b1, gamma }));
    expectClose(r.updates, sgdUpdate(d));
    expectClose(r.eps, hscale(hunit(g0), rho));
    expect(r.report.gradEvals).toBe(4);
    expect(r.calls).toBe(4);
  });
});

describe('mSAM', () => {
  it('one ε per micro-batch from its own gradient, perturbed gradients averaged', () => {
    const rho = 0.05;
    // two micro-batch losses whose mean is the full quadratic's a (curvatures 0.5a and 1.5a)
    const a0 = hscale(A, 0.5);
    const a1 = hscale(A, 1.5);
    const c1 = hmap(C, (x) => x + 0.1);
    const q0 = quadratic(a0, C);
    const q1 = quadratic(a1, c1);
    const gp0 = hgrad(hadd(W0, hscale(hunit(hgrad(W0, a0, C)), rho)), a0, C);
    const gp1 = hgrad(hadd(W0, hscale(hunit(hgrad(W0, a1, c1)), rho)), a1, c1);
    const d = hscale(hadd(gp0, gp1), 0.5);
    const r = oneStep(msam(sgd(LR), { rho, microBatches: 2 }), { microGradFns: [q0.gradFn, q1.gradFn] });
    expectClose(r.updates, sgdUpdate(d));
    expectClose(r.eps, hscale(hunit(hgrad(W0, a0, C)), rho));
    expect(r.report.gradEvals).toBe(5);
    expect(q0.calls() + q1.calls()).toBe(4);
    q0.dispose();
    q1.dispose();
  });
});
