import * as tf from '@tensorflow/tfjs-core';

/**
 * The kernel name of a fused bias-and-ReLU, relu(x + b), that a backend may register:
 * @lets/native does (one pass forward, one backward, the bits of Add then Relu and of their
 * stock gradients). The contract is declared on both sides, here and in
 * packages/native/src/kernels/fused.ts.
 */
export const BIAS_RELU_KERNEL = 'LetsBiasRelu';

/**
 * relu(x + b) with b [C] broadcast over x's last axis: the backend's fused kernel where it has
 * one (with its registered gradient), else tf.relu(tf.add(x, b)). Both give the same values and
 * gradients.
 */
export const biasRelu = (x: tf.Tensor, b: tf.Tensor): tf.Tensor => {
  if (b.rank !== 1 || x.rank === 0 || x.shape[x.rank - 1] !== b.shape[0]) {
    throw new Error(`biasRelu: b must be 1-D with the length of x's last axis, got x [${x.shape.join(', ')}] and b [${b.shape.join(', ')}]`);
  }
  const backend = tf.getBackend();
  if (
    x.dtype === 'float32' &&
    b.dtype === 'float32' &&
    tf.getKernel(BIAS_RELU_KERNEL, backend) !== undefined &&
    tf.getGradient(BIAS_RELU_KERNEL) !== undefined
  ) {
    return tf.engine().runKernel(BIAS_RELU_KERNEL, { x, b }) as tf.Tensor;
  }
  return tf.tidy(() => tf.relu(tf.add(x, b)));
};
