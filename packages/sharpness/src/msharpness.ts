/**
 * m-sharpness (Foret et al. 2021, "Sharpness-Aware Minimization for Efficiently Improving
 * Generalization", §4.1 and App. C.3) and adaptive sharpness (Kwon et al. 2021, "ASAM", eq. 7):
 *
 *   plain:     S_ρ(w)  = (1/|B|) Σ_B  max_{‖ε‖₂ ≤ ρ}         L_B(w + ε) − L_B(w)
 *   adaptive:  S^a_ρ(w) = (1/|B|) Σ_B  max_{‖T_w⁻¹ ε‖₂ ≤ ρ}  L_B(w + ε) − L_B(w),  T_w = |w| + η
 *
 * averaged (weighted by size) over the micro-batches B of m examples each: here the problem's
 * chunks (`scope: 'perChunk'`, so m is the chunk size), or one ε for the whole subset
 * (`scope: 'whole'`, m = n). The inner max is taken by the ascent the SAM variants use, from
 * @lets/sam's stages: ε₁ = ρ g/‖g‖ (SAM: `normalize`) or ε₁ = ρ T²g/‖Tg‖ (ASAM: `scaleByParam →
 * normalize → scaleByParam`), g = ∇L_B(w). With `steps` > 1 it continues by projected ascent,
 * ε_{s+1} = Proj(ε_s + ρ·n(∇L_B(w + ε_s))), n the same unit direction (T taken at w) and Proj
 * back onto the ball, and keeps the largest loss met: the result is a lower bound of the max,
 * exact when L_B is linear-plus-quadratic with g along the top eigenvector (then ε₁ is the max).
 * T follows ASAM's official code: |w| + η on weights of rank > 1, 1 on biases (`filter`).
 *
 * Cost per micro-batch: `steps` gradient evaluations and one loss evaluation. Memory: three trees
 * beside one chunk's activations.
 */
import * as tf from '@tensorflow/tfjs-core';
import { chain, type GradientTransformation } from '@lets/optim';
import { isWeight, normalize, scaleByParam, type ParamFilter } from '@lets/sam';
import { dispose, type Params } from '@lets/tree';
import { gradAt, lossAt, type OnProgress, type SharpnessProblem } from './problem';

export interface MSharpnessOptions {
  /** The radius ρ (> 0). */
  readonly rho: number;
  /** Adaptive sharpness (ASAM's ball ‖T⁻¹ε‖ ≤ ρ); default false. */
  readonly adaptive?: boolean;
  /** η of T = |w| + η (default 0.01, ASAM's). */
  readonly eta?: number;
  /** Leaves T scales (default 'weights': rank > 1, ASAM's official choice). */
  readonly filter?: ParamFilter;
  /** Ascent steps (default 1: SAM's own ε). */
  readonly steps?: number;
  /** 'perChunk' (default): one ε per chunk (m = chunk size); 'whole': one ε for the subset. */
  readonly scope?: 'perChunk' | 'whole';
  readonly onProgress?: OnProgress;
}

export interface MSharpnessResult {
  /** The weighted mean over micro-batches of max L_B(w+ε) − L_B(w). */
  readonly sharpness: number;
  /** L(w), the subset's loss at w. */
  readonly loss: number;
  /** The sharpness of each micro-batch, in chunk order. */
  readonly perBatch: readonly number[];
  readonly rho: number;
  readonly adaptive: boolean;
  readonly steps: number;
  /** Subset-gradient evaluations (a chunk's evaluation counted as its weight) and loss evaluations. */
  readonly gradEvals: number;
  readonly lossEvals: number;
}

/** T = |w| + η on the leaves `filter` selects, 1 elsewhere. */
const scaleOf = (params: Params, eta: number, filter: ParamFilter): Params =>
  tf.tidy(() => {
    const pred = filter === 'all' ? () => true : filter === 'weights' ? isWeight : filter;
    const out: Record<string, tf.Tensor> = {};
    for (const k of Object.keys(params)) out[k] = pred(k, params[k]!) ? tf.add(tf.abs(params[k]!), eta) : tf.onesLike(params[k]!);
    return out;
  });

/** ε scaled back onto the ball ‖ε/T‖ ≤ ρ when outside it (T = 1: the plain ball). */
const project = (eps: Params, t: Params | undefined, rho: number): Params =>
  tf.tidy(() => {
    const keys = Object.keys(eps);
    const sq = tf.addN(keys.map((k) => tf.sum(tf.square(t === undefined ? eps[k]! : tf.div(eps[k]!, t[k]!)))));
    const n = Math.sqrt((sq.dataSync() as Float32Array)[0] as number);
    const c = n > rho ? rho / n : 1;
    return Object.fromEntries(keys.map((k) => [k, tf.mul(eps[k]!, c)]));
  });

export const mSharpness = (problem: SharpnessProblem, options: MSharpnessOptions): MSharpnessResult => {
  const { rho } = options;
  if (!(Number.isFinite(rho) && rho > 0)) throw new Error(`mSharpness: rho must be a finite number > 0, got ${rho}`);
  const steps = options.steps ?? 1;
  if (!(Number.isSafeInteger(steps) && steps >= 1)) throw new Error(`mSharpness: steps must be an integer ≥ 1, got ${steps}`);
  const scope = options.scope ?? 'perChunk';
  if (scope !== 'perChunk' && scope !== 'whole') throw new Error(`mSharpness: scope must be 'perChunk' or 'whole', got '${String(scope)}'`);
  const adaptive = options.adaptive ?? false;
  const eta = options.eta ?? 0.01;
  const filter = options.filter ?? 'weights';
  const w = problem.params;
  // The SAM variants' own ascent: the unit direction n(g) with ε = ρ·n(g).
  const tStage = scaleByParam({ eta, filter });
  const stages: GradientTransformation<any> = adaptive ? chain(tStage, normalize(), tStage) : chain(normalize());
  const stageState = stages.init(w);
  const direction = (g: Params): Params => {
    // normalize and scaleByParam read nothing of SAM's ascent extra: an ordinary update
    const [d] = stages.update(g, stageState, w, {});
    return d;
  };
  const t = adaptive ? scaleOf(w, eta, filter) : undefined;
  const groups: { problem: SharpnessProblem; weight: number }[] =
    scope === 'whole'
      ? [{ problem, weight: 1 }]
      : problem.chunks.map((c) => ({ problem: { params: w, chunks: [{ lossFn: c.lossFn, weight: 1 }] }, weight: c.weight }));
  const total = problem.chunks.reduce((a, c) => a + c.weight, 0);
  const perBatch: number[] = [];
  let sharp = 0;
  let loss0 = 0;
  let gradEvals = 0;
  let lossEvals = 0;
  try {
    groups.forEach((grp, gi) => {
      const share = scope === 'whole' ? total : grp.weight;
      const r0 = gradAt(grp.problem, w);
      gradEvals += share;
      let g = r0.grads;
      let eps: Params | undefined;
      let best = -Infinity;
      try {
        for (let s = 1; s <= steps; s++) {
          const n = direction(g);
          dispose(g);
          g = {};
          const stepped = tf.tidy(() => Object.fromEntries(Object.keys(n).map((k) => [k, eps === undefined ? tf.mul(n[k]!, rho) : tf.add(eps[k]!, tf.mul(n[k]!, rho))])));
          dispose(n);
          if (eps !== undefined) dispose(eps);
          eps = project(stepped, t, rho);
          dispose(stepped);
          const at = tf.tidy(() => Object.fromEntries(Object.keys(w).map((k) => [k, tf.add(w[k]!, eps![k]!)])));
          if (s < steps) {
            const r = gradAt(grp.problem, at);
            gradEvals += share;
            best = Math.max(best, r.loss);
            g = r.grads;
          } else {
            best = Math.max(best, lossAt(grp.problem, at));
            lossEvals += share;
          }
          dispose(at);
        }
      } finally {
        dispose(g);
        if (eps !== undefined) dispose(eps);
      }
      const value = best - r0.loss;
      perBatch.push(value);
      sharp += grp.weight * value;
      loss0 += grp.weight * r0.loss;
      options.onProgress?.({ measure: 'msharpness', done: gi + 1, total: groups.length, estimate: sharp / groups.slice(0, gi + 1).reduce((a, x) => a + x.weight, 0) });
    });
  } finally {
    if (t !== undefined) dispose(t);
  }
  const wsum = groups.reduce((a, x) => a + x.weight, 0);
  return { sharpness: sharp / wsum, loss: loss0 / wsum, perBatch, rho, adaptive, steps, gradEvals, lossEvals };
};
