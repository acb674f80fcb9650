import * as tf from '@tensorflow/tfjs-core';
import * as T from '@lets/tree';
import type { Params } from '@lets/tree';
import type { Procedure } from './types';
import { NORM_EPS, checkNumber, disposeAll, evaluatedAt, perturbed, perturbedAt, unit } from './numerics';

const EMPTY = {} as Record<string, never>;

/** Options of {@link gradientNormAware}. */
export interface GamOptions {
  /** ρ' of the gradient-norm ascent (the official code's grad_norm_rho; default 0.2). */
  readonly normRho?: number;
  /** β0, β1 of the official code (defaults 0.1, 0.1: its CIFAR-10 ResNet setting); β2 = 1 − β0, β3 = 1 − β1. */
  readonly beta0?: number;
  readonly beta1?: number;
  /** γ of the final decomposition (grad_gamma; default 0.05). */
  readonly gamma?: number;
}

/**
 * GAM, gradient-norm aware minimization (Zhang et al. 2023, "Gradient Norm Aware Minimization
 * Seeks First-Order Flatness and Improves Generalization", CVPR), as its official code does
 * with SAM (4 gradient evaluations a step, counting the clean one):
 *
 *   g0 = g,  e0 = ρ n (n = g0/‖g0‖),                   g1 = ∇L(w + e0)
 *   e12 = ρ' (g1 − g0)/‖g1 − g0‖,                       g2 = ∇L(w + e12)
 *   e2 = ρ g2/‖g2‖,                                    g3 = ∇L(w + e12 + e2)
 *   m = β0 g0 + β2 g2,  a = β1 g1 + β3 g3,
 *   d = a − γ (m − cos(m, a) ‖m‖ a/‖a‖)                (the GSAM-style decomposition)
 *
 * with 1e-12 added to every norm divided by. Reports n and g1 as the primary direction and g_p.
 * A failing evaluation releases everything the step made so far.
 */
export const gradientNormAware = (options: GamOptions = {}): Procedure<Record<string, never>> => {
  const normRho = checkNumber('gam: normRho', options.normRho ?? 0.2, 0);
  const b0 = checkNumber('gam: beta0', options.beta0 ?? 0.1);
  const b1 = checkNumber('gam: beta1', options.beta1 ?? 0.1);
  const b2 = 1 - b0;
  const b3 = 1 - b1;
  const gamma = checkNumber('gam: gamma', options.gamma ?? 0.05);
  return {
    name: 'gradientNormAware',
    // Several perturbed points (GAM's first-order flatness): whole-step tangent.
    capabilities: { tangent: 'wholeStep', gradEvals: 4 },
    init: () => EMPTY,
    run: (n, _state, ctx) => {
      const g0 = ctx.grads;
      const r1 = evaluatedAt(perturbedAt(ctx, n), (w) => ctx.gradAt(w));
      let g2: Params | undefined;
      let g3: Params | undefined;
      let w2: Params | undefined;
      try {
        const diff = T.sub(r1.grads, g0);
        const u12 = unit(diff);
        T.dispose(diff);
        w2 = evaluatedAt(u12, (u) => perturbed(ctx.params, normRho, u));
        const r2 = ctx.gradAt(w2);
        r2.loss.dispose();
        g2 = r2.grads;
        const u2 = unit(g2);
        const w3 = evaluatedAt(u2, (u) => perturbed(w2 as Params, ctx.rho, u));
        T.dispose(w2);
        w2 = undefined;
        const r3 = evaluatedAt(w3, (w) => ctx.gradAt(w));
        r3.loss.dispose();
        g3 = r3.grads;
        const [m2, m3] = [g2, g3];
        const d = tf.tidy(() => {
          const m = T.zipWith((a, b) => tf.add(tf.mul(a, b0), tf.mul(b, b2)))(g0, m2);
          const a = T.zipWith((x, y) => tf.add(tf.mul(x, b1), tf.mul(y, b3)))(r1.grads, m3);
          const nm = T.norm(m);
          const na = T.norm(a);
          const cos = tf.div(T.vdot(m, a), tf.add(tf.mul(nm, na), NORM_EPS));
          const c = tf.div(tf.mul(cos, nm), tf.add(na, NORM_EPS));
          return T.zipWith((ai, mi) => tf.sub(ai, tf.mul(tf.sub(mi, tf.mul(ai, c)), gamma)))(a, m);
        });
        return { direction: d, perturbedGrads: r1.grads, perturbedLoss: r1.loss, state: EMPTY };
      } catch (e) {
        disposeAll(r1.grads);
        r1.loss.dispose();
        throw e;
      } finally {
        disposeAll(w2, g2, g3);
      }
    },
  };
};
