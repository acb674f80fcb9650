import * as tf from '@tensorflow/tfjs-core';
import * as T from '@lets/tree';
import type { LeafPredicate, Params } from '@lets/tree';
import type { GradientTransformation } from '@lets/optim';
import type { AscentExtra } from './types';
import { NORM_EPS, keeps } from './numerics';

/** Options of {@link normalize}. */
export interface NormalizeOptions {
  /** Norm order: 2 (default) or Infinity. */
  readonly ord?: 2 | typeof Infinity;
  /** 'global' (default): one norm over the whole (selected) tree; 'perTensor': each leaf by its own norm. */
  readonly scope?: 'global' | 'perTensor';
  /** Only these leaves are normalized, and the norm runs over them; the others become 0 (ε = 0 there). */
  readonly filter?: LeafPredicate;
}

/**
 * Normalizes the direction: d ← d / (‖d‖ + 1e-12).
 *
 * The SAM ascent (Foret et al. 2021, eq. 2) is ε = ρ g/‖g‖: `normalize()` after the raw
 * gradient gives its unit direction. `scope: 'perTensor'` divides each leaf by its own norm;
 * `filter` restricts the perturbation (and the norm) to a subset of the leaves (SAM-ON);
 * `ord: Infinity` divides by max|d| instead. A zero direction stays zero (never NaN).
 */
export const normalize = (options: NormalizeOptions = {}): GradientTransformation<Record<string, never>> => {
  const { ord = 2, scope = 'global', filter } = options;
  if (ord !== 2 && ord !== Infinity) throw new Error(`normalize: ord must be 2 or Infinity, got ${String(ord)}`);
  if (scope !== 'global' && scope !== 'perTensor') {
    throw new Error(`normalize: scope must be 'global' or 'perTensor', got ${String(scope)}`);
  }
  return {
    init: () => ({}),
    update: (d, state, _params, extra) => {
      // SAM's ascent, normalize() first: the norm of the clean gradient itself, which the
      // wrapper computes once a step and reports (the same value: every leaf, in order).
      const ascent = extra as Partial<AscentExtra> | undefined;
      const gradNorm = ascent?.gradNorm;
      const shared = scope === 'global' && ord === 2 && filter === undefined && gradNorm !== undefined && d === ascent?.cleanGrads;
      // One fused kernel for ‖g‖, n and the perturbed point where the backend has it (same bits).
      const fused = shared ? ascent?.normalizedAscent?.() : undefined;
      if (fused !== undefined) return [fused, state];
      const out = tf.tidy(() => {
        const [sel] = T.splitBy((k, x) => keeps(filter, k, x))(d);
        const denom = scope === 'global' ? tf.add(shared ? gradNorm!() : T.norm(sel, ord), NORM_EPS) : undefined;
        return T.map((x, k) => {
          if (!keeps(filter, k, x)) return tf.zerosLike(x);
          const n = denom ?? tf.add(T.norm({ [k]: x }, ord), NORM_EPS);
          return tf.div(x, n);
        })(d) as Params;
      });
      return [out, state];
    },
  };
};
