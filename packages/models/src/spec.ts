import type { Tree } from '@lets/tree';
import type * as tf from '@tensorflow/tfjs-core';
import { Initializer, initTensor } from './initializers';
import { random } from '@lets/runtime';

/** One named tensor of a model (a parameter or a state entry) before it exists. */
export interface TensorSpec {
  readonly path: string;
  readonly shape: readonly number[];
  readonly init: Initializer;
}

/** `{path: shape}` of a list of specs, in order. */
export const shapesOf = (specs: readonly TensorSpec[]): Record<string, readonly number[]> => {
  const out: Record<string, readonly number[]> = {};
  for (const s of specs) {
    if (out[s.path] !== undefined) throw new Error(`model spec: duplicate path '${s.path}'`);
    out[s.path] = s.shape;
  }
  return out;
};

/**
 * Materializes specs into a tree. Each path draws from its own stream, the random key
 * `random.fold(random.key(seed), path)` (@lets/runtime), so a tensor's values depend only on (seed, path, shape, init),
 * not on the other tensors of the model.
 */
export const materialize = (specs: readonly TensorSpec[], seed: number): Tree => {
  const out: Record<string, tf.Tensor> = {};
  for (const s of specs) out[s.path] = initTensor(s.init, s.shape, random.rng(random.fold(random.key(seed), s.path)));
  return out;
};
