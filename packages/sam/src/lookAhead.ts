import * as tf from '@tensorflow/tfjs-core';
import * as T from '@lets/tree';
import type { Params } from '@lets/tree';
import type { Procedure } from './types';
import { twoPass } from './twoPass';
import { NORM_EPS, checkInteger, checkNumber, disposeAll, unit } from './numerics';

const EMPTY = {} as Record<string, never>;

/** State of {@link lookAhead}: LookSAM's stored orthogonal component g_v (zeros at first). */
export interface LookAheadState {
  readonly gv: Params;
}

/**
 * LookSAM (Liu et al. 2022, "Towards Efficient and Scalable Sharpness-Aware Minimization", CVPR).
 * Every k-th step (counting from the first): the SAM pass, d = g_p, and it stores the component of
 * g_p orthogonal to g,
 *
 *   g_v = g_p − ⟨g_p, ĝ⟩ ĝ,   ĝ = g/(‖g‖ + 1e-12);
 *
 * the other steps take no extra pass: d = g + α (‖g‖/(‖g_v‖ + 1e-12)) g_v.
 * k = 1 is SAM exactly. On reuse steps `perturbedGrads` is that estimate and the loss NaN.
 */
export const lookAhead = (options: { readonly k?: number; readonly alpha?: number } = {}): Procedure<LookAheadState> => {
  const k = checkInteger('lookAhead: k', options.k ?? 5, 1);
  const alpha = checkNumber('lookAhead: alpha', options.alpha ?? 0.7);
  const sam = twoPass();
  return {
    name: 'lookAhead',
    // One pass on most steps, a SAM step every k-th: no single perturbed point to linearize at.
    capabilities: { tangent: 'wholeStep' },
    init: (params) => ({ gv: T.zerosLike(params) }),
    run: (n, state, ctx) => {
      if (ctx.count % k === 0) {
        const r = sam.run(n, EMPTY, ctx);
        let gv: Params;
        try {
          gv = tf.tidy(() => {
            const gh = unit(ctx.grads);
            const along = T.vdot(r.perturbedGrads, gh);
            return T.zipWith((p, u) => tf.sub(p, tf.mul(u, along)))(r.perturbedGrads, gh);
          });
        } catch (e) {
          disposeAll(r.direction, r.perturbedGrads);
          r.perturbedLoss.dispose();
          throw e;
        }
        return { ...r, state: { gv } };
      }
      const d = tf.tidy(() => {
        const ratio = tf.div(T.norm(ctx.grads), tf.add(T.norm(state.gv), NORM_EPS));
        const c = tf.mul(ratio, alpha);
        return T.zipWith((gi, v) => tf.add(gi, tf.mul(v, c)))(ctx.grads, state.gv);
      });
      return {
        direction: d,
        perturbedGrads: T.clone(d),
        perturbedLoss: tf.scalar(NaN),
        state: { gv: T.clone(state.gv) },
      };
    },
  };
};
