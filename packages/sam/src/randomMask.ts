import * as tf from '@tensorflow/tfjs-core';
import * as T from '@lets/tree';
import type { GradientTransformation } from '@lets/optim';
import { checkNumber } from './numerics';
import { random, type Key } from '@lets/runtime';

/** State of {@link randomMask}: the random key (a plain uint32, @lets/runtime's `random`), split for every tensor drawn, never reset. */
export interface RandomMaskState {
  readonly rng: Key;
}

/** Options of {@link randomMask}. */
export interface RandomMaskOptions {
  /** Keep probability β (default 0.5). */
  readonly beta?: number;
  /** Mask granularity: one draw per 'element' (default) or per 'tensor'. */
  readonly per?: 'element' | 'tensor';
  /** Seed of the masks' random key (default 0; a safe integer). */
  readonly seed?: number;
}

/**
 * ESAM's stochastic weight perturbation (Du et al. 2022, "Efficient Sharpness-aware
 * Minimization for Improved Training of Neural Networks", ICLR):
 *
 *   d ← (m ⊙ d)/β,   m ~ Bernoulli(β) per element or per tensor,
 *
 * after `normalize()`, so ε = (ρ/β) m⊙g/‖g‖ (the 1/β keeps E[ε] = SAM's ε). β = 1 keeps every
 * entry and multiplies by 1: SAM exactly. The masks come from a random key (@lets/runtime's `random`) kept as a
 * plain number in the perturbation state.
 */
export const randomMask = (options: RandomMaskOptions = {}): GradientTransformation<RandomMaskState> => {
  const beta = checkNumber('randomMask: beta', options.beta ?? 0.5, Number.MIN_VALUE, 1);
  const per = options.per ?? 'element';
  if (per !== 'element' && per !== 'tensor') throw new Error(`randomMask: per must be 'element' or 'tensor', got ${String(per)}`);
  const seed = random.key(options.seed ?? 0);
  return {
    init: () => ({ rng: seed }),
    update: (d, state) => {
      let rng = state.rng;
      const out = T.map((x) => {
        const [sub, next] = random.split(rng) as [Key, Key];
        rng = next;
        const u = random.uniforms(sub, per === 'element' ? x.size : 1);
        const keep = new Float32Array(u.length);
        for (let i = 0; i < u.length; i++) keep[i] = (u[i] as number) < beta ? 1 : 0;
        return tf.tidy(() => tf.mul(tf.mul(x, tf.tensor(keep, per === 'element' ? x.shape : [])), 1 / beta));
      })(d);
      return [out, { rng }];
    },
  };
};
