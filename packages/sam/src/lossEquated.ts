import * as tf from '@tensorflow/tfjs-core';
import * as T from '@lets/tree';
import type { GradientTransformation } from '@lets/optim';
import { ascentExtraOf } from './types';
import { NORM_EPS, checkNumber } from './numerics';

/** Options of {@link lossEquated}. */
export interface LossEquatedOptions {
  /** ρ_max, the cap on the per-step radius (default 0.3, the LE-SAM code's). */
  readonly rhoMax?: number;
  /** ϱ in σ/(‖g‖ + ϱ), keeping the radius finite as ‖g‖ → 0 (default 1e-12; ρ_max caps it anyway). */
  readonly varrho?: number;
}

/**
 * LE-SAM's ascent direction (loss-equated SAM, ICML 2026, arXiv 2605.10183), as the first and
 * only stage of an ascent chain fed the raw gradient g. With the step's budget σ_t = extra.rho:
 *
 *   n = min( 1/(‖g‖ + ϱ), ρ_max/σ_t ) · g/(‖g‖ + 1e-12),   so ε = σ_t n = ρ_t g/‖g‖,
 *   ρ_t = min( σ_t/(‖g‖ + ϱ), ρ_max ),
 *
 * and the first-order loss increase of the ascent, ρ_t‖g‖, equals σ_t until the cap binds.
 * σ_t = 0 gives n = g/(‖g‖(‖g‖ + ϱ)) (the wrapper then takes no perturbed pass at all).
 */
export const lossEquated = (options: LossEquatedOptions = {}): GradientTransformation<Record<string, never>> => {
  const rhoMax = checkNumber('lossEquated: rhoMax', options.rhoMax ?? 0.3, 0);
  const varrho = checkNumber('lossEquated: varrho', options.varrho ?? 1e-12, 0);
  if (rhoMax === 0) throw new Error('lossEquated: rhoMax must be > 0, got 0');
  return {
    init: () => ({}),
    update: (d, state, _params, extra) => {
      const { rho } = ascentExtraOf(extra, 'lossEquated');
      const out = tf.tidy(() => {
        const gn = T.norm(d);
        const perSigma = tf.div(1, tf.add(gn, varrho));
        const scale = rho > 0 ? tf.minimum(perSigma, rhoMax / rho) : perSigma;
        const k = tf.div(scale, tf.add(gn, NORM_EPS));
        return T.map((x) => tf.mul(x, k))(d);
      });
      return [out, state];
    },
  };
};
