/**
 * Fused leaf kernels, reached through tfjs's kernel registry by name: @lets/native registers
 * `LetsAxpy` (x + s·y) and `LetsDot` (Σ a·b) for its 'native' backend, where they give the same
 * bits as the two kernels each replaces (Multiply then Add; Multiply then Sum) in one call, and
 * `LetsTreeDot` (a whole tree's ⟨a, b⟩: the leaves' dots and their AddN in one call). tree
 * never imports native or runtime: it looks the kernel up for the current backend and, where there
 * is none, under a gradient tape (the kernels have no gradients), or for leaves the kernels do not
 * take (not float32, shapes that broadcast), composes tfjs ops as before.
 *
 * The contract (names, inputs, attributes) is declared on both sides: here and in
 * packages/native/src/kernels/tree_ops.ts.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Kernel name of x + s·y: inputs `{x, y}` and the number attribute `s`, or inputs `{x, y, s}` with `s` a float32 scalar. */
export const AXPY_KERNEL = 'LetsAxpy';
/** Kernel name of Σ a·b over all elements: inputs `{a, b}`, a float32 scalar out. */
export const DOT_KERNEL = 'LetsDot';
/**
 * Kernel name of Σᵢ Σ aᵢ·bᵢ over pairs of leaves: inputs `{a0, b0, a1, b1, …}`, a float32 scalar
 * out: tf.addN of the pairs' `LetsDot` (float32 additions in pair order from 0).
 */
export const TREE_DOT_KERNEL = 'LetsTreeDot';

const available = (name: string): boolean =>
  tf.engine().state.gradientDepth === 0 && tf.getKernel(name, tf.getBackend()) !== undefined;

const fusable = (a: tf.Tensor, b: tf.Tensor): boolean =>
  a.dtype === 'float32' && b.dtype === 'float32' && tf.util.arraysEqual(a.shape, b.shape);

const run = (name: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap = {}): tf.Tensor =>
  tf.engine().runKernel(name, inputs, attrs) as tf.Tensor;

/** x + s·y for one leaf: the fused kernel where it applies, else tf.add(x, tf.mul(y, s)). */
export const axpyLeaf = (x: tf.Tensor, s: number | tf.Scalar, y: tf.Tensor): tf.Tensor => {
  const scalarOk = typeof s === 'number' || (s.dtype === 'float32' && s.rank === 0);
  if (scalarOk && fusable(x, y) && available(AXPY_KERNEL)) {
    return typeof s === 'number' ? run(AXPY_KERNEL, { x, y }, { s }) : run(AXPY_KERNEL, { x, y, s });
  }
  return tf.tidy(() => tf.add(x, tf.mul(y, s)));
};

/** Σ a·b for one leaf, a scalar: the fused kernel where it applies, else tf.sum(tf.mul(a, b)). */
export const dotLeaf = (a: tf.Tensor, b: tf.Tensor): tf.Scalar => {
  if (fusable(a, b) && available(DOT_KERNEL)) return run(DOT_KERNEL, { a, b }) as tf.Scalar;
  return tf.tidy(() => tf.sum(tf.mul(a, b)));
};

/**
 * Σ over pairs of Σ a·b, as tf.addN of each pair's tf.sum(tf.mul(a, b)), in one fused kernel; or
 * undefined when that does not apply (no kernel, a tape recording, a pair it does not take, no
 * pairs): the caller composes the leaves then.
 */
export const treeDot = (pairs: ReadonlyArray<readonly [tf.Tensor, tf.Tensor]>): tf.Scalar | undefined => {
  if (pairs.length === 0 || !pairs.every(([a, b]) => fusable(a, b)) || !available(TREE_DOT_KERNEL)) return undefined;
  const inputs: tf.NamedTensorMap = {};
  pairs.forEach(([a, b], i) => {
    inputs[`a${i}`] = a;
    inputs[`b${i}`] = b;
  });
  return run(TREE_DOT_KERNEL, inputs) as tf.Scalar;
};
