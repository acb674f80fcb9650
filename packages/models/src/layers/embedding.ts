import * as tf from '@tensorflow/tfjs-core';
import { normal } from '../initializers';
import type { ForwardContext } from '../model';
import type { TensorSpec } from '../spec';

/** How token ids become vectors. Both give the same values; they differ in their gradients' kernels. */
export type EmbeddingLookup = 'gather' | 'onehot';

/** An embedding table `[rows, dim]`, N(0, 0.02²) as in BERT. */
export const embeddingSpecs = (path: string, rows: number, dim: number): TensorSpec[] => [
  { path, shape: [rows, dim], init: normal(0.02) },
];

/**
 * Looks up rows of the table at `path` for int32 `ids` of any shape: `[...ids.shape, dim]`.
 *
 * - 'gather': `tf.gather(table, ids)`. Its gradient is UnsortedSegmentSum, which the wasm
 *   backend lacks and the cpu backend runs very slowly for large tables (FINDINGS §1–2).
 * - 'onehot': `oneHot(ids, rows) · table`. Only matMul in both directions (and twice
 *   differentiable), at the cost of a `[#ids, rows]` float matrix: fine for small vocabularies.
 */
export const embed = (ctx: ForwardContext, path: string, ids: tf.Tensor, lookup: EmbeddingLookup): tf.Tensor => {
  const table = ctx.param(path) as tf.Tensor2D;
  const [rows, dim] = table.shape;
  if (lookup === 'gather') return tf.gather(table, ids);
  const flat = tf.reshape(ids, [-1]) as tf.Tensor1D;
  // oneHot's dtype argument is ignored by the wasm backend in tfjs 4.22 (it writes int32 bits
  // into a 'float32' tensor, so 1 reads as 1.4e-45): build int32 and cast.
  const oh = tf.cast(tf.oneHot(flat, rows), 'float32') as tf.Tensor2D;
  return tf.reshape(tf.matMul(oh, table), [...ids.shape, dim]);
};
