/**
 * Loss and accuracy of a model over a set of batches, in evaluation mode (BatchNorm uses its
 * running statistics, no dropout), one tidy scope per batch; the produced model state is
 * discarded. Never used for training: pass the held-out split or the test split here.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Params, Tree } from '@lets/tree';
import { correctCount, crossEntropy } from './loss';
import type { EvalMetrics, LossOf, TrainableModel, TrainBatch } from './types';

export const evaluate = async (
  model: TrainableModel,
  params: Params,
  modelState: Tree,
  batches: Iterable<TrainBatch> | AsyncIterable<TrainBatch>,
  loss: LossOf = crossEntropy,
): Promise<EvalMetrics> => {
  let total = 0;
  let correct = 0;
  let count = 0;
  for await (const b of batches) {
    const n = b.x.shape[0] as number;
    const [l, c] = tf.tidy(() => {
      const r = model.apply(params, modelState, b.x, { training: false });
      return [tf.mul(loss(r.logits, b.y), n), correctCount(r.logits, b.y)];
    });
    total += (l!.dataSync() as Float32Array)[0] as number;
    correct += (c!.dataSync() as Float32Array)[0] as number;
    l!.dispose();
    c!.dispose();
    count += n;
    b.dispose?.();
  }
  if (count === 0) throw new Error('evaluate: the batches were empty; expected at least one example');
  return { loss: total / count, accuracy: correct / count, count };
};
