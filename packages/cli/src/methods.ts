/**
 * Turning the training options into an optimizer: the outer optimizer with its learning-rate
 * schedule (@lets/optim), wrapped in a SAM preset (@lets/sam) for every method but `sgd`, and
 * in LETS (@lets/lets) for `lets-<preset>`.
 *
 *   sgd            outer
 *   <preset>       preset(outer, {rho})
 *   lets-<preset>  lets(preset(outer, {rho: ρ₀}), {rhoOptimizer, estimator, every, rhoMin, rhoMax})
 */
import * as E from 'fp-ts/Either';
import * as optim from '@lets/optim';
import * as samPkg from '@lets/sam';
import * as letsPkg from '@lets/lets';
import type { GradientTransformation, Schedule, TransformMetrics } from '@lets/optim';
import { camel } from './flags';
import type { TrainOptions } from './options';

/**
 * The learning rate at step t of T (0-based), for a peak rate η:
 * - constant: η
 * - cosine: η·½(1 + cos(π t/T))                      (Loshchilov & Hutter 2017, no restarts)
 * - warmup-cosine: linear 0→η over W steps, then cosine over the remaining T − W
 * - linear: η·(1 − t/T)
 * - step: η·0.1^⌊3t/T⌋ … at 50% and 75% of T: η, 0.1η, 0.01η
 */
export function learningRateSchedule(name: string, peak: number, totalSteps: number, warmupSteps: number): Schedule {
  const T = Math.max(1, totalSteps);
  switch (name) {
    case 'constant':
      return () => peak;
    case 'cosine':
      return (t) => peak * 0.5 * (1 + Math.cos((Math.PI * Math.min(t, T)) / T));
    case 'warmup-cosine': {
      const W = Math.min(Math.max(0, Math.round(warmupSteps)), T - 1);
      return (t) => (t < W ? (peak * (t + 1)) / W : peak * 0.5 * (1 + Math.cos((Math.PI * Math.min(t - W, T - W)) / (T - W))));
    }
    case 'linear':
      return (t) => peak * Math.max(0, 1 - t / T);
    case 'step':
      return (t) => (t < 0.5 * T ? peak : t < 0.75 * T ? peak * 0.1 : peak * 0.01);
    default:
      throw new Error(`learningRateSchedule: unknown schedule '${name}'`);
  }
}

export interface Method {
  readonly name: string;
  readonly tx: GradientTransformation<unknown>;
  /** Whether ρ is learned (lets-*). */
  readonly learnsRho: boolean;
}

/** ρ in force after an update with this state: what the transform's `metrics` reports (0 for sgd, which has none). */
export const rhoAfter = (tx: GradientTransformation<unknown>, state: unknown): number => tx.metrics?.(state).rho ?? 0;

/**
 * The step record's fields from the transform's metrics: LETS's gap δ, dF/dρ, validation loss
 * and stall flag (1/0), on the steps where it updated ρ; nothing otherwise.
 */
export const stepReport = (m: TransformMetrics | undefined): Readonly<Record<string, number>> => {
  if (m?.['updated'] !== true || typeof m['gap'] !== 'number') return {};
  const h = m['hypergradient'];
  const v = m['valLoss'];
  const stalled = m['stalled'];
  return {
    gap: m['gap'],
    hypergradient: typeof h === 'number' ? h : NaN,
    ...(typeof v === 'number' ? { valLoss: v } : {}),
    ...(typeof stalled === 'boolean' ? { stalled: stalled ? 1 : 0 } : {}),
  };
};

type AnyFn = (...args: unknown[]) => unknown;
const lookup = (pkg: unknown, name: string): AnyFn | undefined => {
  const f = (pkg as Record<string, unknown>)[name];
  return typeof f === 'function' ? (f as AnyFn) : undefined;
};

/** The outer optimizer: sgd (momentum, coupled weight decay) or adam (+ coupled weight decay). */
export function outerOptimizer(o: TrainOptions, schedule: Schedule): GradientTransformation<unknown> {
  if (o.optimizer === 'sgd') {
    return optim.sgd(schedule, {
      ...(o.momentum > 0 ? { momentum: o.momentum } : {}),
      ...(o.weightDecay > 0 ? { weightDecay: o.weightDecay } : {}),
    }) as GradientTransformation<unknown>;
  }
  const a = optim.adam(schedule) as GradientTransformation<unknown>;
  return o.weightDecay > 0 ? (optim.chain(optim.addDecayedWeights(o.weightDecay), a) as GradientTransformation<unknown>) : a;
}

/**
 * The learning rate of log ρ as a function of the ρ optimizer's update count t: constant, or a
 * cosine from `peak` to 0 over the first `span` (a fraction) of the run's `updates` ρ updates,
 * then 0, so ρ is held where it settled (span 1: over the whole run).
 */
export function rhoLearningRate(schedule: 'constant' | 'cosine', peak: number, updates: number, span = 1): Schedule | number {
  if (schedule === 'constant') return peak;
  const n = Math.max(1, Math.round(updates * span));
  return (t: number) => (t >= n ? 0 : peak * 0.5 * (1 + Math.cos((Math.PI * t) / n)));
}

/** The rate transform of log ρ (Adam or SGD) with that learning rate. */
const rhoOptimizer = (o: TrainOptions, updates: number): GradientTransformation<unknown> => {
  const lr = rhoLearningRate(o.rhoLrSchedule, o.rhoLr, updates, o.rhoLrSpan);
  return (o.rhoOptimizer === 'adam' ? optim.adam(lr) : optim.sgd(lr)) as GradientTransformation<unknown>;
};

/** Builds the method's optimizer; Left when a package that it needs does not offer it. */
export function buildMethod(o: TrainOptions, stepsPerEpoch: number): E.Either<string, Method> {
  const total = stepsPerEpoch * o.epochs;
  const schedule = learningRateSchedule(o.schedule, o.lr, total, o.warmup * stepsPerEpoch);
  const outer = outerOptimizer(o, schedule);
  if (o.method === 'sgd') return E.right({ name: 'sgd', tx: outer, learnsRho: false });
  const isLets = o.method.startsWith('lets-');
  const variant = isLets ? o.method.slice('lets-'.length) : o.method;
  const preset = lookup(samPkg, camel(variant));
  if (preset === undefined) return E.left(`--method ${o.method}: @lets/sam does not export the preset '${camel(variant)}'`);
  // GSAM ties ρ to the learning-rate schedule (its ProportionScheduler); LE-SAM anneals its σ
  // over the run's length.
  const presetOptions = {
    rho: o.rho,
    ...(variant === 'gsam' ? { lr: schedule } : {}),
    ...(variant === 'le-sam' ? { totalSteps: Math.max(2, total) } : {}),
  };
  const samTx = preset(outer, presetOptions) as GradientTransformation<unknown>;
  if (!isLets) return E.right({ name: o.method, tx: samTx, learnsRho: false });
  const lets = lookup(letsPkg, 'lets');
  if (lets === undefined) return E.left(`--method ${o.method}: @lets/lets does not export lets`);
  const tx = lets(samTx, {
    rhoOptimizer: rhoOptimizer(o, Math.max(1, Math.floor(total / o.every))),
    estimator: o.estimator,
    every: o.every,
    rhoMin: o.rhoMin,
    rhoMax: o.rhoMax,
    objective: o.objective === 'gap-val' ? 'gapVal' : o.objective,
    lambda: o.objectiveWeight,
    stallGuard: o.stallGuard === 'on' ? { margin: o.stallMargin, maxShrinks: o.stallMaxShrinks } : false,
    tangentProjection: o.tangentProjection,
  }) as GradientTransformation<unknown>;
  return E.right({ name: o.method, tx, learnsRho: true });
}
