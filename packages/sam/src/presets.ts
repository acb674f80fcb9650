import type { LeafPredicate } from '@lets/tree';
import { chain, type GradientTransformation, type Schedule, type ScalarOrSchedule } from '@lets/optim';
import type { SamTransformation } from './types';
import { sharpnessAware } from './sharpnessAware';
import { normalize } from './normalize';
import { scaleByParam, type ParamFilter } from './scaleByParam';
import { fisherPrecondition } from './fisherPrecondition';
import { emaDirection } from './emaDirection';
import { subtractEma } from './subtractEma';
import { randomMask } from './randomMask';
import { selectSubset, isNormalizationParam } from './selectSubset';
import { gaussianSmoothing } from './gaussianSmoothing';
import { normMatch, surrogateGap } from './combiners';
import { twoPass } from './twoPass';
import { lookAhead } from './lookAhead';
import { microBatches } from './microBatches';
import { gradientNormAware } from './gradientNormAware';
import { sharpnessSensitiveData } from './sharpnessSensitiveData';
import { checkInteger, checkNumber } from './numerics';
import { lossEquated } from './lossEquated';

/** ρ of every preset: a number or a schedule of the outer step count. */
export interface RhoOption {
  readonly rho?: ScalarOrSchedule;
}

/**
 * SAM (Foret et al. 2021, "Sharpness-Aware Minimization for Efficiently Improving
 * Generalization", ICLR): ε = ρ g/‖g‖, d = ∇L(w + ε). Default ρ = 0.05 (google-research/sam).
 */
export const sam = <S>(outer: GradientTransformation<S>, options: RhoOption = {}): SamTransformation<S> =>
  sharpnessAware(outer, { name: 'sam', rho: options.rho ?? 0.05, ascent: chain(normalize()) });

/** Options of {@link asam}. */
export interface AsamOptions extends RhoOption {
  /** η in T = |w| + η (default 0.01 official, 0 adaptive). */
  readonly eta?: number;
  /**
   * 'official' (default, SamsungLabs/ASAM): T = |w| + η on weights of rank > 1, T = 1 elsewhere.
   * 'adaptive' (davda54/sam `adaptive=True`): T = |w| on every parameter (η = 0).
   */
  readonly form?: 'official' | 'adaptive';
  /** Override of the leaves T scales. */
  readonly filter?: ParamFilter;
}

/**
 * ASAM (Kwon et al. 2021, "ASAM: Adaptive Sharpness-Aware Minimization for Scale-Invariant
 * Learning of Deep Neural Networks", ICML): ε = ρ T²g/‖Tg‖, T = |w| + η element-wise.
 * Defaults ρ = 0.5 (CIFAR-10; 1.0 for CIFAR-100), η = 0.01, official form.
 */
export const asam = <S>(outer: GradientTransformation<S>, options: AsamOptions = {}): SamTransformation<S> => {
  const form = options.form ?? 'official';
  if (form !== 'official' && form !== 'adaptive') throw new Error(`asam: form must be 'official' or 'adaptive', got ${String(form)}`);
  const t = scaleByParam({
    eta: options.eta ?? (form === 'official' ? 0.01 : 0),
    filter: options.filter ?? (form === 'official' ? 'weights' : 'all'),
  });
  return sharpnessAware(outer, { name: 'asam', rho: options.rho ?? 0.5, ascent: chain(t, normalize(), t) });
};

/**
 * Fisher SAM (Kim et al. 2022, ICML): ε = γ (g/f)/√(Σ g²/f), f = 1 + η g², so εᵀfε = γ².
 * `rho` is the paper's γ. Defaults γ = 0.1, η = 1 (not checked against the reference code).
 */
export const fisherSam = <S>(
  outer: GradientTransformation<S>,
  options: RhoOption & { readonly eta?: number } = {},
): SamTransformation<S> =>
  sharpnessAware(outer, {
    name: 'fisherSam',
    rho: options.rho ?? 0.1,
    ascent: chain(fisherPrecondition({ eta: options.eta ?? 1 })),
  });

/** Options of {@link gsam}. */
export interface GsamOptions {
  /** ρ_max (default 0.05); the constant ρ when no `lr` schedule is given. */
  readonly rho?: number;
  /** α of the surrogate-gap descent (default 0.4). */
  readonly alpha?: number;
  /** The learning-rate schedule ρ follows: ρ_t = ρ_min + (ρ − ρ_min)(lr(t) − lrMin)/(lrMax − lrMin). */
  readonly lr?: Schedule;
  /** lr_max (default lr(0)). */
  readonly lrMax?: number;
  /** lr_min (default 0). */
  readonly lrMin?: number;
  /** ρ_min (default 0 with an `lr` schedule). */
  readonly rhoMin?: number;
}

/**
 * GSAM (Zhuang et al. 2022, "Surrogate Gap Minimization Improves Sharpness-Aware Training", ICLR):
 * SAM's ε; d = g_p − α g_⊥ with g_⊥ = g − ⟨g, ĝ_p⟩ĝ_p; ρ tied linearly to the learning-rate
 * schedule (the official ProportionScheduler). Defaults ρ = 0.05, α = 0.4. α = 0 with a constant
 * ρ is SAM exactly.
 */
export const gsam = <S>(outer: GradientTransformation<S>, options: GsamOptions = {}): SamTransformation<S> => {
  const rhoMax = checkNumber('gsam: rho', options.rho ?? 0.05, 0);
  let rho: ScalarOrSchedule = rhoMax;
  const lr = options.lr;
  if (lr !== undefined) {
    if (typeof lr !== 'function') throw new Error(`gsam: lr must be a schedule (a function of the step), got ${typeof lr}`);
    const lrMax = checkNumber('gsam: lrMax', options.lrMax ?? lr(0));
    const lrMin = checkNumber('gsam: lrMin', options.lrMin ?? 0);
    const rhoMin = checkNumber('gsam: rhoMin', options.rhoMin ?? 0, 0);
    if (lrMax === lrMin) throw new Error(`gsam: lrMax and lrMin must differ to tie rho to the learning rate, both are ${lrMax}`);
    rho = (t: number) => rhoMin + ((rhoMax - rhoMin) * (lr(t) - lrMin)) / (lrMax - lrMin);
  }
  return sharpnessAware(outer, {
    name: 'gsam',
    rho,
    ascent: chain(normalize()),
    procedure: twoPass(surrogateGap({ alpha: options.alpha ?? 0.4 })),
  });
};

/** Options of {@link esam}. */
export interface EsamOptions extends RhoOption {
  /** β: keep probability of the stochastic weight perturbation (default 0.5). */
  readonly beta?: number;
  /** γ: fraction of the batch kept by sharpness-sensitive data selection (default 0.5). */
  readonly gamma?: number;
  /** Mask granularity (default 'element'). */
  readonly per?: 'element' | 'tensor';
  /** PRNG seed of the mask (default 0). */
  readonly seed?: number;
}

/**
 * ESAM (Du et al. 2022, ICLR): stochastic weight perturbation ε = (ρ/β) m⊙g/‖g‖ and
 * sharpness-sensitive data selection (perturbed pass on the top-γ samples by ℓ_i(w+ε) − ℓ_i(w);
 * needs `extra.sampleLossFn` and `extra.subsetGradFn` when γ < 1). Defaults ρ = 0.05, β = 0.5,
 * γ = 0.5. β = γ = 1 is SAM exactly.
 */
export const esam = <S>(outer: GradientTransformation<S>, options: EsamOptions = {}): SamTransformation<S> =>
  sharpnessAware(outer, {
    name: 'esam',
    rho: options.rho ?? 0.05,
    ascent: chain(
      normalize(),
      randomMask({ beta: options.beta ?? 0.5, ...(options.per ? { per: options.per } : {}), seed: options.seed ?? 0 }),
    ),
    procedure: sharpnessSensitiveData({ gamma: options.gamma ?? 0.5 }),
  });

/** Options of {@link samOn}. */
export interface SamOnOptions extends RhoOption {
  /** The perturbed leaves (default: normalization-layer parameters, {@link isNormalizationParam}). */
  readonly filter?: LeafPredicate;
  /** Use ASAM's T = |w| + η on the selected leaves (elementwise, every selected leaf) when given. */
  readonly eta?: number;
}

/**
 * SAM-ON (Mueller et al. 2023, "Normalization Layers Are All That Sharpness-Aware Minimization
 * Needs", NeurIPS): SAM (or ASAM with `eta`) on the normalization-layer parameters only, the norm
 * over that subset, ε = 0 elsewhere. Default ρ = 0.05 (not checked against the reference code).
 */
export const samOn = <S>(outer: GradientTransformation<S>, options: SamOnOptions = {}): SamTransformation<S> => {
  const filter = options.filter ?? isNormalizationParam;
  const stages =
    options.eta === undefined
      ? [selectSubset(filter), normalize()]
      : [selectSubset(filter), scaleByParam({ eta: options.eta, filter: 'all' }), normalize(), scaleByParam({ eta: options.eta, filter: 'all' })];
  return sharpnessAware(outer, { name: 'samOn', rho: options.rho ?? 0.05, ascent: chain(...stages) });
};

/**
 * VaSSO (Li & Giannakis 2023, NeurIPS): d_t = (1−θ)d_{t−1} + θg_t, ε = ρ d_t/‖d_t‖.
 * Defaults ρ = 0.2, θ = 0.9. θ = 1 is SAM exactly.
 */
export const vasso = <S>(outer: GradientTransformation<S>, options: RhoOption & { readonly theta?: number } = {}): SamTransformation<S> =>
  sharpnessAware(outer, {
    name: 'vasso',
    rho: options.rho ?? 0.2,
    ascent: chain(emaDirection({ theta: options.theta ?? 0.9 }), normalize()),
  });

/**
 * Friendly SAM (Li et al. 2024, CVPR): d = g − σ m_{t−1}, m_t = λ m_{t−1} + (1−λ) g, ε = ρ d/‖d‖.
 * Defaults ρ = 0.05 (not checked), σ = 1, λ = 0.95. σ = 0 is SAM exactly.
 */
export const friendlySam = <S>(
  outer: GradientTransformation<S>,
  options: RhoOption & { readonly sigma?: number; readonly lambda?: number } = {},
): SamTransformation<S> =>
  sharpnessAware(outer, {
    name: 'friendlySam',
    rho: options.rho ?? 0.05,
    ascent: chain(subtractEma({ sigma: options.sigma ?? 1, lambda: options.lambda ?? 0.95 }), normalize()),
  });

/**
 * LookSAM (Liu et al. 2022, CVPR): the SAM pass every k-th step, storing g_v, and
 * d = g + α(‖g‖/‖g_v‖)g_v in between. Defaults ρ = 0.05, k = 5, α = 0.7. k = 1 is SAM exactly.
 */
export const lookSam = <S>(
  outer: GradientTransformation<S>,
  options: RhoOption & { readonly k?: number; readonly alpha?: number } = {},
): SamTransformation<S> =>
  sharpnessAware(outer, {
    name: 'lookSam',
    rho: options.rho ?? 0.05,
    ascent: chain(normalize()),
    procedure: lookAhead({ k: options.k ?? 5, alpha: options.alpha ?? 0.7 }),
  });

/**
 * mSAM / m-sharpness (Foret et al. 2021 §4; Behdin et al. 2023): one ε per micro-batch, the
 * perturbed gradients averaged; needs `extra.microGradFns` (M GradFns) when M > 1.
 * Defaults ρ = 0.05, M = `microBatches` = 1 (SAM). M = 1 is SAM exactly.
 */
export const msam = <S>(
  outer: GradientTransformation<S>,
  options: RhoOption & { readonly microBatches?: number } = {},
): SamTransformation<S> =>
  sharpnessAware(outer, {
    name: 'msam',
    rho: options.rho ?? 0.05,
    ascent: chain(normalize()),
    procedure: microBatches({ microBatches: options.microBatches ?? 1 }),
  });

/**
 * GAM (Zhang et al. 2023, CVPR) with SAM, 4 gradient evaluations a step: see
 * {@link gradientNormAware}. Defaults (official code, CIFAR-10 ResNet): ρ = 0.03 (grad_rho),
 * normRho = 0.2, beta0 = beta1 = 0.1 (β2 = β3 = 0.9), gamma = 0.05.
 */
export const gam = <S>(
  outer: GradientTransformation<S>,
  options: RhoOption & { readonly normRho?: number; readonly beta0?: number; readonly beta1?: number; readonly gamma?: number } = {},
): SamTransformation<S> => {
  const { rho, ...rest } = options;
  return sharpnessAware(outer, {
    name: 'gam',
    rho: rho ?? 0.03,
    ascent: chain(normalize()),
    procedure: gradientNormAware(rest),
  });
};

/**
 * Random SAM (Liu et al. 2022, NeurIPS): the ascent direction from a Gaussian-smoothed point,
 * ε = ρ ∇L(w+δ)/‖∇L(w+δ)‖, δ ~ N(0, σ²I); 3 gradient evaluations a step. Defaults ρ = 0.05,
 * σ = 0.01 (not checked against the reference code), seed 0.
 */
export const randomSam = <S>(
  outer: GradientTransformation<S>,
  options: RhoOption & { readonly sigma?: number; readonly seed?: number } = {},
): SamTransformation<S> =>
  sharpnessAware(outer, {
    name: 'randomSam',
    rho: options.rho ?? 0.05,
    capabilities: { gradEvals: 3 },
    ascent: chain(gaussianSmoothing({ sigma: options.sigma ?? 0.01, seed: options.seed ?? 0 }), normalize()),
  });

/**
 * StableSAM (Tan et al. 2024): SAM with the perturbed gradient renormalized to the clean
 * gradient's norm, g_p ← g_p‖g‖/‖g_p‖. Default ρ = 0.05.
 */
export const stableSam = <S>(outer: GradientTransformation<S>, options: RhoOption = {}): SamTransformation<S> =>
  sharpnessAware(outer, {
    name: 'stableSam',
    rho: options.rho ?? 0.05,
    ascent: chain(normalize()),
    procedure: twoPass(normMatch()),
  });

/** Options of {@link leSam}. */
export interface LeSamOptions {
  /**
   * σ, the loss budget of the ascent (default 0.35, the LE-SAM code's): a number, or a schedule
   * of the step count. With `totalSteps`, a number is the peak of the warm-up/cosine schedule.
   */
  readonly rho?: ScalarOrSchedule;
  /** ρ_max, the cap on the radius (default 0.3). */
  readonly rhoMax?: number;
  /** ϱ in σ/(‖g‖ + ϱ) (default 1e-12). */
  readonly varrho?: number;
  /** The run's length in steps: σ is warmed up, held, then cosine-annealed to 0 at this step. */
  readonly totalSteps?: number;
  /** Linear warm-up of σ from 0 (default 5 % of totalSteps: 10 of the paper's 200 epochs). */
  readonly warmupSteps?: number;
  /** Steps σ is held at its peak after the warm-up (default 0). */
  readonly holdSteps?: number;
}

/**
 * σ_t of LE-SAM: linear warm-up σ(t+1)/W over W steps, hold for H steps, then
 * σ·½(1 + cos(π (t − W − H)/(T − W − H))) down to 0 at step T.
 */
export const leSamSchedule = (sigma: number, totalSteps: number, warmupSteps: number, holdSteps = 0): Schedule => {
  checkNumber('leSamSchedule: sigma', sigma, 0);
  const T = checkInteger('leSamSchedule: totalSteps', totalSteps, 1);
  const W = checkInteger('leSamSchedule: warmupSteps', warmupSteps, 0);
  const H = checkInteger('leSamSchedule: holdSteps', holdSteps, 0);
  if (W + H >= T) throw new Error(`leSamSchedule: warmupSteps + holdSteps (${W + H}) must be below totalSteps (${T})`);
  return (t: number) => {
    if (t < W) return (sigma * (t + 1)) / W;
    if (t < W + H) return sigma;
    const x = Math.min(1, (t - W - H) / (T - W - H));
    return sigma * 0.5 * (1 + Math.cos(Math.PI * x));
  };
};

/**
 * LE-SAM (loss-equated SAM, ICML 2026, arXiv 2605.10183): a per-step radius that makes the
 * first-order loss increase of the ascent equal to a budget σ_t,
 *   ρ_t = min(σ_t/(‖g_t‖ + ϱ), ρ_max),  ε_t = ρ_t g_t/‖g_t‖,
 * with σ_t warmed up, held and cosine-annealed to 0 when `totalSteps` is given (constant σ
 * otherwise). Defaults from its public code: σ = 0.35, ρ_max = 0.3. The wrapper's ρ is σ, so
 * LETS on LE-SAM learns a multiplier on the σ schedule.
 */
export const leSam = <S>(outer: GradientTransformation<S>, options: LeSamOptions = {}): SamTransformation<S> => {
  const sigma = options.rho ?? 0.35;
  let rho: ScalarOrSchedule = sigma;
  if (options.totalSteps !== undefined) {
    if (typeof sigma === 'function') throw new Error('leSam: give either a schedule as rho or totalSteps, not both');
    const T = options.totalSteps;
    rho = leSamSchedule(sigma, T, options.warmupSteps ?? Math.max(1, Math.round(0.05 * T)), options.holdSteps ?? 0);
  }
  return sharpnessAware(outer, {
    name: 'leSam',
    rho,
    ascent: chain(lossEquated({ ...(options.rhoMax !== undefined ? { rhoMax: options.rhoMax } : {}), ...(options.varrho !== undefined ? { varrho: options.varrho } : {}) })),
  });
};
