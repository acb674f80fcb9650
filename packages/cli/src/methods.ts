/**
 * Turning the training options into an optimizer: the outer optimizer with its learning-rate
 * schedule (@lets/optim's RUN_SCHEDULES), wrapped in a SAM preset (@lets/sam's SAM_PRESETS) for
 * every method but `sgd`, and in LETS (@lets/lets) for `lets-<preset>`.
 *
 *   sgd            outer
 *   <preset>       SAM_PRESETS[preset].build(outer, {rho, lr, totalSteps})
 *   lets-<preset>  lets(that with ρ₀, {rhoOptimizer, estimator, every, rhoMin, rhoMax, …})
 */
import * as E from 'fp-ts/Either';
import * as optim from '@lets/optim';
import { RUN_SCHEDULES, type GradientTransformation, type Schedule, type TransformMetrics } from '@lets/optim';
import { SAM_PRESETS, type SamPreset } from '@lets/sam';
import { DEFAULT_REL_STEP, learningUpdates, lets } from '@lets/lets';
import { HVP_ESTIMATOR_REGISTRY, type HvpEstimatorEntry, type UpperObjectiveName } from '@lets/bilevel';
import { camel } from './flags';
import type { TrainOptions } from './options';

/** The entry of a registry by name, or undefined (own keys only: 'constructor' is no schedule). */
const entryOf = <E>(registry: Readonly<Record<string, E>>, name: string): E | undefined =>
  Object.prototype.hasOwnProperty.call(registry, name) ? registry[name] : undefined;

/**
 * The learning rate at step t of T (0-based) for a peak rate η: @lets/optim's run schedule
 * `name` (constant, cosine, step, warmup-cosine with W warm-up steps, linear; see RUN_SCHEDULES).
 */
export function learningRateSchedule(name: string, peak: number, totalSteps: number, warmupSteps: number): Schedule {
  const s = entryOf<optim.RunSchedule>(RUN_SCHEDULES, name);
  if (s === undefined) throw new Error(`learningRateSchedule: unknown schedule '${name}'; expected one of ${Object.keys(RUN_SCHEDULES).join(', ')}`);
  return s.build(peak, { totalSteps, warmupSteps });
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
  // A constant rate is the number itself (the ρ optimizer's state is the same either way).
  if (schedule === 'constant') return peak;
  // @lets/optim's run schedule over the span's updates; cosineDecay holds 0 after its last step.
  return learningRateSchedule(schedule, peak, updates * span, 0);
}

/** The rate transform of log ρ (Adam or SGD) with that learning rate. */
const rhoOptimizer = (o: TrainOptions, updates: number): GradientTransformation<unknown> => {
  const lr = rhoLearningRate(o.rhoLrSchedule, o.rhoLr, updates, o.rhoLrSpan);
  return (o.rhoOptimizer === 'adam' ? optim.adam(lr) : optim.sgd(lr)) as GradientTransformation<unknown>;
};

/** Builds the method's optimizer; Left when @lets/sam has no such preset. */
export function buildMethod(o: TrainOptions, stepsPerEpoch: number): E.Either<string, Method> {
  const total = stepsPerEpoch * o.epochs;
  const schedule = learningRateSchedule(o.schedule, o.lr, total, o.warmup * stepsPerEpoch);
  const outer = outerOptimizer(o, schedule);
  if (o.method === 'sgd') return E.right({ name: 'sgd', tx: outer, learnsRho: false });
  const isLets = o.method.startsWith('lets-');
  const variant = isLets ? o.method.slice('lets-'.length) : o.method;
  const preset = entryOf<SamPreset>(SAM_PRESETS, variant);
  if (preset === undefined) return E.left(`--method ${o.method}: @lets/sam has no preset '${variant}' (expected one of ${Object.keys(SAM_PRESETS).join(', ')})`);
  // The preset takes what it follows of the run from here (GSAM: the schedule; LE-SAM: the length).
  const samTx = preset.build(outer, { rho: o.rho, lr: schedule, totalSteps: total });
  if (!isLets) return E.right({ name: o.method, tx: samTx as GradientTransformation<unknown>, learnsRho: false });
  const estimator = entryOf<HvpEstimatorEntry>(HVP_ESTIMATOR_REGISTRY, o.estimator);
  if (estimator === undefined) return E.left(`--estimator ${o.estimator}: @lets/bilevel has no such estimator (expected one of ${Object.keys(HVP_ESTIMATOR_REGISTRY).join(', ')})`);
  const tx = lets(samTx, {
    rhoOptimizer: rhoOptimizer(o, Math.max(1, Math.floor(total / o.every))),
    // The cosine reaches 0 after the span's updates: from there ρ is held, and LETS skips its work.
    ...(o.rhoLrSchedule === 'cosine' ? { holdAfter: learningUpdates(total, o.every, o.rhoLrSpan) } : {}),
    estimator: estimator.build({ relStep: DEFAULT_REL_STEP }),
    every: o.every,
    rhoMin: o.rhoMin,
    rhoMax: o.rhoMax,
    objective: camel(o.objective) as UpperObjectiveName,
    lambda: o.objectiveWeight,
    stallGuard: o.stallGuard === 'on' ? { margin: o.stallMargin, maxShrinks: o.stallMaxShrinks } : false,
    tangentProjection: o.tangentProjection,
  }) as GradientTransformation<unknown>;
  return E.right({ name: o.method, tx, learnsRho: true });
}
