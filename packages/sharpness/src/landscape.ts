/**
 * Loss-landscape slices (Li, Xu, Taylor, Studer & Goldstein 2018, "Visualizing the Loss Landscape
 * of Neural Nets", NeurIPS; reference code tomgoldstein/loss-landscape):
 *
 *   1-D:  f(α)    = L(w + α d)              α on a grid, d one direction
 *   2-D:  f(α, β) = L(w + α d₁ + β d₂)      d₁, d₂ two independent directions
 *
 * Directions are random Gaussian, *filter-normalized*: for every filter (output unit) j of a
 * weight tensor, d_j ← d_j / ‖d_j‖ · ‖w_j‖, so a step α moves every filter by the same fraction of
 * its own norm, and the plot does not depend on the scale symmetries of ReLU networks (a sharp
 * and a flat minimum related by rescaling look the same). In tfjs layouts the filters are the
 * last axis ([kh, kw, in, out] kernels, [in, out] dense weights). Biases and normalization
 * parameters (rank ≤ 1) get d = 0 (the reference's `--xignore biasbn`), or w itself with
 * `biasbn: 'copy'`. `normalization: 'layer'` scales each tensor as a whole, 'none' keeps d.
 *
 * Cost: one loss evaluation of the subset per grid point (no gradients). Memory: one point's
 * params beside the directions.
 */
import * as tf from '@tensorflow/tfjs-core';
import { random, type Rng } from '@lets/runtime';
import { dispose, type Params } from '@lets/tree';
import { lossAt, type OnProgress, type SharpnessProblem } from './problem';

export type DirectionNormalization = 'filter' | 'layer' | 'none';

export interface DirectionOptions {
  /** Default 'filter'. */
  readonly normalization?: DirectionNormalization;
  /** Leaves of rank ≤ 1: 'ignore' (default, d = 0) or 'copy' (d = w). */
  readonly biasbn?: 'ignore' | 'copy';
}

/** ‖x_j‖ over every axis but the last, one per filter j (shape [1, …, 1, out]). */
const filterNorms = (x: tf.Tensor): tf.Tensor => tf.sqrt(tf.sum(tf.square(x), x.shape.slice(0, -1).map((_, i) => i), true));

/** A random direction shaped like `params`, normalized as Li et al. (a new tree). */
export const randomDirection = (params: Params, rng: Rng, options: DirectionOptions = {}): Params => {
  const normalization = options.normalization ?? 'filter';
  if (!['filter', 'layer', 'none'].includes(normalization)) throw new Error(`randomDirection: normalization must be filter, layer or none; got '${String(normalization)}'`);
  const biasbn = options.biasbn ?? 'ignore';
  const out: Record<string, tf.Tensor> = {};
  for (const k of Object.keys(params)) {
    const w = params[k]!;
    const d = rng.normal([...w.shape]);
    out[k] = tf.tidy(() => {
      if (normalization === 'none') return tf.clone(d);
      if (w.rank <= 1 && normalization === 'filter') return biasbn === 'copy' ? tf.clone(w) : tf.zerosLike(w);
      if (normalization === 'layer' || w.rank <= 1) return tf.mul(d, tf.div(tf.norm(w), tf.add(tf.norm(d), 1e-10)));
      return tf.mul(d, tf.div(filterNorms(w), tf.add(filterNorms(d), 1e-10)));
    });
    d.dispose();
  }
  return out;
};

/** `points` evenly spaced values from lo to hi (both included). */
export const linspace = (lo: number, hi: number, points: number): number[] => {
  if (!(Number.isSafeInteger(points) && points >= 1)) throw new Error(`linspace: points must be an integer ≥ 1, got ${points}`);
  if (!(Number.isFinite(lo) && Number.isFinite(hi))) throw new Error(`linspace: the range must be finite, got [${lo}, ${hi}]`);
  return points === 1 ? [lo] : Array.from({ length: points }, (_, i) => lo + ((hi - lo) * i) / (points - 1));
};

export interface LandscapeOptions extends DirectionOptions {
  /** Grid range of α (and β), default [−1, 1]. */
  readonly range?: readonly [number, number];
  /** Grid points per axis (default 21 for 1-D, 11 for 2-D). */
  readonly points?: number;
  /** Seed of the random directions (default 0). */
  readonly seed?: number;
  /** Given directions instead of random ones (used as they are: no normalization). */
  readonly directions?: readonly Params[];
  readonly onProgress?: OnProgress;
}

export interface Landscape1d {
  readonly alphas: readonly number[];
  /** L(w + α d) for each α. */
  readonly losses: readonly number[];
  /** L(w). */
  readonly center: number;
}

export interface Landscape2d {
  readonly alphas: readonly number[];
  readonly betas: readonly number[];
  /** losses[i][j] = L(w + α_i d₁ + β_j d₂). */
  readonly losses: readonly (readonly number[])[];
  readonly center: number;
}

const directionsOf = (problem: SharpnessProblem, n: number, options: LandscapeOptions): { ds: Params[]; owned: boolean } => {
  if (options.directions !== undefined) {
    if (options.directions.length !== n) throw new Error(`landscape: expected ${n} direction(s), got ${options.directions.length}`);
    return { ds: [...options.directions], owned: false };
  }
  const rng = random.rng(random.key(options.seed ?? 0));
  return { ds: Array.from({ length: n }, () => randomDirection(problem.params, rng, options)), owned: true };
};

const lossAlong = (problem: SharpnessProblem, coeffs: readonly number[], ds: readonly Params[]): number => {
  const w = problem.params;
  const at = tf.tidy(() =>
    Object.fromEntries(Object.keys(w).map((k) => [k, coeffs.reduce((acc: tf.Tensor, c, i) => (c === 0 ? acc : tf.add(acc, tf.mul(ds[i]![k]!, c))), w[k]!)])),
  );
  // Keep w itself out of the dispose when every coefficient is 0 (tf.tidy returned it as is).
  const fresh = Object.fromEntries(Object.entries(at).filter(([k, t]) => t !== w[k]));
  try {
    return lossAt(problem, at);
  } finally {
    dispose(fresh);
  }
};

const range = (options: LandscapeOptions, points: number): number[] => {
  const [lo, hi] = options.range ?? [-1, 1];
  return linspace(lo, hi, points);
};

/** f(α) = L(w + α d) on a grid of α (see the module docs). */
export const landscape1d = (problem: SharpnessProblem, options: LandscapeOptions = {}): Landscape1d => {
  const alphas = range(options, options.points ?? 21);
  const { ds, owned } = directionsOf(problem, 1, options);
  try {
    const losses = alphas.map((a, i) => {
      const l = lossAlong(problem, [a], ds);
      options.onProgress?.({ measure: 'landscape', done: i + 1, total: alphas.length });
      return l;
    });
    const zero = alphas.indexOf(0);
    return { alphas, losses, center: zero >= 0 ? (losses[zero] as number) : lossAt(problem) };
  } finally {
    if (owned) ds.forEach(dispose);
  }
};

/** f(α, β) = L(w + α d₁ + β d₂) on a square grid (see the module docs). */
export const landscape2d = (problem: SharpnessProblem, options: LandscapeOptions = {}): Landscape2d => {
  const alphas = range(options, options.points ?? 11);
  const betas = alphas;
  const { ds, owned } = directionsOf(problem, 2, options);
  try {
    let done = 0;
    const total = alphas.length * betas.length;
    const losses = alphas.map((a) =>
      betas.map((b) => {
        const l = lossAlong(problem, [a, b], ds);
        options.onProgress?.({ measure: 'landscape', done: ++done, total });
        return l;
      }),
    );
    return { alphas, betas, losses, center: lossAt(problem) };
  } finally {
    if (owned) ds.forEach(dispose);
  }
};
