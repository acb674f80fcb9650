import * as tf from '@tensorflow/tfjs-core';

/**
 * Registers a gradient config, replacing tfjs's own if there is one.
 * tfjs warns about the overwrite only in DEBUG mode; the replacement is deliberate.
 */
export function overrideGradient(config: tf.GradConfig): void {
  tf.registerGradient(config);
}

/** Runs a kernel by name through the engine so that it is recorded on the gradient tape. */
export function runKernel(
  kernelName: string,
  inputs: tf.NamedTensorMap,
  attrs: Record<string, unknown> = {},
): tf.Tensor {
  return tf.engine().runKernel(kernelName, inputs, attrs as tf.NamedAttrMap) as tf.Tensor;
}
