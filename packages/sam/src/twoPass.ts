import * as tf from '@tensorflow/tfjs-core';
import type { Params } from '@lets/tree';
import type { Combiner, Procedure } from './types';
import { perturbedGradient } from './combiners';
import { evaluatedAt, perturbedAt } from './numerics';

const EMPTY = {} as Record<string, never>;

/**
 * The two-pass skeleton: g_p = ∇L(w + ρn) (one gradient evaluation), d = combiner(g, g_p).
 * SAM and most variants; the combiner is `perturbedGradient()` (d = g_p) by default.
 */
export const twoPass = (combiner: Combiner = perturbedGradient()): Procedure<Record<string, never>> => ({
  name: `twoPass(${combiner.name})`,
  init: () => EMPTY,
  run: (n, _state, ctx) => {
    const { loss, grads: gp } = evaluatedAt(perturbedAt(ctx, n), (w) => ctx.gradAt(w));
    // The combiner is user code: a tidy scope releases whatever it allocates and does not return.
    const combine = (p: Params): Params => tf.tidy(() => combiner.combine(ctx.grads, p));
    let direction: Params;
    try {
      direction = combine(gp);
    } catch (e) {
      loss.dispose();
      for (const t of Object.values(gp)) t.dispose();
      throw e;
    }
    return {
      direction,
      perturbedGrads: gp,
      perturbedLoss: loss,
      state: EMPTY,
      combine,
      ...(combiner.gradientScale !== undefined ? { combineScale: combiner.gradientScale } : {}),
    };
  },
});
