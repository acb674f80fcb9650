import * as tf from '@tensorflow/tfjs-core';
import type { Params } from '@lets/tree';
import type { GradFn, LossFn } from './types';
import { explainMissingRuntime } from './runtimeHint';

/**
 * `gradFnOf(lossFn)`: the {@link GradFn} of a loss of the parameter tree, by reverse mode
 * (`tf.valueAndGrads` over the leaves): `(params) → { loss, grads }` with `grads` in the
 * params' canonical order. This is what SAM's perturbed pass and LETS's validation pass call.
 *
 * The backend must have gradients registered (`initRuntime()` from @lets/runtime does it); if
 * none are, the error says to call it (see {@link explainMissingRuntime}).
 * Intermediate tensors are released; the loss and gradients are new and owned by the caller.
 * As in tfjs, every leaf must influence the loss.
 */
export const gradFnOf =
  (lossFn: LossFn): GradFn =>
  (params: Params) => {
    const names = Object.keys(params);
    try {
      return tf.tidy(() => {
        const { value, grads } = tf.valueAndGrads((...leaves: tf.Tensor[]) =>
          lossFn(Object.fromEntries(names.map((k, i) => [k, leaves[i] as tf.Tensor]))),
        )(names.map((k) => params[k] as tf.Tensor));
        return { loss: value as tf.Scalar, grads: Object.fromEntries(names.map((k, i) => [k, grads[i] as tf.Tensor])) };
      });
    } catch (e) {
      throw explainMissingRuntime(e, 'gradFnOf');
    }
  };
