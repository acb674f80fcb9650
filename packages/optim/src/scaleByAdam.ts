import * as tf from '@tensorflow/tfjs-core';
import { zerosLike, type Tree } from '@lets/tree';
import type { GradientTransformation } from './types';
import { check, nonNegative, unitInterval } from './util';
import { fusedAdam, fusedAdamAvailable, type FusedAdamAttrs } from './ops/fusedAdam';

/** State of {@link scaleByAdam}: step count (host number) and the two moment trees. */
export interface AdamState {
  readonly count: number;
  readonly mu: Tree;
  readonly nu: Tree;
}

/** Options of {@link scaleByAdam} (defaults: the Adam paper's and optax's). */
export interface AdamOptions {
  /** Decay of the first moment, default 0.9. */
  readonly b1?: number;
  /** Decay of the second moment, default 0.999. */
  readonly b2?: number;
  /** Added to √v̂ (outside the root), default 1e-8. */
  readonly eps?: number;
  /** Added to v̂ inside the root, default 0. */
  readonly epsRoot?: number;
  /** Use the Nesterov (NAdam) first moment, default false. */
  readonly nesterov?: boolean;
  /**
   * Use the fused one-pass kernel where it is available (default true): where the current
   * backend has the kernel `LetsFusedAdam` registered (@lets/runtime's `initRuntime` registers it
   * for cpu, wasm and native), for float32 leaves, when no gradient tape is recording. It computes the same
   * formula in float64 and rounds each output once; `false` forces the composed tfjs ops.
   */
  readonly fused?: boolean;
}

/**
 * Rescales updates by Adam's moment estimates (Kingma & Ba 2015, Algorithm 1). With t the
 * 1-based step and g the incoming update:
 *
 *   m ← b1·m + (1−b1)·g          v ← b2·v + (1−b2)·g²
 *   m̂ = m / (1 − b1^t)           v̂ = v / (1 − b2^t)
 *   u = m̂ / (√(v̂ + epsRoot) + eps)
 *
 * With `nesterov: true` the first moment is NAdam's (Dozat 2016), in optax's form:
 *   m̂ = b1·m / (1 − b1^(t+1)) + (1 − b1)·g / (1 − b1^t).
 *
 * The bias corrections are host numbers (the count lives in the state as a number), so a
 * step reads nothing back from the device. Matches optax `scale_by_adam` (and, followed by
 * `scaleByLearningRate`, `torch.optim.Adam` with its default eps placement).
 */
export const scaleByAdam = (options: AdamOptions = {}): GradientTransformation<AdamState> => {
  const { b1 = 0.9, b2 = 0.999, eps = 1e-8, epsRoot = 0, nesterov = false, fused = true } = options;
  check('scaleByAdam', 'b1', unitInterval, 'a number in [0, 1)', b1);
  check('scaleByAdam', 'b2', unitInterval, 'a number in [0, 1)', b2);
  check('scaleByAdam', 'eps', nonNegative, 'a non-negative number', eps);
  check('scaleByAdam', 'epsRoot', nonNegative, 'a non-negative number', epsRoot);
  return {
    init: (params) => ({ count: 0, mu: zerosLike(params), nu: zerosLike(params) }),
    update: (updates, state) => {
      const t = state.count + 1;
      const c1 = 1 - Math.pow(b1, t);
      const c2 = 1 - Math.pow(b2, t);
      const c1next = 1 - Math.pow(b1, t + 1);
      // The paper's "more efficient order" (Kingma & Ba, end of §2): with r = √c2,
      //   m̂ / (√(v̂ + epsRoot) + eps) = (r/c1)·m / (√(v + c2·epsRoot) + r·eps),
      // so the bias corrections become scalars folded into one multiply: four element-wise ops
      // instead of six for the rescaling. NAdam folds r into its two coefficients instead.
      const r = Math.sqrt(c2);
      const epsHat = r * eps;
      const epsRootHat = c2 * epsRoot;
      const attrs: FusedAdamAttrs = {
        b1,
        b2,
        cm: nesterov ? (b1 * r) / c1next : r / c1,
        cg: nesterov ? ((1 - b1) * r) / c1 : 0,
        er: epsRootHat,
        ee: epsHat,
      };
      const useFused = fused && fusedAdamAvailable();
      const mu: Record<string, tf.Tensor> = {};
      const nu: Record<string, tf.Tensor> = {};
      const out: Record<string, tf.Tensor> = {};
      for (const k of Object.keys(updates)) {
        const g = updates[k] as tf.Tensor;
        const m0 = state.mu[k];
        const v0 = state.nu[k];
        if (m0 === undefined || v0 === undefined) {
          throw new Error(`scaleByAdam: state has no moments for '${k}' (was init called on these params?)`);
        }
        if (!tf.util.arraysEqual(g.shape, m0.shape) || !tf.util.arraysEqual(g.shape, v0.shape)) {
          throw new Error(
            `scaleByAdam: update '${k}' has shape [${g.shape}] but its moments have [${m0.shape}] and [${v0.shape}]`,
          );
        }
        const canFuse = useFused && g.dtype === 'float32' && m0.dtype === 'float32' && v0.dtype === 'float32';
        const [m, v, u] = canFuse ? fusedAdam(g, m0, v0, attrs) : tf.tidy(() => {
          const m = tf.add(tf.mul(m0, b1), tf.mul(g, 1 - b1));
          const v = tf.add(tf.mul(v0, b2), tf.mul(tf.square(g), 1 - b2));
          const root = epsRootHat === 0 ? tf.sqrt(v) : tf.sqrt(tf.add(v, epsRootHat));
          const denom = tf.add(root, epsHat);
          const u = nesterov
            ? tf.div(tf.add(tf.mul(m, (b1 * r) / c1next), tf.mul(g, ((1 - b1) * r) / c1)), denom)
            : tf.mul(tf.div(m, denom), r / c1);
          return [m, v, u];
        });
        mu[k] = m;
        nu[k] = v;
        out[k] = u;
      }
      return [out, { count: t, mu, nu }];
    },
  };
};
