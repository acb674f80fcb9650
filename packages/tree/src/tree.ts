import * as tf from '@tensorflow/tfjs-core';
import { axpyLeaf, dotLeaf, subScaleLeaf, treeDot, treeDots } from './fused';

/**
 * A parameter tree: a flat, ordered, readonly map from a `/`-separated path
 * (`conv1/kernel`, `block2/bn/gamma`) to a tensor. Insertion order is the canonical order.
 * This is tfjs's `NamedTensorMap` shape, so trees pass straight to `tf.variableGrads` results.
 */
export type Tree = Readonly<Record<string, tf.Tensor>>;

/** Parameters of a model: a {@link Tree}. */
export type Params = Tree;

/** A predicate on a leaf, used by masks, labels, `select` and `splitBy`. */
export type LeafPredicate = (path: string, x: tf.Tensor) => boolean;

/** The paths of a tree in canonical order. */
export const keys = (t: Tree): readonly string[] => Object.keys(t);

/** Builds a tree from `[path, tensor]` pairs, keeping their order. */
export const fromEntries = (entries: Iterable<readonly [string, tf.Tensor]>): Tree => {
  const out: Record<string, tf.Tensor> = {};
  for (const [k, v] of entries) out[k] = v;
  return out;
};

/** `map(f)(t)`: applies `f(x, path)` to every leaf; data-last for `pipe`. */
export const map =
  (f: (x: tf.Tensor, path: string) => tf.Tensor) =>
  (t: Tree): Tree => {
    const out: Record<string, tf.Tensor> = {};
    for (const k of Object.keys(t)) out[k] = f(t[k] as tf.Tensor, k);
    return out;
  };

/**
 * Throws unless `a` and `b` have the same paths in the same order, naming the first
 * path where they differ.
 */
export const assertSameStructure = (a: Tree, b: Tree, what = 'trees'): void => {
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  const n = Math.max(ka.length, kb.length);
  for (let i = 0; i < n; i++) {
    if (ka[i] !== kb[i]) {
      const left = ka[i] === undefined ? 'nothing' : `'${ka[i]}'`;
      const right = kb[i] === undefined ? 'nothing' : `'${kb[i]}'`;
      throw new Error(
        `${what} differ at position ${i}: first has ${left}, second has ${right} ` +
          `(expected the same paths in the same order; ${ka.length} vs ${kb.length} leaves)`,
      );
    }
  }
};

/** `zipWith(f)(a, b)`: combines leaves with the same path; the trees must match exactly. */
export const zipWith =
  (f: (x: tf.Tensor, y: tf.Tensor, path: string) => tf.Tensor) =>
  (a: Tree, b: Tree): Tree => {
    assertSameStructure(a, b, 'zipWith: trees');
    const out: Record<string, tf.Tensor> = {};
    for (const k of Object.keys(a)) out[k] = f(a[k] as tf.Tensor, b[k] as tf.Tensor, k);
    return out;
  };

/** a + b, leaf by leaf. */
export const add = (a: Tree, b: Tree): Tree => zipWith((x, y) => tf.add(x, y))(a, b);
/** a − b, leaf by leaf. */
export const sub = (a: Tree, b: Tree): Tree => zipWith((x, y) => tf.sub(x, y))(a, b);
/** a ⊙ b, leaf by leaf. */
export const mul = (a: Tree, b: Tree): Tree => zipWith((x, y) => tf.mul(x, y))(a, b);
/** a ⊘ b, leaf by leaf. */
export const div = (a: Tree, b: Tree): Tree => zipWith((x, y) => tf.div(x, y))(a, b);
/** s·t for a number or scalar tensor s. */
export const scaleBy = (t: Tree, s: number | tf.Scalar): Tree => map((x) => tf.mul(x, s))(t);
/**
 * x + s·y (axpy), leaf by leaf, as tf.add(x, tf.mul(y, s)). Where the backend registers the fused
 * kernel `LetsAxpy` (@lets/native does) and no gradient tape records, float32 leaves of one shape
 * take one kernel instead of two, with the same bits (see fused.ts).
 */
export const addScaled = (x: Tree, s: number | tf.Scalar, y: Tree): Tree =>
  zipWith((a, b) => axpyLeaf(a, s, b))(x, y);

/**
 * (a − b)·s, leaf by leaf, as tf.mul(tf.sub(a, b), s) (`scaleBy(sub(a, b), s)`): a difference
 * quotient's last step. Where the backend registers `LetsSubScale` (@lets/native does) and no
 * tape records, float32 leaves of one shape take one kernel instead of two, with the same bits.
 */
export const scaledDifference = (a: Tree, b: Tree, s: number): Tree => zipWith((x, y) => subScaleLeaf(x, y, s))(a, b);

const reduceLeaves = (t: Tree, f: (x: tf.Tensor) => tf.Scalar, combine: 'add' | 'max'): tf.Scalar =>
  tf.tidy(() => {
    const parts = Object.keys(t).map((k) => f(t[k] as tf.Tensor));
    if (parts.length === 0) return tf.scalar(0);
    return (combine === 'add' ? tf.addN(parts) : tf.max(tf.stack(parts))) as tf.Scalar;
  });

/**
 * ⟨a, b⟩ = Σ over leaves and elements of a ⊙ b: per leaf tf.sum(tf.mul(a, b)), then tf.addN. Where
 * the backend has the fused kernels (as in {@link addScaled}) that is one kernel `LetsTreeDot` for
 * the whole tree, or, when some leaf is not float32 of its partner's shape, one `LetsDot` per
 * leaf that is.
 */
export const vdot = (a: Tree, b: Tree): tf.Scalar => {
  assertSameStructure(a, b, 'vdot: trees');
  return tf.tidy(() => {
    const fused = treeDot(Object.keys(a).map((k) => [a[k] as tf.Tensor, b[k] as tf.Tensor] as const));
    if (fused !== undefined) return fused;
    const parts = Object.keys(a).map((k) => dotLeaf(a[k] as tf.Tensor, b[k] as tf.Tensor));
    return parts.length === 0 ? tf.scalar(0) : (tf.addN(parts) as tf.Scalar);
  });
};

/**
 * Several inner products at once: a `[pairs.length]` float32 tensor whose entry j has the bits of
 * `vdot(pairs[j][0], pairs[j][1])` (so `vdots([[x, x]])` is `sqNorm(x)`, and tf.sqrt of it
 * `norm(x)`). Where the backend has `LetsTreeDots` (@lets/native) that is one kernel for all of
 * them, reading each leaf once per pair but running the dots side by side (one host read gets
 * them all); elsewhere it is tf.stack of the `vdot`s.
 */
export const vdots = (pairs: ReadonlyArray<readonly [Tree, Tree]>): tf.Tensor1D => {
  if (pairs.length === 0) throw new Error('vdots: expected at least one pair of trees, got none');
  pairs.forEach(([a, b], j) => assertSameStructure(a, b, `vdots: pair ${j}'s trees`));
  return tf.tidy(() => {
    const fused = treeDots(pairs.map(([a, b]) => Object.keys(a).map((k) => [a[k] as tf.Tensor, b[k] as tf.Tensor] as const)));
    if (fused !== undefined) return fused;
    return tf.stack(pairs.map(([a, b]) => vdot(a, b))) as tf.Tensor1D;
  });
};

/** Σ of every element of every leaf. */
export const sum = (t: Tree): tf.Scalar => reduceLeaves(t, (x) => tf.sum(x), 'add');

/**
 * ‖t‖² = Σ x². x² is taken as x·x: the same float32 product as Square, but the Multiply kernel,
 * which the native backend runs from its buffer pool (its Square is tfjs's cpu kernel, which
 * allocates fresh memory on every call: 5.6 of a SAM step's 28 ms in tools/sam-profile.mjs).
 * The fused kernels make it one kernel where the backend has them (as in {@link vdot}).
 */
export const sqNorm = (t: Tree): tf.Scalar =>
  treeDot(Object.values(t).map((x) => [x, x] as const)) ?? reduceLeaves(t, (x) => dotLeaf(x, x), 'add');

/**
 * Global norm over the whole tree, as if its leaves were one vector:
 * ord 2 (default) √Σx², ord 1 Σ|x|, ord ∞ max|x|.
 */
export const norm = (t: Tree, ord: 1 | 2 | typeof Infinity = 2): tf.Scalar => {
  if (ord === 2) return tf.tidy(() => tf.sqrt(sqNorm(t)));
  if (ord === 1) return reduceLeaves(t, (x) => tf.sum(tf.abs(x)), 'add');
  if (ord === Infinity) return reduceLeaves(t, (x) => tf.max(tf.abs(x)), 'max');
  throw new Error(`norm: ord must be 1, 2 or Infinity, got ${String(ord)}`);
};

/** Zeros with each leaf's shape and dtype. */
export const zerosLike = (t: Tree): Tree => map((x) => tf.zerosLike(x))(t);
/** Ones with each leaf's shape and dtype. */
export const onesLike = (t: Tree): Tree => map((x) => tf.onesLike(x))(t);
/** The value v with each leaf's shape and dtype. */
export const fullLike = (t: Tree, v: number): Tree => map((x) => tf.fill(x.shape, v, x.dtype))(t);
/** New tensors with the same values (the caller owns them). */
export const clone = (t: Tree): Tree => map((x) => tf.clone(x))(t);

/** Disposes every leaf. */
export const dispose = (t: Tree): void => {
  for (const k of Object.keys(t)) (t[k] as tf.Tensor).dispose();
};

/** Number of scalars in the tree. */
export const size = (t: Tree): number => Object.keys(t).reduce((n, k) => n + (t[k] as tf.Tensor).size, 0);

/**
 * True when both trees have the same paths and shapes and every element satisfies
 * |a − b| ≤ atol + rtol·|b| (numpy's `allclose`). Reads values back to the host: not for hot paths.
 */
export const allClose = (a: Tree, b: Tree, tol: { rtol?: number; atol?: number } = {}): boolean => {
  const rtol = tol.rtol ?? 1e-5;
  const atol = tol.atol ?? 1e-8;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length || ka.some((k, i) => k !== kb[i])) return false;
  for (const k of ka) {
    const x = a[k] as tf.Tensor;
    const y = b[k] as tf.Tensor;
    if (x.shape.length !== y.shape.length || x.shape.some((d, i) => d !== y.shape[i])) return false;
    const xv = x.dataSync();
    const yv = y.dataSync();
    for (let i = 0; i < xv.length; i++) {
      const p = xv[i] as number;
      const q = yv[i] as number;
      if (Number.isNaN(p) || Number.isNaN(q)) return false;
      if (p === q) continue;
      if (!(Math.abs(p - q) <= atol + rtol * Math.abs(q))) return false;
    }
  }
  return true;
};

/** `select(pred)(t)`: the leaves for which `pred(path, x)` holds, in order (shared, not copied). */
export const select =
  (pred: LeafPredicate) =>
  (t: Tree): Tree =>
    fromEntries(Object.keys(t).filter((k) => pred(k, t[k] as tf.Tensor)).map((k) => [k, t[k] as tf.Tensor] as const));

/** `splitBy(pred)(t)` → `[selected, rest]`, each in canonical order (shared, not copied). */
export const splitBy =
  (pred: LeafPredicate) =>
  (t: Tree): readonly [Tree, Tree] => {
    const yes: Record<string, tf.Tensor> = {};
    const no: Record<string, tf.Tensor> = {};
    for (const k of Object.keys(t)) {
      const x = t[k] as tf.Tensor;
      if (pred(k, x)) yes[k] = x;
      else no[k] = x;
    }
    return [yes, no];
  };

/**
 * Union of two trees with disjoint paths (for example the halves of a `splitBy`), ordered
 * by `order` when given (the canonical order of the original tree), else a's paths then b's.
 */
export const merge = (a: Tree, b: Tree, order?: readonly string[]): Tree => {
  for (const k of Object.keys(b)) {
    if (k in a) throw new Error(`merge: path '${k}' is in both trees (expected disjoint paths)`);
  }
  const all: Record<string, tf.Tensor> = { ...a, ...b };
  if (order === undefined) return all;
  const out: Record<string, tf.Tensor> = {};
  for (const k of order) if (k in all) out[k] = all[k] as tf.Tensor;
  for (const k of Object.keys(all)) if (!(k in out)) out[k] = all[k] as tf.Tensor;
  return out;
};

/** A boolean scalar: true when every element of every leaf is finite (no NaN or ±Inf). */
export const isFinite = (t: Tree): tf.Scalar =>
  tf.tidy(() => {
    const parts = Object.keys(t).map((k) => tf.all(tf.isFinite(t[k] as tf.Tensor)));
    return parts.length === 0 ? tf.scalar(true, 'bool') : (tf.all(tf.stack(parts)) as tf.Scalar);
  });
