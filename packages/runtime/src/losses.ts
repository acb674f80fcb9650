/**
 * Cross-entropy losses built only from primitive ops, so they are twice differentiable.
 *
 *   logSoftmax(z)              = z − logΣexp(z)                      (along `axis`)
 *   softmaxCrossEntropy(z, y)  = mean_b( logΣexp(z_b) − Σ_k y_bk · z_bk )
 *
 * The second equals −mean_b Σ_k y_bk log softmax(z_b)_k whenever Σ_k y_bk = 1 (one-hot or
 * smoothed labels). tfjs 4.22's `tf.losses.softmaxCrossEntropy` and `tf.logSoftmax` are
 * `customGrad` ops whose gradient reads saved forward values, so their second derivative
 * is silently wrong (relative error 1.0 and 0.51 against finite differences); these are not.
 * logΣexp is tfjs's max-shifted logSumExp, so large logits do not overflow.
 */
import * as tf from '@tensorflow/tfjs-core';

/** log-softmax along `axis` (default: last), as z − logSumExp(z). */
export function logSoftmax<T extends tf.Tensor>(logits: T, axis = -1): T {
  return tf.sub(logits, tf.logSumExp(logits, axis, true)) as T;
}

/**
 * Mean softmax cross-entropy of `logits` [batch, classes] against `labels` (one-hot or
 * probability rows, same shape). Differentiable twice.
 */
export function softmaxCrossEntropy(logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  if (logits.rank !== 2) {
    throw new Error(`softmaxCrossEntropy: logits must be [batch, classes], got shape [${logits.shape.join(', ')}]`);
  }
  if (labels.shape.length !== 2 || labels.shape[0] !== logits.shape[0] || labels.shape[1] !== logits.shape[1]) {
    throw new Error(
      `softmaxCrossEntropy: labels must have the logits' shape [${logits.shape.join(', ')}], got [${labels.shape.join(', ')}]`,
    );
  }
  return tf.tidy(() => {
    const y = labels.dtype === 'float32' ? labels : tf.cast(labels, 'float32');
    return tf.mean(tf.sub(tf.logSumExp(logits, 1), tf.sum(tf.mul(y, logits), 1)));
  });
}
