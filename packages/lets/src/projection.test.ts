/**
 * LETS's `tangentProjection` (docs/lets.md, "Step-length-neutral tangents").
 *
 * 1. Hypergradient checks: with a projection, the dF/dρ LETS reports at step t+1 is the exact
 *    derivative of a modified one-step objective, checked against a Richardson central difference
 *    of it (≤ 1 % exact, ≤ 5 % fd) for SGD, momentum, weight decay in the chain and Adam:
 *      'gradient':  F(θ_t + U(ρ) − ⟨U(ρ) − U(ρ₀), ĝ⟩ ĝ)     (the step's length along g held at ρ₀'s)
 *      'update':    F(θ_t + ‖U(ρ₀)‖ U(ρ)/‖U(ρ)‖)           (a step of fixed length)
 *    with U(ρ) the variant's update at ρ and ĝ the clean gradient's direction at θ_t.
 * 2. A constructed quadratic with a known answer: L_tr = ½(w − a)ᵀH(w − a), SAM + SGD, and a
 *    validation loss ½(w − b)ᵀH(w − b). With b = a (validation has nothing to add) the plain
 *    one-step hypergradient still says "raise ρ" (−η‖g‖ nᵀHn < 0: a larger ρ lengthens the step
 *    along high curvature), the projected one does not. With b displaced along ±H⁻¹(I − ĝĝᵀ)Hn
 *    (validation wants more, or less, of the turn that ρ gives the step), the projected
 *    hypergradient has the matching sign while the plain one says "raise ρ" both times.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as T from '@lets/tree';
import type { Params } from '@lets/tree';
import { adam, addDecayedWeights, applyUpdates, chain, sgd, type GradFn, type GradientTransformation, type LossFn } from '@lets/optim';
import { sam, withRho } from '@lets/sam';
import { projectOut } from '@lets/bilevel';
import { lets, type LetsState } from './lets';
import { type Batch, disposeBatch, gradOf, lossOf, makeBatch, mlpInit, num, setupCpu, stepInputs } from './test-util';

beforeAll(setupCpu);

const outers: [string, () => GradientTransformation<any>][] = [
  ['SGD', () => sgd(0.5)],
  ['SGD + momentum', () => sgd(0.5, { momentum: 0.9 })],
  ['weight decay in the chain', () => chain(addDecayedWeights(0.05), sgd(0.5, { momentum: 0.9 }))],
  ['Adam', () => adam(0.3)],
];

const richardson = (f: (x: number) => number, x: number, h: number): number => {
  const D = (s: number) => (f(x + s) - f(x - s)) / (2 * s);
  return (4 * D(h / 2) - D(h)) / 3;
};

const projections = ['gradient', 'update'] as const;
const cases = outers.flatMap(([o, make]) => projections.map((p) => [`${o}, projection ${p}`, make, p] as const));

describe.each(cases)('projected hypergradient vs finite differences (%s)', (_name, makeOuter, projection) => {
  it.each([
    ['exact', 0.01],
    ['fd', 0.05],
  ] as const)('%s within %p relative error', (estimator, tol) => {
    const before = tf.memory().numTensors;
    const rho0 = 0.2;
    const batches = [makeBatch(48, 5, 3, 1), makeBatch(48, 5, 3, 2), makeBatch(48, 5, 3, 3)];
    const val: Batch = makeBatch(48, 5, 3, 4, 1);
    const opt = lets(sam(makeOuter(), { rho: rho0 }), { estimator, every: 1, rhoOptimizer: sgd(0), objective: 'val', tangentProjection: projection, stallGuard: false });
    let params: Params = mlpInit(5, 8, 3, 10);
    let state: LetsState<any> = opt.init(params);
    const saved: { variant?: LetsState<any>['variant']; state?: LetsState<any>; params?: Params; grads?: Params; extra?: any } = {};
    let reported = NaN;
    for (let t = 0; t < 3; t++) {
      const inp = stepInputs(params, batches[t]!, val);
      if (t === 1) Object.assign(saved, { state, variant: state.variant, params, grads: inp.grads, extra: inp.extra });
      const [u, next] = opt.update(inp.grads, state, params, inp.extra);
      if (t === 2) reported = next.report!.hypergradient!;
      const p2 = applyUpdates(params, u);
      T.dispose(u);
      if (t !== 1) {
        T.dispose(inp.grads);
        inp.loss.dispose();
        T.dispose(params);
        T.disposeState(state);
      }
      params = p2;
      state = next;
    }
    const updateAt = (rho: number): Params => {
      const s = opt.variant.step(saved.grads!, withRho(saved.variant!, rho), saved.params!, saved.extra);
      [s.direction, s.perturbedGrads].forEach(T.dispose);
      T.disposeState(s.state);
      return s.updates;
    };
    const u0 = updateAt(rho0);
    const ghat = tf.tidy(() => T.scaleBy(saved.grads!, 1 / num(T.norm(saved.grads!))));
    const u0Norm = tf.tidy(() => num(T.norm(u0)));
    // The modified one-step objective whose exact derivative the projection is.
    const F = (rho: number): number => {
      const u = updateAt(rho);
      const step = tf.tidy(() =>
        projection === 'gradient'
          ? T.addScaled(u, -num(T.vdot(T.sub(u, u0), ghat)), ghat)
          : T.scaleBy(u, u0Norm / num(T.norm(u))),
      );
      const p1 = applyUpdates(saved.params!, step);
      const lv = lossOf(val)(p1);
      const value = num(lv);
      [u, step, p1].forEach(T.dispose);
      lv.dispose();
      return value;
    };
    const reference = richardson(F, rho0, 0.04);
    expect(Math.abs(reference)).toBeGreaterThan(1e-4);
    const rel = Math.abs(reported - reference) / Math.abs(reference);
    if (process.env.LETS_VERBOSE) console.log(`${_name} ${estimator}: dF/dρ ${reported} vs ${reference}, rel ${rel}`);
    expect(rel).toBeLessThan(tol);

    T.dispose(u0);
    T.dispose(ghat);
    T.disposeState(saved.state);
    T.dispose(saved.params!);
    T.dispose(saved.grads!);
    (saved.extra.loss as tf.Scalar).dispose();
    T.dispose(params);
    T.disposeState(state);
    [...batches, val].forEach(disposeBatch);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('projectOut', () => {
  it('removes exactly the component along v, leaves an orthogonal tangent alone, and ignores a zero v', () => {
    const before = tf.memory().numTensors;
    const tau = { a: tf.tensor1d([3, -1]), b: tf.tensor1d([2]) };
    const v = { a: tf.tensor1d([1, 1]), b: tf.tensor1d([1]) };
    // ⟨τ, v⟩ = 4, ‖v‖² = 3: τ − (4/3) v = (5/3, −7/3, 2/3)
    const p = projectOut(tau, v);
    expect(Array.from(p['a']!.dataSync())).toEqual([expect.closeTo(5 / 3, 6), expect.closeTo(-7 / 3, 6)]);
    expect(p['b']!.dataSync()[0]).toBeCloseTo(2 / 3, 6);
    expect(tf.tidy(() => num(T.vdot(p, v)))).toBeCloseTo(0, 6);
    const again = projectOut(p, v);
    expect(tf.tidy(() => num(T.norm(T.sub(again, p))))).toBeLessThan(1e-6);
    const zero = { a: tf.zeros([2]), b: tf.zeros([1]) };
    const same = projectOut(tau, zero);
    expect(Array.from(same['a']!.dataSync())).toEqual([3, -1]);
    [tau, v, p, again, zero, same].forEach(T.dispose);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('a constructed quadratic: what the projection changes', () => {
  // H = diag(1, 10), w₀ − a = (1, 1), SGD η = 0.05, ρ = 0.05.
  const h = [1, 10];
  const a = [0, 0];
  const w0 = [1, 1];
  const eta = 0.05;
  const rho = 0.05;
  const dot = (x: number[], y: number[]) => x.reduce((s, xi, i) => s + xi * y[i]!, 0);
  const g = w0.map((w, i) => h[i]! * (w - a[i]!));
  const gn = Math.sqrt(dot(g, g));
  const n = g.map((x) => x / gn);
  const hn = n.map((x, i) => h[i]! * x);
  const phn = hn.map((x, i) => x - dot(hn, n) * n[i]!); // (I − nnᵀ)Hn; here ĝ = n
  /** dF/dρ of F = L_val(w₁) in float64, with τ = −ηHn projected or not. */
  const analytic = (b: number[], projected: boolean): number => {
    const gp = g.map((x, i) => x + rho * hn[i]!);
    const w1 = w0.map((w, i) => w - eta * gp[i]!);
    const gv = w1.map((w, i) => h[i]! * (w - b[i]!));
    const tau = (projected ? phn : hn).map((x) => -eta * x);
    return dot(gv, tau);
  };
  const quadLoss = (c: number[]): LossFn => {
    const ct = tf.tensor1d(c);
    const ht = tf.tensor1d(h);
    return (p: Params) => tf.tidy(() => tf.mul(0.5, tf.sum(tf.mul(ht, tf.square(tf.sub(p['w']!, ct))))) as tf.Scalar);
  };
  /** Float32 against float64: 10⁻⁴ relative, 10⁻⁶ absolute. */
  const expectNear = (x: number, ref: number): void => expect(Math.abs(x - ref)).toBeLessThan(1e-4 * Math.abs(ref) + 1e-6);
  /** The hypergradient LETS reports at step 1 (SAM + SGD, k = 1, 'exact'). */
  const reported = (b: number[], projection: 'none' | 'gradient'): number => {
    const train = quadLoss(a);
    const gradFn: GradFn = gradOf(train);
    const valGradFn: GradFn = gradOf(quadLoss(b));
    const opt = lets(sam(sgd(eta), { rho }), { estimator: 'exact', every: 1, rhoOptimizer: sgd(0), objective: 'val', tangentProjection: projection, stallGuard: false });
    let params: Params = { w: tf.tensor1d(w0) };
    let state = opt.init(params);
    let out = NaN;
    for (let t = 0; t < 2; t++) {
      const clean = gradFn(params);
      const [u, next] = opt.update(clean.grads, state, params, { loss: clean.loss, gradFn, valGradFn, lossFn: train });
      if (t === 1) out = next.report!.hypergradient!;
      const p2 = applyUpdates(params, u);
      [u, clean.grads, params].forEach(T.dispose);
      clean.loss.dispose();
      T.disposeState(state);
      params = p2;
      state = next;
    }
    T.dispose(params);
    T.disposeState(state);
    return out;
  };

  it('with validation = training, the plain hypergradient raises ρ and the projected one does not', () => {
    const plain = reported(a, 'none');
    const projected = reported(a, 'gradient');
    expectNear(plain, analytic(a, false));
    expectNear(projected, analytic(a, true));
    expect(plain).toBeLessThan(0); // −η‖g‖nᵀHn + O(η²): a larger ρ looks better, as a larger η would
    expect(projected).toBeGreaterThan(0); // η²⟨H g_p, (I − nnᵀ)Hn⟩ ≥ 0: no credit for the longer step
    expect(Math.abs(projected)).toBeLessThan(0.1 * Math.abs(plain));
  });

  it.each([
    [+1, 'more of the turn: ρ up (dF/dρ < 0)'],
    [-1, 'less of the turn: ρ down (dF/dρ > 0)'],
  ] as const)('validation wanting %p × the turn that ρ gives the step: %s', (sign, _what) => {
    // b = a − c H⁻¹(I − nnᵀ)Hn moves ∇L_val(w₁) by c(I − nnᵀ)Hn, so ⟨∇L_val, τ⊥⟩ gains −ηc‖(I − nnᵀ)Hn‖².
    const c = sign * 3;
    const b = a.map((x, i) => x - (c * phn[i]!) / h[i]!);
    const plain = reported(b, 'none');
    const projected = reported(b, 'gradient');
    expectNear(projected, analytic(b, true));
    expectNear(plain, analytic(b, false));
    expect(plain).toBeLessThan(0); // the plain one says "raise ρ" either way
    expect(Math.sign(projected)).toBe(-sign);
  });
});
