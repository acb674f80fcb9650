/**
 * The done-when check of LETS's hypergradient: on a softplus MLP, the dF/dρ LETS reports at
 * step t+1 matches a central finite difference of the one-step unrolled objective, for each
 * upper objective (δ = L(B^vl; θ_{t+1}(ρ)) − L(B^tr_{t+1}; θ_{t+1}(ρ)), θ_{t+1}(ρ) = θ_t + SAM step with ρ)
 *   gap:    F(ρ) = ½ δ²
 *   val:    F(ρ) = L(B^vl; θ_{t+1}(ρ))
 *   gapVal: F(ρ) = ½ δ² + λ L(B^vl; θ_{t+1}(ρ))     (λ = 0.7)
 *   val with the expected error as validation loss: F(ρ) = E(B^vl; θ_{t+1}(ρ)), E = mean(1 − p_y)
 * within 1% ('exact') and 5% ('fd'), for plain SGD, SGD + momentum, weight decay in the chain and Adam,
 * with the plain tangent (tangentProjection 'none'; the projections are checked in projection.test.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as T from '@lets/tree';
import type { Params } from '@lets/tree';
import { adam, addDecayedWeights, applyUpdates, chain, sgd, type GradientTransformation } from '@lets/optim';
import { sam, withRho } from '@lets/sam';
import { lets, type LetsState } from './lets';
import { type Batch, disposeBatch, errorOf, lossOf, makeBatch, mlpInit, num, setupCpu, stepInputs } from './test-util';

beforeAll(setupCpu);

const outers: [string, () => GradientTransformation<any>][] = [
  ['SGD', () => sgd(0.5)],
  ['SGD + momentum', () => sgd(0.5, { momentum: 0.9 })],
  ['weight decay in the chain', () => chain(addDecayedWeights(0.05), sgd(0.5, { momentum: 0.9 }))],
  // Adaptive outer: ∂U/∂g_p is Adam's current preconditioner, taken by @lets/bilevel's gradientTangent of the step's descent.
  ['Adam', () => adam(0.3)],
];

const richardson = (f: (x: number) => number, x: number, h: number): number => {
  const D = (s: number) => (f(x + s) - f(x - s)) / (2 * s);
  return (4 * D(h / 2) - D(h)) / 3;
};

const objectives = [
  ['gap', 'gap', (lv: number, lt: number) => 0.5 * (lv - lt) ** 2, lossOf],
  ['val', 'val', (lv: number) => lv, lossOf],
  ['gapVal', 'gapVal', (lv: number, lt: number) => 0.5 * (lv - lt) ** 2 + 0.7 * lv, lossOf],
  ['val (expected error)', 'val', (lv: number) => lv, errorOf],
] as const;
const cases = outers.flatMap(([o, make]) => objectives.map(([label, name, f, valLossOf]) => [`${o}, objective ${label}`, make, name, f, valLossOf] as const));

describe.each(cases)('LETS hypergradient vs finite differences of F(ρ) (%s)', (_name, makeOuter, objective, objectiveOf, valLossOf) => {
  it.each([
    ['exact', 0.01],
    ['fd', 0.05],
  ] as const)('%s within %p relative error', (estimator, tol) => {
    const before = tf.memory().numTensors;
    const rho0 = 0.2;
    const batches = [makeBatch(48, 5, 3, 1), makeBatch(48, 5, 3, 2), makeBatch(48, 5, 3, 3)];
    const val: Batch = makeBatch(48, 5, 3, 4, 1); // shifted labels: a large gap
    const opt = lets(sam(makeOuter(), { rho: rho0 }), { estimator, every: 1, rhoOptimizer: sgd(0), objective, lambda: 0.7, stallGuard: false, tangentProjection: 'none' });
    let params: Params = mlpInit(5, 8, 3, 10);
    let state: LetsState<any> = opt.init(params);

    // Steps A (warm-up: a non-zero momentum buffer) and B (computes τ_B), then C reports dF/dρ of B.
    const inputsOf: { state?: LetsState<any>; variant?: LetsState<any>['variant']; params?: Params; grads?: Params; extra?: any } = {};
    let reported = NaN;
    for (let t = 0; t < 3; t++) {
      const inp = stepInputs(params, batches[t]!, val, valLossOf);
      if (t === 1) Object.assign(inputsOf, { state, variant: state.variant, params, grads: inp.grads, extra: inp.extra });
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
    // F(ρ) from B's inputs: re-run the variant's step with ρ.
    const F = (rho: number): number => {
      const s = opt.variant.step(inputsOf.grads!, withRho(inputsOf.variant!, rho), inputsOf.params!, inputsOf.extra);
      const p1 = applyUpdates(inputsOf.params!, s.updates);
      const lv = valLossOf(val)(p1);
      const lt = lossOf(batches[2]!)(p1);
      const value = objectiveOf(num(lv), num(lt));
      [s.updates, s.direction, s.perturbedGrads, p1].forEach(T.dispose);
      T.disposeState(s.state);
      lv.dispose();
      lt.dispose();
      return value;
    };
    // h = 0.04 on ρ = 0.2; Richardson makes truncation O(h⁴) while the F differences stay far
    // above float32 rounding of the losses (|dF/dρ|·h ≫ 1e-7·F).
    const reference = richardson(F, rho0, 0.04);
    expect(Math.abs(reference)).toBeGreaterThan(1e-4);
    const rel = Math.abs(reported - reference) / Math.abs(reference);
    if (process.env.LETS_VERBOSE) console.log(`${_name} ${estimator}: dF/dρ ${reported} vs ${reference}, rel ${rel}`);
    expect(rel).toBeLessThan(tol);

    T.disposeState(inputsOf.state);
    T.dispose(inputsOf.params!);
    T.dispose(inputsOf.grads!);
    (inputsOf.extra.loss as tf.Scalar).dispose();
    T.dispose(params);
    T.disposeState(state);
    [...batches, val].forEach(disposeBatch);
    expect(tf.memory().numTensors).toBe(before);
  });
});
