import * as tf from '@tensorflow/tfjs-core';
import * as T from '@lets/tree';
import type { PerturbationStage } from './types';
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
 * the step takes no perturbation, so the stage passes d through and draws nothing.
 */
export const gaussianSmoothing = (
  options: { readonly sigma?: number; readonly seed?: number } = {},
): PerturbationStage<GaussianSmoothingState> => {
  const sigma = checkNumber('gaussianSmoothing: sigma', options.sigma ?? 0.01, 0);
  const seed = random.key(options.seed ?? 0);
  return {
    name: 'gaussianSmoothing',
    init: () => ({ rng: seed }),
    apply: (d, state, ctx) => {
      if (ctx.rho === 0) return [T.clone(d), { rng: state.rng }];
      let rng = state.rng;
      const noisy = T.map((w) => {
        const [sub, next] = random.split(rng) as [Key, Key];
        rng = next;
        const z = random.normals(sub, w.size);
        return tf.tidy(() => tf.add(w, tf.mul(tf.tensor(z, w.shape, 'float32'), sigma)));
      })(ctx.params);
      const { loss, grads } = ctx.gradAt(noisy);
      T.dispose(noisy);
      loss.dispose();
      return [grads, { rng }];
    },
  };
};
