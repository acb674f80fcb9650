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

/** Number of rows whose arg-max logit is the label (a scalar tensor). */
export const correctCount = (logits: tf.Tensor, labels: tf.Tensor): tf.Scalar =>
  tf.tidy(() => {
    const pred = tf.argMax(logits, -1);
    const truth = labels.rank === 1 ? tf.cast(labels, 'int32') : tf.argMax(labels, -1);
    return tf.sum(tf.cast(tf.equal(pred, truth), 'float32')) as tf.Scalar;
  });
