/**
 * ∂U/∂g_p, the piece of LETS's linearized tangent τ = ∂U/∂g_p · H̃n that the step's map
 * g_p ↦ updates contributes: @lets/bilevel's `gradientTangent` of a SAM step's `descent`
 * (combiner + outer, from the step's input outer state), checked against the exact linear map
 * for SGD with momentum, Adam's analytic derivative in float64, and GSAM's combiner by hand.
 * (These are the checks @lets/sam's updateTangent had, as strict as they were.)
 */
import * as tf from '@tensorflow/tfjs-core';
import * as T from '@lets/tree';
import type { Params } from '@lets/tree';
import { adam, gradFnOf, sgd, type GradFn } from '@lets/optim';
import { gsam, sam, type SamStep } from '@lets/sam';
import { gradientTangent } from '@lets/bilevel';
import { setupCpu } from './test-util';

beforeAll(setupCpu);

type HostTree = Record<string, number[]>;
const SHAPES: Record<string, number[]> = { 'dense/kernel': [2, 2], 'dense/bias': [2], 'bn/gamma': [2] };
const A: HostTree = { 'dense/kernel': [1, 2, 3, 4], 'dense/bias': [0.5, 1.5], 'bn/gamma': [2.5, 0.8] };
const C: HostTree = { 'dense/kernel': [0.3, -0.2, 0.1, 0.4], 'dense/bias': [-0.5, 0.25], 'bn/gamma': [1, 1.2] };
const W0: HostTree = { 'dense/kernel': [1.2, -0.7, 0.9, -1.1], 'dense/bias': [0.4, -0.3], 'bn/gamma': [0.6, 1.9] };
const toTree = (h: HostTree): Params => T.fromEntries(Object.keys(h).map((k) => [k, tf.tensor(h[k]!, SHAPES[k])] as const));
const toHost = (t: Params): HostTree => Object.fromEntries(Object.keys(t).map((k) => [k, Array.from(t[k]!.dataSync())]));
const hmap = (a: HostTree, f: (x: number, i: number, k: string) => number): HostTree =>
  Object.fromEntries(Object.keys(a).map((k) => [k, a[k]!.map((x, i) => f(x, i, k))]));
const hscale = (a: HostTree, s: number): HostTree => hmap(a, (x) => x * s);
const hadd = (a: HostTree, b: HostTree): HostTree => hmap(a, (x, i, k) => x + b[k]![i]!);
const hunit = (a: HostTree): HostTree => {
  const n = Math.sqrt(Object.values(a).flat().reduce((s, x) => s + x * x, 0));
  return hscale(a, 1 / (n + 1e-12));
};
const hgrad = (w: HostTree): HostTree => hmap(w, (x, i, k) => A[k]![i]! * (x - C[k]![i]!));
const hzipMap = (a: HostTree, b: HostTree, f: (x: number, y: number) => number): HostTree => hmap(a, (x, i, k) => f(x, b[k]![i]!));
/** max |x − y| / (atol + rtol|y|) ≤ 1 over every element, with a readable failure. */
const expectClose = (got: Params | HostTree, want: HostTree, rtol: number, atol: number): void => {
  const g = Object.values(got).every((v) => Array.isArray(v)) ? (got as HostTree) : toHost(got as Params);
  expect(Object.keys(g)).toEqual(Object.keys(want));
  for (const k of Object.keys(want)) {
    g[k]!.forEach((x, i) => {
      const y = want[k]![i]!;
      if (!(Math.abs(x - y) <= atol + rtol * Math.abs(y))) throw new Error(`${k}[${i}]: got ${x}, expected ${y} (rtol ${rtol}, atol ${atol})`);
    });
  }
};
/** The test quadratic L(w) = ½ Σ a (w − c)². */
const quadratic = (): { gradFn: GradFn; dispose: () => void } => {
  const a = toTree(A);
  const c = toTree(C);
  const gradFn = gradFnOf((p) =>
    tf.mul(tf.addN(Object.keys(p).map((k) => tf.sum(tf.mul(a[k]!, tf.square(tf.sub(p[k]!, c[k]!)))))), 0.5) as tf.Scalar,
  );
  return { gradFn, dispose: () => [a, c].forEach(T.dispose) };
};

/** ∂U/∂g_p · v of a step: bilevel's gradientTangent of its descent, as LETS takes it. */
const tangentOf = <S>(s: SamStep<S>, inputOuter: S, params: Params, gradFn: GradFn) => (v: Params): Params =>
  gradientTangent(s.descent, s.perturbedGrads, inputOuter, params, { gradFn })(v);

describe('gradientTangent of a SAM step’s descent: d(updates)/d(g_p)·v', () => {
  const v: HostTree = hmap(W0, (_x, i, k) => (k.length % 3) - 0.4 * i + 0.2);

  // SGD with momentum declares gradientScale (affine in g_p, Jacobian −lr·I), so the tangent is
  // one scaling; with the scale hidden (a wrapper that does not forward it) gradientTangent falls
  // back to the central difference of the map, which must agree to its rounding.
  it.each([
    ['declared scale: one scaling, float32 rounding of one product', false, 1e-6, 1e-9],
    // central difference of an affine map: exact up to float32 rounding of updates of size
    // ~lr·‖buf‖ divided by 2h = 2e-3·max(1, ‖g_p‖)/‖v‖, i.e. ~1e-4 relative here; rtol 1e-3 is 10× that
    ['scale hidden: the central difference', true, 1e-3, 1e-6],
  ] as const)('SGD with momentum: the exact linear map −lr·v (%s)', (_name, hide, rtol, atol) => {
    const lr = 0.05;
    const outer = sgd(lr, { momentum: 0.9 });
    expect(outer.gradientScale).toBeDefined();
    const opt = sam(hide ? { init: outer.init, update: outer.update } : outer, { rho: 0.1 });
    const q = quadratic();
    let params = toTree(W0);
    let state = opt.init(params);
    const vt = toTree(v);
    for (let t = 0; t < 3; t++) {
      const clean = q.gradFn(params);
      const s = opt.step(clean.grads, state, params, { gradFn: q.gradFn });
      expect(s.descent.gradientScale === undefined).toBe(hide);
      const tan = tangentOf(s, state.outer, params, q.gradFn)(vt);
      expectClose(tan, hscale(v, -lr), rtol, atol);
      const p2 = T.add(params, s.updates);
      [tan, s.updates, s.direction, s.perturbedGrads, clean.grads, params].forEach(T.dispose);
      clean.loss.dispose();
      T.disposeState(state);
      state = s.state;
      params = p2;
    }
    [params, vt].forEach(T.dispose);
    T.disposeState(state);
    q.dispose();
  });

  it('Adam: matches the analytic derivative of its update, worked out in float64', () => {
    const [lr, b1, b2, eps] = [0.01, 0.9, 0.999, 1e-8];
    const opt = sam(adam(lr, { b1, b2, eps }), { rho: 0.1 });
    const q = quadratic();
    let params = toTree(W0);
    let state = opt.init(params);
    const vt = toTree(v);
    let m = hmap(W0, () => 0);
    let s2 = hmap(W0, () => 0);
    for (let t = 1; t <= 3; t++) {
      const clean = q.gradFn(params);
      const s = opt.step(clean.grads, state, params, { gradFn: q.gradFn });
      const gp = toHost(s.perturbedGrads);
      // Adam at step t as a function of this g_p: u = −lr m̂/(√v̂ + ε), m̂ = (b1 m + (1−b1) g)/(1−b1^t),
      // v̂ = (b2 v + (1−b2) g²)/(1−b2^t); du/dg is diagonal
      const c1 = 1 - b1 ** t;
      const c2 = 1 - b2 ** t;
      const want = hmap(gp, (g, i, k) => {
        const mh = (b1 * m[k]![i]! + (1 - b1) * g) / c1;
        const vh = (b2 * s2[k]![i]! + (1 - b2) * g * g) / c2;
        const sq = Math.sqrt(vh);
        const dm = (1 - b1) / c1;
        const dv = (2 * (1 - b2) * g) / c2;
        const du = -lr * (dm / (sq + eps) - (mh / (sq + eps) ** 2) * (dv / (2 * sq)));
        return du * v[k]![i]!;
      });
      const tan = tangentOf(s, state.outer, params, q.gradFn)(vt);
      // central difference, truncation O(h²) with h = 1e-3·max(1, ‖g_p‖)/‖v‖, plus float32 rounding of
      // updates of size lr over 2h: ~1e-3 relative of lr·‖v‖/‖g_p‖; atol covers entries near 0
      expectClose(tan, want, 2e-3, 2e-6);
      m = hzipMap(m, gp, (a, g) => b1 * a + (1 - b1) * g);
      s2 = hzipMap(s2, gp, (a, g) => b2 * a + (1 - b2) * g * g);
      const p2 = T.add(params, s.updates);
      [tan, s.updates, s.direction, s.perturbedGrads, clean.grads, params].forEach(T.dispose);
      clean.loss.dispose();
      T.disposeState(state);
      state = s.state;
      params = p2;
    }
    [params, vt].forEach(T.dispose);
    T.disposeState(state);
    q.dispose();
  });

  it('goes through the combiner (GSAM): equals the difference of whole updates', () => {
    const opt = gsam(sgd(0.1), { rho: 0.1, alpha: 0.5 });
    const q = quadratic();
    const params = toTree(W0);
    const state = opt.init(params);
    const clean = q.gradFn(params);
    const s = opt.step(clean.grads, state, params, { gradFn: q.gradFn });
    // a combiner is not assumed affine: the descent declares no scale, the tangent is differenced
    expect(s.descent.gradientScale).toBeUndefined();
    const vt = toTree(v);
    const tanT = tangentOf(s, state.outer, params, q.gradFn)(vt);
    const tan = toHost(tanT);
    [vt, tanT].forEach(T.dispose);
    // by hand: u(g_p) = −lr (g_p − α(g − ⟨g, ĝ_p⟩ĝ_p)); central difference in float64
    const g = hgrad(W0);
    const gp = toHost(s.perturbedGrads);
    const u = (p: HostTree) => {
      const up = hunit(p);
      const dotv = Object.keys(g).reduce((a, k) => a + g[k]!.reduce((b, x, i) => b + x * up[k]![i]!, 0), 0);
      return hmap(p, (x, i, k) => -0.1 * (x - 0.5 * (g[k]![i]! - dotv * up[k]![i]!)));
    };
    const h = 1e-6;
    const plus = u(hadd(gp, hscale(v, h)));
    const minus = u(hadd(gp, hscale(v, -h)));
    expectClose(tan, hmap(plus, (x, i, k) => (x - minus[k]![i]!) / (2 * h)), 2e-3, 2e-6);
    [s.updates, s.direction, s.perturbedGrads, clean.grads, params].forEach(T.dispose);
    clean.loss.dispose();
    T.disposeState(state);
    T.disposeState(s.state);
    q.dispose();
  });
});

