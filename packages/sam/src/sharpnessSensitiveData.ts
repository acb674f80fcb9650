import * as tf from '@tensorflow/tfjs-core';
import * as T from '@lets/tree';
import type { Params } from '@lets/tree';
import type { Combiner, Procedure } from './types';
import { perturbedGradient } from './combiners';
import { twoPass } from './twoPass';
import { checkNumber, disposeAll, perturbedAt } from './numerics';

const EMPTY = {} as Record<string, never>;

/**
 * ESAM's sharpness-sensitive data selection (Du et al. 2022, "Efficient Sharpness-aware
 * Minimization for Improved Training of Neural Networks", ICLR): the perturbed pass runs only on
 * the ⌊γB⌋ samples (at least one) whose loss rises most under the perturbation,
 *
 *   s_i = ℓ_i(w + ε) − ℓ_i(w),   B' = top-⌊γB⌋ of s,   g_p = ∇L_{B'}(w + ε).
 *
 * Needs `extra.sampleLossFn` (per-sample losses: two forward passes) and `extra.subsetGradFn`
 * (one gradient evaluation on B', through `ctx.gradAt`: counted and checked) when γ < 1;
 * γ = 1 is the plain perturbed pass (SAM).
 */
export const sharpnessSensitiveData = (
  options: { readonly gamma?: number; readonly combiner?: Combiner } = {},
): Procedure<Record<string, never>> => {
  const gamma = checkNumber('sharpnessSensitiveData: gamma', options.gamma ?? 0.5, Number.MIN_VALUE, 1);
  const combiner = options.combiner ?? perturbedGradient();
  const plain = twoPass(combiner);
  return {
    name: 'sharpnessSensitiveData',
    // With γ < 1, g_p is the gradient of a subset of the batch, not the batch's gradient at w + ε.
    capabilities: gamma >= 1 ? {} : { perturbedGradsAtPoint: false, extras: ['sampleLossFn', 'subsetGradFn'] },
    init: () => EMPTY,
    run: (n, state, ctx) => {
      if (gamma >= 1) return plain.run(n, state, ctx);
      const { sampleLossFn, subsetGradFn } = ctx.extra;
      if (sampleLossFn === undefined || subsetGradFn === undefined) {
        throw new Error(
          `esam: gamma = ${gamma} < 1 selects samples, which needs extra.sampleLossFn (per-sample losses) and ` +
            `extra.subsetGradFn (gradient on a subset); got ${sampleLossFn === undefined ? 'no sampleLossFn' : 'no subsetGradFn'}`,
        );
      }
      const w = perturbedAt(ctx, n);
      let l0: tf.Tensor1D | undefined;
      let l1: tf.Tensor1D | undefined;
      let indices: tf.Tensor1D | undefined;
      let r: { loss: tf.Scalar; grads: Params };
      try {
        l0 = sampleLossFn(ctx.params);
        l1 = sampleLossFn(w);
        if (l0.rank !== 1 || l1.shape[0] !== l0.shape[0]) {
          throw new Error(`esam: extra.sampleLossFn must return a vector of per-sample losses, got shape [${l0.shape.join(', ')}]`);
        }
        const b = l0.shape[0] as number;
        const keep = Math.max(1, Math.floor(gamma * b));
        const [a0, a1] = [l0, l1];
        indices = tf.tidy(() => tf.topk(tf.sub(a1, a0), keep).indices as tf.Tensor1D);
        l0.dispose();
        l1.dispose();
        const idx = indices;
        r = ctx.gradAt(w, (p) => subsetGradFn(p, idx));
      } finally {
        l0?.dispose();
        l1?.dispose();
        indices?.dispose();
        T.dispose(w);
      }
      // The combiner is user code: a tidy scope releases whatever it allocates and does not return.
      const combine = (p: Params): Params => tf.tidy(() => combiner.combine(ctx.grads, p));
      let direction: Params;
      try {
        direction = combine(r.grads);
      } catch (e) {
        disposeAll(r.grads);
        r.loss.dispose();
        throw e;
      }
      return {
        direction,
        perturbedGrads: r.grads,
        perturbedLoss: r.loss,
        state: EMPTY,
        combine,
        ...(combiner.gradientScale !== undefined ? { combineScale: combiner.gradientScale } : {}),
      };
    },
  };
};
