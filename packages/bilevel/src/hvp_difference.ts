/**
 * Finite differences of the gradient along v (Nocedal & Wright §8.1):
 *
 *   'fd'      H·v ≈ (∇L(x + h v) − ∇L(x)) / h           error O(h ‖∇³L‖), 1 gradient (2 without ∇L(x))
 *   'central' H·v ≈ (∇L(x + h v) − ∇L(x − h v)) / (2h)  error O(h² ‖∇⁴L‖), 2 gradients
 *
 * with h = relStep · max(1, ‖x‖) / ‖v‖. Exact in exact arithmetic for a loss that is quadratic
 * ('fd') or cubic ('central') along v; in float32 the rounding error is about
 * eps·‖∇L‖/(h‖v‖), hence the step relative to ‖x‖ (defaults relStep 1e-3 and 1e-2, near
 * the optimum sqrt(eps) and eps^(1/3) of float32 for well-scaled problems).
 * Along SAM's direction (x = θ + ρ n, v = n) 'fd' is the derivative of g_p(ρ) = ∇L(θ + ρ n)
 * in ρ, the quantity LETS needs. Across ReLU kinks it measures a smoothed curvature.
 */
import * as tf from '@tensorflow/tfjs-core';
import { addScaled, dispose, scaledDifference, vdots, type Params } from '@lets/tree';
import type { GradFn } from '@lets/optim';
import { type DifferenceOptions, type HvpEstimator, type HvpProblem, required } from './hvp';

/**
 * The one step rule of every difference in @lets/bilevel (the HVP estimators, `gradientTangent`,
 * LETS's whole-step tangent): h = relStep · max(1, ‖x‖) / ‖v‖ from the two norms (relStep when
 * ‖v‖ = 0, whose product is 0 anyway), so the perturbation h‖v‖ is a fixed fraction of ‖x‖.
 */
export const differenceStepOf = (normX: number, normV: number, relStep: number): number =>
  (relStep * Math.max(1, normX)) / (normV > 0 ? normV : 1);

/** h = relStep · max(1, ‖x‖) / ‖v‖ ({@link differenceStepOf} of the two trees' norms). */
export const differenceStep = (x: Params, v: Params, relStep: number): number => {
  const [nx, nv] = normsOf(x, v);
  return differenceStepOf(nx, nv, relStep);
};

/** [‖x‖, ‖v‖] as host numbers, each the bits of `norm` (tf.sqrt of `vdots`: one kernel and one read where the backend fuses them). */
export const normsOf = (x: Params, v: Params): [number, number] =>
  tf.tidy(() => Array.from(tf.sqrt(vdots([[x, x], [v, v]])).dataSync())) as unknown as [number, number];

const gradsAt = (gradFn: GradFn, x: Params): Params => {
  const r = gradFn(x);
  r.loss.dispose();
  if (r.state !== undefined) dispose(r.state);
  return r.grads;
};

const checkRelStep = (relStep: number, name: string): void => {
  if (!(Number.isFinite(relStep) && relStep > 0)) {
    throw new Error(`hvp '${name}': relStep must be a finite number > 0, got ${relStep}`);
  }
};

export const forwardDifferenceHvp = (options: DifferenceOptions = {}): HvpEstimator => {
  const relStep = options.relStep ?? 1e-3;
  checkRelStep(relStep, 'fd');
  return {
    name: 'fd',
    gradEvals: 1,
    gradEvalsWithoutGrads: 2,
    needs: ['gradFn'],
    hvp: (problem: HvpProblem, v: Params): Params => {
      const gradFn = required(problem.gradFn, 'a gradFn', 'fd');
      const h = differenceStep(problem.params, v, relStep);
      const xh = addScaled(problem.params, h, v);
      const gh = gradsAt(gradFn, xh);
      dispose(xh);
      const g0 = problem.grads ?? gradsAt(gradFn, problem.params);
      const out = scaledDifference(gh, g0, 1 / h);
      dispose(gh);
      if (problem.grads === undefined) dispose(g0);
      return out;
    },
  };
};

export const centralDifferenceHvp = (options: DifferenceOptions = {}): HvpEstimator => {
  const relStep = options.relStep ?? 1e-2;
  checkRelStep(relStep, 'central');
  return {
    name: 'central',
    gradEvals: 2,
    gradEvalsWithoutGrads: 2,
    needs: ['gradFn'],
    hvp: (problem: HvpProblem, v: Params): Params => {
      const gradFn = required(problem.gradFn, 'a gradFn', 'central');
      const h = differenceStep(problem.params, v, relStep);
      const xp = addScaled(problem.params, h, v);
      const gp = gradsAt(gradFn, xp);
      dispose(xp);
      const xm = addScaled(problem.params, -h, v);
      const gm = gradsAt(gradFn, xm);
      dispose(xm);
      const out = scaledDifference(gp, gm, 1 / (2 * h));
      dispose(gp);
      dispose(gm);
      return out;
    },
  };
};
