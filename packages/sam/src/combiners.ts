import * as tf from '@tensorflow/tfjs-core';
import * as T from '@lets/tree';
import type { Combiner } from './types';
import { NORM_EPS, checkNumber } from './numerics';

/** SAM's combiner: the outer optimizer receives g_p itself. */
export const perturbedGradient = (): Combiner => ({
  name: 'perturbedGradient',
  combine: (_g, gp) => T.clone(gp),
  gradientScale: 1,
});

/**
 * GSAM's surrogate-gap descent (Zhuang et al. 2022, "Surrogate Gap Minimization Improves
 * Sharpness-Aware Training", ICLR): remove from g its component along g_p, and step against
 * what is left,
 *
 *   ĝ_p = g_p/(‖g_p‖ + 1e-12),   g_⊥ = g − ⟨g, ĝ_p⟩ ĝ_p,   d = g_p − α g_⊥.
 *
 * α = 0 gives d = g_p exactly (SAM).
 */
export const surrogateGap = (options: { readonly alpha?: number } = {}): Combiner => {
  const alpha = checkNumber('surrogateGap: alpha', options.alpha ?? 0.4);
  return {
    name: 'surrogateGap',
    combine: (g, gp) =>
      tf.tidy(() => {
        const denom = tf.add(T.norm(gp), NORM_EPS);
        const unitP = T.map((x) => tf.div(x, denom))(gp);
        const along = T.vdot(g, unitP);
        return T.zipWith((p, gi, k) => tf.sub(p, tf.mul(tf.sub(gi, tf.mul(unitP[k] as tf.Tensor, along)), alpha)))(gp, g);
      }),
  };
};

/**
 * StableSAM's renormalization (Tan et al. 2024, "Stabilizing Sharpness-Aware Minimization
 * Through A Simple Renormalization Strategy"): the perturbed gradient is rescaled to the clean
 * gradient's norm, g_p ← g_p ‖g‖/(‖g_p‖ + 1e-12), which keeps SAM's effective step size that of
 * the base optimizer.
 */
export const normMatch = (): Combiner => ({
  name: 'normMatch',
  combine: (g, gp) =>
    tf.tidy(() => {
      const ratio = tf.div(T.norm(g), tf.add(T.norm(gp), NORM_EPS));
      return T.map((x) => tf.mul(x, ratio))(gp);
    }),
});
