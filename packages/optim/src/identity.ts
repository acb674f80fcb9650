import * as tf from '@tensorflow/tfjs-core';
import { map } from '@lets/tree';
import type { GradientTransformation } from './types';

/** The state of stateless transforms. */
export type EmptyState = Readonly<Record<string, never>>;

/**
 * The identity transformation: `u ↦ u` (each leaf returned as a `tf.clone`, per the ownership
 * contract). The unit of {@link chain}. optax: `identity`.
 */
export const identity = (): GradientTransformation<EmptyState> => ({
  init: () => ({}),
  update: (updates) => [map((x) => tf.clone(x))(updates), {}],
  gradientScale: () => 1,
});
