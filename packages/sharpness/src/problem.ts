/**
 * What every sharpness measure is taken of: a point w (the trained parameters) and a loss on a
 * data subset, given as chunks so that memory is bounded by one chunk, not by the subset:
 *
 *   L(w) = Σ_i c_i L_i(w),   ∇L = Σ_i c_i ∇L_i,   H·v = Σ_i c_i H_i·v
 *
 * with L_i the mean loss on chunk i and c_i its share of the subset (n_i / n; the weights should
 * sum to 1 for L to be the subset's mean loss). Each L_i is a twice-differentiable function of the
 * parameters (a `LossFn` of @lets/optim: build it from @lets/runtime's softmaxCrossEntropy, and use
 * the model in eval mode so that BatchNorm and dropout do not make it depend on anything but w).
 *
 * Hessian–vector products come from @lets/bilevel's estimators: 'exact' (double back-propagation,
 * ≈ 2 gradient evaluations of the subset a product), 'fd' and 'central' (differences of the
 * subset's gradient: 1 and 2 evaluations), and 'auto': exact where every op is twice
 * differentiable, else the named fallback ('central' by default) — runtime's `hvp` refuses, naming
 * the op, rather than returning a wrong number, and 'auto' switches on that refusal.
 */
import * as tf from '@tensorflow/tfjs-core';
import { exactHvp, hvpEstimator, type HvpEstimator } from '@lets/bilevel';
import { gradFnOf, type GradFn, type GradResult, type LossFn } from '@lets/optim';
import { dispose, type Params } from '@lets/tree';

/** One chunk of the data subset: its mean loss as a function of the params, and its weight c_i. */
export interface Chunk {
  readonly lossFn: LossFn;
  /** c_i = n_i / n (share of the subset). */
  readonly weight: number;
}

/** The point and the chunked loss a measure is taken at. Nothing in it is mutated or disposed. */
export interface SharpnessProblem {
  readonly params: Params;
  readonly chunks: readonly Chunk[];
}

/** Estimators of H·v a measure can use; 'auto' is 'exact' with a finite-difference fallback. */
export type SharpnessEstimator = 'auto' | 'exact' | 'fd' | 'central';

/** Progress of a measure: `done` of `total` units (HVPs, loss evaluations) of `measure`. */
export interface ProgressEvent {
  readonly measure: 'eigenvalues' | 'trace' | 'msharpness' | 'landscape';
  readonly done: number;
  readonly total: number;
  /** The current estimate, when the measure has one (λ_max, the trace, the sharpness). */
  readonly estimate?: number;
}
export type OnProgress = (event: ProgressEvent) => void;

/** Options every Hessian-based measure takes. */
export interface HessianOptions {
  /** Default 'auto'. */
  readonly estimator?: SharpnessEstimator;
  /** Estimator 'auto' falls back to when 'exact' is refused (default 'central'). */
  readonly fallback?: 'fd' | 'central';
  /** relStep of the difference estimators (see @lets/bilevel `differenceStep`). */
  readonly relStep?: number;
  readonly onProgress?: OnProgress;
}

const checkProblem = (p: SharpnessProblem, what: string): void => {
  if (p.chunks.length === 0) throw new Error(`${what}: the problem has no chunks (an empty data subset)`);
  for (const [i, c] of p.chunks.entries()) {
    if (!(Number.isFinite(c.weight) && c.weight > 0)) throw new Error(`${what}: chunk ${i} has weight ${c.weight}; expected a finite number > 0`);
  }
  if (Object.keys(p.params).length === 0) throw new Error(`${what}: params is empty`);
};

const scalar = (t: tf.Tensor): number => (t.dataSync() as Float32Array)[0] as number;

/** acc ← acc + c·x (disposes the old acc and x). */
const accumulate = (acc: Params | undefined, x: Params, c: number): Params => {
  const out = tf.tidy(() => {
    const r: Record<string, tf.Tensor> = {};
    for (const k of Object.keys(x)) r[k] = acc === undefined ? tf.mul(x[k]!, c) : tf.add(acc[k]!, tf.mul(x[k]!, c));
    return r;
  });
  if (acc !== undefined) dispose(acc);
  dispose(x);
  return out;
};

/** L(w) = Σ c_i L_i(w) as a host number, one chunk in memory at a time. */
export const lossAt = (problem: SharpnessProblem, params: Params = problem.params): number => {
  checkProblem(problem, 'lossAt');
  let total = 0;
  for (const c of problem.chunks) {
    const l = tf.tidy(() => c.lossFn(params));
    total += c.weight * scalar(l);
    l.dispose();
  }
  return total;
};

/** L(w) and ∇L(w) = Σ c_i ∇L_i(w), one chunk in memory at a time (the gradient owned by the caller). */
export const gradAt = (problem: SharpnessProblem, params: Params = problem.params): { loss: number; grads: Params } => {
  checkProblem(problem, 'gradAt');
  let loss = 0;
  let grads: Params | undefined;
  for (const c of problem.chunks) {
    const r = gradFnOf(c.lossFn)(params);
    loss += c.weight * scalar(r.loss);
    r.loss.dispose();
    grads = accumulate(grads, r.grads, c.weight);
  }
  return { loss, grads: grads as Params };
};

/** The subset's loss and gradient as a GradFn (what the difference estimators differentiate). */
const totalGradFn =
  (problem: SharpnessProblem): GradFn =>
  (params: Params): GradResult => {
    const r = gradAt(problem, params);
    return { loss: tf.scalar(r.loss), grads: r.grads };
  };

/**
 * H·v of the subset's loss at `problem.params`, with its cost: one call is `gradEvals`
 * subset-gradient evaluations. Built once per measure: the difference estimators keep ∇L(w)
 * ('fd' needs it every product); 'auto' settles on 'exact' or the fallback at the first product.
 */
export interface HessianOperator {
  readonly apply: (v: Params) => Params;
  /** The estimator in use ('auto' resolves at the first product). */
  readonly estimator: () => 'exact' | 'fd' | 'central';
  /** Products taken so far. */
  readonly products: () => number;
  /** Gradient evaluations of the subset per product (exact ≈ 2, fd 1, central 2). */
  readonly gradEvals: () => number;
  /** Why 'auto' fell back, when it did. */
  readonly fallbackReason: () => string | undefined;
  /** Releases what the operator keeps (∇L(w) for 'fd'). */
  readonly dispose: () => void;
}

export const hessianOperator = (problem: SharpnessProblem, options: HessianOptions = {}): HessianOperator => {
  checkProblem(problem, 'hessianOperator');
  const requested = options.estimator ?? 'auto';
  const fallback = options.fallback ?? 'central';
  if (!['auto', 'exact', 'fd', 'central'].includes(requested)) {
    throw new Error(`hessianOperator: estimator must be one of auto, exact, fd, central; got '${String(requested)}'`);
  }
  let name: 'exact' | 'fd' | 'central' | undefined = requested === 'auto' ? undefined : requested;
  let reason: string | undefined;
  let grads0: Params | undefined;
  let count = 0;
  const exact = exactHvp();
  let difference: HvpEstimator | undefined;
  const diffOpts = options.relStep === undefined ? {} : { relStep: options.relStep };

  const exactProduct = (v: Params): Params => {
    let acc: Params | undefined;
    try {
      for (const c of problem.chunks) acc = accumulate(acc, exact.hvp({ params: problem.params, lossFn: c.lossFn }, v), c.weight);
    } catch (e) {
      if (acc !== undefined) dispose(acc);
      throw e;
    }
    return acc as Params;
  };
  const differenceProduct = (which: 'fd' | 'central', v: Params): Params => {
    difference ??= hvpEstimator(which, diffOpts);
    if (which === 'fd' && grads0 === undefined) grads0 = gradAt(problem).grads;
    return difference.hvp({ params: problem.params, gradFn: totalGradFn(problem), ...(grads0 ? { grads: grads0 } : {}) }, v);
  };

  const apply = (v: Params): Params => {
    let out: Params;
    if (name === undefined) {
      try {
        out = exactProduct(v);
        name = 'exact';
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        if (!msg.startsWith('hvp:')) throw e;
        reason = msg;
        name = fallback;
        out = differenceProduct(fallback, v);
      }
    } else out = name === 'exact' ? exactProduct(v) : differenceProduct(name, v);
    count++;
    return out;
  };
  return {
    apply,
    estimator: () => name ?? 'exact',
    products: () => count,
    gradEvals: () => (name === 'fd' ? 1 : 2),
    fallbackReason: () => reason,
    dispose: () => {
      if (grads0 !== undefined) dispose(grads0);
      grads0 = undefined;
    },
  };
};
