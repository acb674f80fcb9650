/**
 * Fused leaf kernels, reached through tfjs's kernel registry by name: @lets/native registers
 * `LetsAxpy` (x + s·y) and `LetsDot` (Σ a·b) for its 'native' backend, where they give the same
 * bits as the two kernels each replaces (Multiply then Add; Multiply then Sum) in one call, and
 * `LetsTreeDot` (a whole tree's ⟨a, b⟩: the leaves' dots and their AddN in one call), and
 * `LetsTreeNormalizedAxpy` (‖g‖, g/(‖g‖ + ε) and w + s·g/(‖g‖ + ε) for a whole tree in one call),
 * `LetsSubScale` ((a − b)·s: Sub then Multiply) and `LetsTreeDots` (several whole-tree dots in one
 * call, each `LetsTreeDot`'s bits). tree
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
/**
 * Kernel name of SAM's ascent over a whole tree: inputs `{g0, w0, g1, w1, …}`, number attributes
 * `s` and `eps`; outputs `[‖g‖, n0, p0, n1, p1, …]` with ‖g‖ = tf.sqrt of `LetsTreeDot` of g with
 * itself, nᵢ = tf.div(gᵢ, tf.add(‖g‖, eps)) and pᵢ = `LetsAxpy`(wᵢ, s, nᵢ), the same bits.
 */
export const TREE_NORMALIZED_AXPY_KERNEL = 'LetsTreeNormalizedAxpy';
/** Kernel name of (a − b)·s for one leaf: inputs `{a, b}`, the number attribute `s`: tf.mul(tf.sub(a, b), s). */
export const SUB_SCALE_KERNEL = 'LetsSubScale';
/**
 * Kernel name of several whole-tree dots: inputs `{a0, b0, a1, b1, …}`, the number[] attribute
 * `sizes` (pairs per dot, in order); a float32 tensor `[sizes.length]` out, entry j the
 * `LetsTreeDot` of the j-th run of `sizes[j]` pairs.
 */
export const TREE_DOTS_KERNEL = 'LetsTreeDots';

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

/** (a − b)·s for one leaf: the fused kernel where it applies, else tf.mul(tf.sub(a, b), s). */
export const subScaleLeaf = (a: tf.Tensor, b: tf.Tensor, s: number): tf.Tensor => {
  if (fusable(a, b) && available(SUB_SCALE_KERNEL)) return run(SUB_SCALE_KERNEL, { a, b }, { s });
  return tf.tidy(() => tf.mul(tf.sub(a, b), s));
};

/**
 * Several {@link treeDot}s in one fused kernel: a `[dots.length]` float32 tensor, entry j the
 * bits of `treeDot(dots[j])`; or undefined when that does not apply to every one of them (no
 * kernel, a tape recording, a pair it does not take, a dot of no pairs, no dots).
 */
export const treeDots = (dots: ReadonlyArray<ReadonlyArray<readonly [tf.Tensor, tf.Tensor]>>): tf.Tensor1D | undefined => {
  if (dots.length === 0 || dots.some((pairs) => pairs.length === 0 || !pairs.every(([a, b]) => fusable(a, b))) || !available(TREE_DOTS_KERNEL)) return undefined;
  const inputs: tf.NamedTensorMap = {};
  let i = 0;
  for (const pairs of dots) {
    for (const [a, b] of pairs) {
      inputs[`a${i}`] = a;
      inputs[`b${i}`] = b;
      i++;
    }
  }
  return run(TREE_DOTS_KERNEL, inputs, { sizes: dots.map((p) => p.length) }) as tf.Tensor1D;
};

/** What {@link normalizedAxpy} returns: new tensors the caller owns. */
export interface NormalizedAxpy {
  /** ‖g‖₂ as tf.sqrt(sqNorm(g)). */
  readonly norm: tf.Scalar;
  /** n = g / (‖g‖ + eps), leaf by leaf (g's paths). */
  readonly n: Record<string, tf.Tensor>;
  /** p = w + s·n, leaf by leaf (as addScaled(w, s, n)). */
  readonly p: Record<string, tf.Tensor>;
}

/**
 * ‖g‖, n = g/(‖g‖ + eps) and p = w + s·n for whole trees in one fused kernel
 * (`LetsTreeNormalizedAxpy`), the same bits as `tf.sqrt(sqNorm(g))`, `tf.add(·, eps)`, one
 * `tf.div` per leaf and `addScaled(w, s, n)`; or undefined where that kernel does not apply (no
 * kernel, a tape recording, a leaf not float32 or of another shape than its partner, no leaves,
 * `g` and `w` with other paths): the caller composes the ops then.
 */
export const normalizedAxpy = (g: Readonly<Record<string, tf.Tensor>>, s: number, w: Readonly<Record<string, tf.Tensor>>, eps: number): NormalizedAxpy | undefined => {
  const keys = Object.keys(g);
  const wk = Object.keys(w);
  if (keys.length === 0 || wk.length !== keys.length || keys.some((k, i) => wk[i] !== k)) return undefined;
  if (!keys.every((k) => fusable(g[k]!, w[k]!)) || !available(TREE_NORMALIZED_AXPY_KERNEL)) return undefined;
  const inputs: tf.NamedTensorMap = {};
  keys.forEach((k, i) => {
    inputs[`g${i}`] = g[k]!;
    inputs[`w${i}`] = w[k]!;
  });
  const out = tf.engine().runKernel(TREE_NORMALIZED_AXPY_KERNEL, inputs, { s, eps }) as unknown as tf.Tensor[];
  const n: Record<string, tf.Tensor> = {};
  const p: Record<string, tf.Tensor> = {};
  keys.forEach((k, i) => {
    n[k] = out[1 + 2 * i]!;
    p[k] = out[2 + 2 * i]!;
  });
  return { norm: out[0] as tf.Scalar, n, p };
};
