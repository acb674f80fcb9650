import * as tf from '@tensorflow/tfjs-core';
import * as T from '@lets/tree';
import type { LeafPredicate, Params } from '@lets/tree';

/** Added to every norm that is divided by (ALGORITHMS.md), so a zero gradient gives ε = 0, not NaN. */
export const NORM_EPS = 1e-12;

/** ‖t‖ + 1e-12 (global L2 by default), a scalar owned by the caller. */
export const safeNorm = (t: Params, ord: 2 | typeof Infinity = 2): tf.Scalar =>
  tf.tidy(() => tf.add(T.norm(t, ord), NORM_EPS));

/** t / (‖t‖ + 1e-12), new tensors. */
export const unit = (t: Params): Params =>
  tf.tidy(() => {
    const d = safeNorm(t);
    return T.map((x) => tf.div(x, d))(t);
  });

/** Leaves kept by a filter: every leaf when `filter` is undefined. */
export const keeps = (filter: LeafPredicate | undefined, path: string, x: tf.Tensor): boolean =>
  filter === undefined || filter(path, x);

/** Throws unless `x` is a finite number in [lo, hi] (naming the option). */
export const checkNumber = (what: string, x: number, lo = -Infinity, hi = Infinity): number => {
  if (typeof x !== 'number' || !Number.isFinite(x) || x < lo || x > hi) {
    const range = hi === Infinity ? (lo === -Infinity ? 'a finite number' : `a finite number ≥ ${lo}`) : `a number in [${lo}, ${hi}]`;
    throw new Error(`${what}: expected ${range}, got ${String(x)}`);
  }
  return x;
};

/** Throws unless `x` is an integer ≥ lo (naming the option). */
export const checkInteger = (what: string, x: number, lo: number): number => {
  if (!Number.isInteger(x) || x < lo) throw new Error(`${what}: expected an integer ≥ ${lo}, got ${String(x)}`);
  return x;
};

/** w + ρ n, new tensors. */
export const perturbed = (params: Params, rho: number, n: Params): Params => T.addScaled(params, rho, n);

/** w + ρ n at the step's w and ρ, new tensors: through `ctx.perturbed` where the wrapper gives it (the same bits). */
export const perturbedAt = (ctx: { readonly params: Params; readonly rho: number; readonly perturbed?: (n: Params) => Params }, n: Params): Params =>
  ctx.perturbed !== undefined ? ctx.perturbed(n) : perturbed(ctx.params, ctx.rho, n);

/**
 * `f(x)`, then `x` disposed whether or not `f` threw: how a procedure evaluates at a point it
 * made (w + ρn), so a failing evaluation leaves nothing behind.
 */
export const evaluatedAt = <R>(x: Params, f: (x: Params) => R): R => {
  try {
    return f(x);
  } finally {
    T.dispose(x);
  }
};

/** Disposes every tree given (undefined entries skipped): cleanup on a procedure's error path. */
export const disposeAll = (...trees: readonly (Params | undefined)[]): void => {
  for (const t of trees) if (t !== undefined) T.dispose(t);
};
