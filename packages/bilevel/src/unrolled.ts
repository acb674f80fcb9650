/**
 * Hypergradient through T unrolled lower steps by reverse accumulation (back-propagation
 * through the whole trajectory, Maclaurin et al. 2015; Franceschi et al. 2017, "Forward and
 * reverse gradient-based hyperparameter optimization"):
 *
 *   (θ_{t+1}, a_{t+1}) = step(θ_t, a_t, λ, t),  t = 0 … T−1          a: auxiliary state (momentum)
 *   dF(θ_T)/dλ        by the chain rule through every step, accumulated backwards by tfjs's tape
 *
 * `step` is written in tfjs ops and may itself take gradients of the lower loss (tf.grads),
 * in which case the result involves second derivatives and the loss must be twice
 * differentiable (@lets/runtime's gradients and losses). Exact to float32 rounding. Cost: T
 * steps forward plus their backward pass; memory O(T) (the whole tape is kept): a tool for
 * studies on small problems, not for training. T = 1 is the exact one-step hypergradient.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Params } from '@lets/tree';

export interface UnrolledProblem {
  /** θ_0 (not disposed). */
  readonly params: Params;
  /** Auxiliary lower state a_0 (momentum buffers), a tree; default empty. */
  readonly aux?: Params;
  /** λ, one or a few hyperparameters. */
  readonly hyper: readonly number[];
  /** One lower step from (θ_t, a_t) with hyperparameters λ (a rank-1 tensor), in tfjs ops. */
  readonly step: (params: Params, aux: Params, hyper: tf.Tensor1D, t: number) => { params: Params; aux?: Params };
  /** The upper objective F(θ_T) (it may also read λ). */
  readonly upper: (params: Params, hyper: tf.Tensor1D) => tf.Scalar;
  /** T, the number of unrolled steps (default 1). */
  readonly steps?: number;
}

export interface UnrolledResult {
  /** F(θ_T). */
  readonly value: number;
  /** dF/dλ, one entry per hyperparameter. */
  readonly hypergradient: number[];
}

export const unrolledHypergradient = (problem: UnrolledProblem): UnrolledResult => {
  const T = problem.steps ?? 1;
  if (!Number.isInteger(T) || T < 1) throw new Error(`unrolledHypergradient: steps must be an integer ≥ 1, got ${T}`);
  if (problem.hyper.length === 0 || !problem.hyper.every(Number.isFinite)) {
    throw new Error(`unrolledHypergradient: hyper must be a non-empty list of finite numbers, got [${problem.hyper.join(', ')}]`);
  }
  return tf.tidy(() => {
    const lambda = tf.tensor1d(problem.hyper as number[], 'float32');
    const objective = (l: tf.Tensor): tf.Scalar => {
      let params = problem.params;
      let aux: Params = problem.aux ?? {};
      for (let t = 0; t < T; t++) {
        const next = problem.step(params, aux, l as tf.Tensor1D, t);
        params = next.params;
        aux = next.aux ?? {};
      }
      return problem.upper(params, l as tf.Tensor1D);
    };
    const { value, grad } = tf.valueAndGrad(objective)(lambda);
    return {
      value: (value.dataSync() as Float32Array)[0] as number,
      hypergradient: Array.from(grad.dataSync()),
    };
  });
};
