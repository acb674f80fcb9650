import * as tf from '@tensorflow/tfjs-core';
import { zipWith, type Params } from '@lets/tree';

/**
 * `params + updates`, leaf by leaf, cast back to each param's dtype. Both trees must have the
 * same paths in the same order. Returns new tensors; the inputs are left alone.
 * optax: `apply_updates`.
 */
export const applyUpdates = (params: Params, updates: Params): Params =>
  zipWith((w, u) => tf.tidy(() => {
    const s = tf.add(w, u);
    return s.dtype === w.dtype ? s : tf.cast(s, w.dtype);
  }))(params, updates);
