import * as tf from '@tensorflow/tfjs-core';
import * as T from '@lets/tree';
import type { Params } from '@lets/tree';
import type { GradientTransformation } from '@lets/optim';
import { ascentExtraOf } from './types';
import { checkNumber } from './numerics';
import { random, type Key } from '@lets/runtime';

/** State of {@link gaussianSmoothing}: the random key (a plain uint32, @lets/runtime's `random`), split for every tensor drawn, never reset. */
export interface GaussianSmoothingState {
  readonly rng: Key;
}

/**
 * Random SAM's smoothing (Liu et al. 2022, "Random Sharpness-Aware Minimization", NeurIPS):
 * replaces the direction by the gradient at a randomly smoothed point,
 *
 *   δ ~ N(0, σ²I),   d ← ∇L(w + δ)          (one extra gradient evaluation),
 *
 * so that, followed by `normalize()`, ε = ρ ∇L(w+δ)/‖∇L(w+δ)‖ and g_p = ∇L(w + ε). The noise
 * comes from a random key (@lets/runtime's `random`), a plain number in the perturbation state. When ρ = 0
 * the step takes no perturbation, so the stage passes d through and draws nothing. Needs SAM's
 * ascent extra (it evaluates through `extra.gradAt`).
 */
export const gaussianSmoothing = (
  options: { readonly sigma?: number; readonly seed?: number } = {},
): GradientTransformation<GaussianSmoothingState> => {
  const sigma = checkNumber('gaussianSmoothing: sigma', options.sigma ?? 0.01, 0);
  const seed = random.key(options.seed ?? 0);
  return {
    init: () => ({ rng: seed }),
    update: (d, state, _params, extra) => {
      const { rho, gradAt, cleanParams } = ascentExtraOf(extra, 'gaussianSmoothing');
      if (rho === 0) return [T.clone(d), { rng: state.rng }];
      for (const k of Object.keys(d)) {
        if (cleanParams[k] === undefined) throw new Error(`gaussianSmoothing: direction leaf '${k}' is not a parameter (expected a sub-tree of the params)`);
      }
      // The smoothed point perturbs every parameter (the gradient is the whole model's); inside
      // masked/partition the stage returns that gradient on its own leaves only.
      let rng = state.rng;
      const noisy = T.map((w) => {
        const [sub, next] = random.split(rng) as [Key, Key];
        rng = next;
        const z = random.normals(sub, w.size);
        return tf.tidy(() => tf.add(w, tf.mul(tf.tensor(z, w.shape, 'float32'), sigma)));
      })(cleanParams);
      let r: { loss: tf.Scalar; grads: Params };
      try {
        r = gradAt(noisy);
      } finally {
        T.dispose(noisy);
      }
      r.loss.dispose();
      const keys = Object.keys(d);
      if (keys.length === Object.keys(r.grads).length) return [r.grads, { rng }];
      const out = T.fromEntries(keys.map((k) => [k, r.grads[k] as tf.Tensor] as const));
      const kept = new Set(keys);
      for (const k of Object.keys(r.grads)) if (!kept.has(k)) (r.grads[k] as tf.Tensor).dispose();
      return [out, { rng }];
    },
  };
};
