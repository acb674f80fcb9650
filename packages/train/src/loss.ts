/**
 * The default loss: mean softmax cross-entropy from @lets/runtime (twice differentiable, so the
 * exactHvp estimator works), with int32 class ids converted to one-hot rows.
 */
import * as tf from '@tensorflow/tfjs-core';
import { softmaxCrossEntropy } from '@lets/runtime';
import type { LossOf } from './types';

export const oneHotLabels = (labels: tf.Tensor, classes: number): tf.Tensor =>
  labels.rank === 1 ? tf.cast(tf.oneHot(tf.cast(labels, 'int32') as tf.Tensor1D, classes), 'float32') : labels;

export const crossEntropy: LossOf = (logits, labels) =>
  tf.tidy(() => softmaxCrossEntropy(logits, oneHotLabels(labels, logits.shape[logits.rank - 1] as number)));

/**
 * The expected 0-1 error: the mean over rows of 1 − p_y, where p = softmax(logits) and y the
 * row's label. Bounded in [0, 1], so a row the model gets confidently wrong costs at most 1
 * (under cross-entropy it costs −log p_y, unbounded): with noisy labels it tracks accuracy
 * where the cross-entropy tracks confidence. LETS's upper level can use it as its validation
 * loss (`makeTrainStep({ valLoss: expectedError })`, `lets train --val-loss error`); see
 * docs/lets.md. p_y is exp(z_y − logsumexp z), composed of differentiable ops.
 */
export const expectedError: LossOf = (logits, labels) =>
  tf.tidy(() => {
    const onehot = oneHotLabels(labels, logits.shape[logits.rank - 1] as number);
    const zy = tf.sum(tf.mul(logits, onehot), -1);
    const py = tf.exp(tf.sub(zy, tf.logSumExp(logits, -1)));
    return tf.sub(1, tf.mean(py)) as tf.Scalar;
  });

/** Number of rows whose arg-max logit is the label (a scalar tensor). */
export const correctCount = (logits: tf.Tensor, labels: tf.Tensor): tf.Scalar =>
  tf.tidy(() => {
    const pred = tf.argMax(logits, -1);
    const truth = labels.rank === 1 ? tf.cast(labels, 'int32') : tf.argMax(labels, -1);
    return tf.sum(tf.cast(tf.equal(pred, truth), 'float32')) as tf.Scalar;
  });
