import * as tf from '@tensorflow/tfjs-core';
import * as T from '@lets/tree';
import type { LeafPredicate, Params, Tree } from '@lets/tree';
import type { GradientTransformation } from './types';
import { checkInner } from './wrapperArgs';

/**
 * Which leaves a transformation applies to: a predicate on path and tensor, or a tree of
 * booleans with the same paths as the params.
 */
export type Mask = LeafPredicate | Readonly<Record<string, boolean>>;

/** State of {@link masked}: the inner state, kept only for the masked-in leaves. */
export interface MaskedState<S> {
  readonly inner: S;
}

/** Resolves a mask to a predicate; a boolean tree must name every leaf it is asked about. */
export const maskPredicate =
  (fn: string, mask: Mask): LeafPredicate =>
  (path, x) => {
    if (typeof mask === 'function') return mask(path, x);
    const m = mask[path];
    if (typeof m !== 'boolean') {
      throw new Error(`${fn}: mask has no boolean for '${path}' (expected a boolean for every leaf, got ${String(m)})`);
    }
    return m;
  };

const subtree = (t: Params | undefined, ks: readonly string[]): Params | undefined => {
  if (t === undefined) return undefined;
  const out: Record<string, tf.Tensor> = {};
  for (const k of ks) {
    const x = t[k];
    if (x !== undefined) out[k] = x;
  }
  return out;
};

/**
 * `masked(inner, mask)`: applies `inner` to the leaves the mask selects; the other leaves pass
 * through unchanged (returned as `tf.clone`) and no state is kept for them. The inner transform
 * sees only the selected sub-tree of updates and params. Nested as optax nests its wrappers:
 * `masked(adam(1e-3), (path) => !path.endsWith('bias'))`. optax: `masked(inner, mask)`.
 *
 * Law (property-tested): with an all-false mask it is the identity.
 */
export const masked = <S>(inner: GradientTransformation<S>, mask: Mask): GradientTransformation<MaskedState<S>> => {
  checkInner('masked', inner, 'masked(inner, mask)');
  if (typeof mask !== 'function' && (typeof mask !== 'object' || mask === null)) {
    throw new Error(`masked: mask must be a predicate (path, x) => boolean or a tree of booleans, got ${mask === null ? 'null' : typeof mask}`);
  }
  const pred = maskPredicate('masked', mask);
  return {
    init: (params) => ({ inner: inner.init(T.splitBy(pred)(params)[0]) }),
    update: (updates, state, params, extra) => {
      const [yes, no] = T.splitBy(pred)(updates);
      const [u, s] = inner.update(yes, state.inner, subtree(params, Object.keys(yes)), extra);
      const out: Record<string, tf.Tensor> = {};
      for (const k of Object.keys(updates)) {
        if (k in no) out[k] = tf.clone(no[k] as tf.Tensor);
        else {
          const x = u[k];
          if (x === undefined) throw new Error(`masked: inner transform returned no update for '${k}'`);
          out[k] = x;
        }
      }
      return [out, { inner: s }];
    },
  };
};
