import * as tf from '@tensorflow/tfjs-core';
import { addScaled, dispose, disposeState, norm, scaleBy, type Params } from '@lets/tree';
import type { GradientTransformation } from '@lets/optim';
import { hvpEstimator } from './hvp_estimator';
import { gapObjective, hyperDot, stepTangent } from './hypergradient';
import { gradientTangent, hyperparameterTangent } from './tangents';
import { unrolledHypergradient } from './unrolled';
import { type Batch, gradFnOf, localSgd, makeBatch, mlpLoss, mlpParams, num, setupCpu } from './test-util';

beforeAll(setupCpu);

// Fixture: a softplus MLP; a training batch for the step, a validation batch whose targets
// are shifted (so the gap δ is far from 0) and the next training batch.
const fixture = () => {
  const tr = makeBatch(32, 4, 2, 1);
  const vl = makeBatch(32, 4, 2, 2, 0.7);
  const tr2 = makeBatch(32, 4, 2, 3);
  const theta = mlpParams(4, 6, 2, 7);
  return { tr, vl, tr2, theta };
};
const disposeBatch = (b: Batch) => {
  b.x.dispose();
  b.y.dispose();
};

/** F(θ') = ½ (L_vl(θ') − L_tr2(θ'))², in float32, as a host number. */
const upperValue = (vl: Batch, tr2: Batch, p: Params): number => {
  const a = mlpLoss(vl)(p);
  const b = mlpLoss(tr2)(p);
  const d = num(a) - num(b);
  a.dispose();
  b.dispose();
  return 0.5 * d * d;
};

/** Central difference of f at x with Richardson extrapolation: (4 D(h/2) − D(h)) / 3, error O(h⁴). */
const richardson = (f: (x: number) => number, x: number, h: number): number => {
  const D = (s: number) => (f(x + s) - f(x - s)) / (2 * s);
  return (4 * D(h / 2) - D(h)) / 3;
};

const outers: [string, number, number][] = [
  ['plain SGD', 0, 0],
  ['SGD + momentum', 0.9, 0],
  ['SGD + weight decay', 0, 5e-2],
];

describe.each(outers)('one unrolled SAM step, hypergradient in ρ (%s)', (_name, momentum, weightDecay) => {
  const lr = 0.5;
  const rho = 0.3;

  it('every estimator against a finite difference of F(ρ); exact also against autodiff', () => {
    const before = tf.memory().numTensors;
    const { tr, vl, tr2, theta } = fixture();
    const outer = localSgd(lr, momentum, weightDecay);
    const trGrad = gradFnOf(mlpLoss(tr));
    // A momentum buffer that is not zero: one warm-up update from init.
    const s0 = outer.init(theta);
    const gWarm = trGrad(theta);
    const [uWarm, state] = outer.update(gWarm.grads, s0, theta);
    [s0, gWarm.grads, uWarm].forEach(disposeState);
    gWarm.loss.dispose();

    // SAM's unit direction n = g/‖g‖ at θ, held fixed.
    const g = trGrad(theta);
    const n = tf.tidy(() => scaleBy(g.grads, tf.div(1, norm(g.grads)) as tf.Scalar));
    const stepAt = (r: number): Params => {
      const x = addScaled(theta, r, n);
      const gp = trGrad(x);
      const [u, s] = outer.update(gp.grads, state, theta);
      const next = addScaled(theta, 1, u);
      [x, gp.grads, u, s].forEach(disposeState);
      gp.loss.dispose();
      return next;
    };
    const F = (r: number) => {
      const p = stepAt(r);
      const v = upperValue(vl, tr2, p);
      dispose(p);
      return v;
    };
    // h = 0.05 on ρ = 0.3: truncation O(h⁴) is negligible and the F difference stays ≫ rounding.
    const reference = richardson(F, rho, 0.05);

    // The estimator path: θ' at ρ, the gap objective there, dθ'/dρ = ∂U/∂g · Ĥ n.
    const x = addScaled(theta, rho, n);
    const gp = trGrad(x);
    const next = stepAt(rho);
    const lv = gradFnOf(mlpLoss(vl))(next);
    const lt = gradFnOf(mlpLoss(tr2))(next);
    const upper = gapObjective(lv.loss, lt.loss, lv.grads, lt.grads);
    expect(Math.abs(upper.gap)).toBeGreaterThan(0.1); // the fixture really has a gap
    const results: Record<string, number> = {};
    for (const name of ['exact', 'fd', 'central', 'fisher', 'identity'] as const) {
      const tangent = stepTangent(
        {
          point: n,
          problem: { params: x, grads: gp.grads, gradFn: trGrad, lossFn: mlpLoss(tr) },
          updateTangent: gradientTangent(outer, gp.grads, state, theta),
        },
        hvpEstimator(name),
      )!;
      results[name] = hyperDot(upper.grads, tangent);
      dispose(tangent);
    }
    const rel = (a: number) => Math.abs(a - reference) / Math.abs(reference);
    expect(Math.abs(reference)).toBeGreaterThan(1e-3);
    expect(rel(results['exact']!)).toBeLessThan(0.01);
    expect(rel(results['central']!)).toBeLessThan(0.01);
    expect(rel(results['fd']!)).toBeLessThan(0.05);
    // 'fisher' and 'identity' are approximations: finite, nothing more is promised.
    expect(Number.isFinite(results['fisher']!)).toBe(true);
    expect(Number.isFinite(results['identity']!)).toBe(true);

    // Autodiff through the same step (reverse accumulation, T = 1) agrees with 'exact'.
    const mBuf = (state as { m: Params }).m;
    const auto = unrolledHypergradient({
      params: theta,
      hyper: [rho],
      step: (p, _aux, lam) => {
        const xr = Object.fromEntries(Object.keys(p).map((k) => [k, tf.add(p[k]!, tf.mul(tf.reshape(lam, []), n[k]!))]));
        const keys = Object.keys(p);
        const gs = tf.grads((...ws: tf.Tensor[]) => mlpLoss(tr)(Object.fromEntries(keys.map((k, i) => [k, ws[i]!]))))(
          keys.map((k) => xr[k]!),
        );
        const out: Record<string, tf.Tensor> = {};
        keys.forEach((k, i) => {
          const d = tf.add(tf.add(gs[i]!, tf.mul(mBuf[k]!, momentum)), tf.mul(p[k]!, weightDecay));
          out[k] = tf.sub(p[k]!, tf.mul(d, lr));
        });
        return { params: out };
      },
      upper: (p) => {
        const d = tf.sub(mlpLoss(vl)(p), mlpLoss(tr2)(p));
        return tf.mul(0.5, tf.square(d)) as tf.Scalar;
      },
    });
    expect(Math.abs(auto.hypergradient[0]! - results['exact']!) / Math.abs(reference)).toBeLessThan(2e-3);
    expect(auto.value).toBeCloseTo(upper.value, 4);

    [x, gp.grads, next, lv.grads, lt.grads, upper.grads, n, g.grads, theta, state].forEach(disposeState);
    [gp.loss, lv.loss, lt.loss, g.loss].forEach((t) => t.dispose());
    [tr, vl, tr2].forEach(disposeBatch);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('hypergradients in the learning rate and the weight decay (direct terms)', () => {
  it.each([
    ['learning rate', (l: number) => localSgd(l, 0.9, 1e-2), 0.3],
    ['weight decay', (l: number) => localSgd(0.3, 0.9, l), 0.05],
  ] as [string, (l: number) => GradientTransformation<{ m: Params }>, number][])('%s', (_name, make, lambda) => {
    const before = tf.memory().numTensors;
    const { tr, vl, tr2, theta } = fixture();
    const g = gradFnOf(mlpLoss(tr))(theta);
    const state = make(lambda).init(theta);
    const stepAt = (l: number): Params => {
      const [u, s] = make(l).update(g.grads, state, theta);
      const next = addScaled(theta, 1, u);
      disposeState(s);
      dispose(u);
      return next;
    };
    const F = (l: number) => {
      const p = stepAt(l);
      const v = upperValue(vl, tr2, p);
      dispose(p);
      return v;
    };
    const reference = richardson(F, lambda, 0.02);
    const next = stepAt(lambda);
    const lv = gradFnOf(mlpLoss(vl))(next);
    const lt = gradFnOf(mlpLoss(tr2))(next);
    const upper = gapObjective(lv.loss, lt.loss, lv.grads, lt.grads);
    const direct = hyperparameterTangent(make, lambda, g.grads, state, theta);
    const tangent = stepTangent({ direct }, hvpEstimator('identity'))!;
    const hg = hyperDot(upper.grads, tangent);
    expect(Math.abs(hg - reference) / Math.abs(reference)).toBeLessThan(0.01);
    expect(stepTangent({}, hvpEstimator('identity'))).toBeUndefined();
    [g.grads, next, lv.grads, lt.grads, upper.grads, direct, tangent, theta, state].forEach(disposeState);
    [g.loss, lv.loss, lt.loss].forEach((t) => t.dispose());
    [tr, vl, tr2].forEach(disposeBatch);
    expect(tf.memory().numTensors).toBe(before);
  });
});
