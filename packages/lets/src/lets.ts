/**
 * LETS (Wang, Jiang, Fu & Zhang, ECML PKDD 2024, arXiv 2408.08222): the SAM radius ρ learned by
 * bilevel optimization, for any SAM variant.
 *
 *   upper:  min_{ρ>0} F(ρ) = ½ (L(D^vl; θ*(ρ)) − L(D^tr; θ*(ρ)))²
 *   lower:  θ*(ρ) = argmin_θ max_{‖ε‖≤ρ} L(D^tr; θ + ε)        (one step of the variant)
 *
 * One-step unrolling, with n_t = ε_t/ρ_t the variant's unit ascent direction:
 *
 *   θ_{t+1}      = θ_t + U(g_p),   g_p = ∇L(B^tr_t; θ_t + ρ n_t)
 *   τ_t          = dθ_{t+1}/dρ = ∂U/∂g_p · H̃ n_t,   H̃ = ∇²L(B^tr_t; θ_t + ρ n_t)   (estimated)
 *   δ            = L(B^vl; θ_{t+1}) − L(B^tr_{t+1}; θ_{t+1})
 *   u            = ∇L(B^vl; θ_{t+1}) − ∇L(B^tr_{t+1}; θ_{t+1})
 *   dF/dρ        = δ ⟨u, τ_t⟩,     dF/ds = ρ dF/dρ  for s = log ρ
 *
 * The train loss and gradient at θ_{t+1} are the next step's clean pass (`extra.loss` and the
 * incoming gradients), so a ρ update costs one validation gradient plus the estimator's
 * product (its declared `gradEvals`: 0 for fisherHvp/identityHvp, 1 for forwardDifferenceHvp, ≈2 for exactHvp). ρ is updated
 * every k steps: the tangent is computed only on the step before an update.
 * s = log ρ is updated by any gradient transformation (default adam(0.15); with `totalSteps`, cosine-decayed to 0 over the first 30 % of the ρ updates, after which ρ is held) and ρ is clamped
 * to [ρ_min, ρ_max]; ρ·exp(0) = ρ exactly, so a zero learning rate leaves the run
 * bit-for-bit the plain variant. The variant's ρ is set with @lets/sam's `withRho`, so a
 * scheduled ρ (GSAM) is learned as a multiplier on its schedule.
 *
 * Variants that evaluate several perturbed points (mSAM, GAM) or skip the perturbed pass on
 * most steps (LookSAM) get the tangent by a whole-step forward difference instead: re-run
 * the variant's step from the same state with ρ + h and difference the updates. A tangent due
 * on a step that took no perturbed pass (LookSAM between its SAM steps, where the update does
 * not depend on ρ) is deferred to the next step that takes one.
 *
 * LETS is a thin composition of @lets/bilevel: the tangent is `stepTangent` with the estimator's
 * H̃n and `gradientTangent` of the step's `descent` (@lets/sam's map g_p ↦ updates), or
 * `wholeStepTangent`; every difference takes its step from `differenceStepOf`; F and dF/dρ are
 * `upperHypergradient` of the chosen `upperObjective`. What LETS adds is ρ's parametrization
 * (log ρ, clamps, the ρ optimizer), when to take the tangent, and the stall and start guards.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as T from '@lets/tree';
import type { Params } from '@lets/tree';
import { adam, cosineDecay, explainMissingRuntime, type Extra, type GradientTransformation, type GradResult, type TransformMetrics } from '@lets/optim';
import { DEFAULT_CAPABILITIES, type SamState, type SamStep, type SamTransformation, withRho } from '@lets/sam';
import {
  differenceStep,
  forwardDifferenceHvp,
  gradientTangent,
  hvpEstimator,
  projectOut,
  stepTangent,
  TANGENT_PROJECTIONS,
  upperHypergradient,
  upperObjective,
  wholeStepTangent,
  type TangentProjection,
  type HvpEstimator,
  type HvpEstimatorName,
  type UpperObjective,
  type UpperObjectiveName,
} from '@lets/bilevel';

/** How the tangent dθ_{t+1}/dρ is obtained. */
export type TangentMode = 'auto' | 'linearized' | 'wholeStep';

export interface LetsOptions {
  /**
   * The transformation that updates s = log ρ. Default: with `totalSteps`, adam(0.15) with its
   * rate cosine-decayed to 0 over the learning span (see `totalSteps`); without it, adam(0.15) at
   * a constant rate, under which ρ keeps drifting for the whole run (docs/lets.md).
   */
  readonly rhoOptimizer?: GradientTransformation<any>;
  /**
   * The run's length in steps. With it, ρ is learned over the first `rhoLrSpan` of the run's ρ
   * updates (`learningUpdates(totalSteps, every, rhoLrSpan)` of them) and then held: the default
   * ρ optimizer decays its rate to 0 over that span, and after it LETS takes no tangent and no
   * validation pass (the step costs what the variant's does). These are the defaults the study
   * on docs/results.md measured; `lets train` passes its run length here.
   */
  readonly totalSteps?: number;
  /** The fraction of the run's ρ updates over which ρ is learned when `totalSteps` is given (default 0.3). */
  readonly rhoLrSpan?: number;
  /**
   * ρ updates after which ρ is held (counted from the ρ optimizer's start, and again from each
   * reset by the stall guard). Default: `learningUpdates(totalSteps, every, rhoLrSpan)` with
   * `totalSteps`, else Infinity (never held). Give it with a `rhoOptimizer` whose rate reaches 0
   * after that many updates: holding then changes nothing but the cost.
   */
  readonly holdAfter?: number;
  /** H̃·n estimator: an estimator of @lets/bilevel, or a name of its HVP_ESTIMATOR_REGISTRY (default forwardDifferenceHvp). */
  readonly estimator?: HvpEstimatorName | HvpEstimator;
  /** Update ρ every k steps (default 5). */
  readonly every?: number;
  /** Lower clamp of ρ (default 1e-4). */
  readonly rhoMin?: number;
  /** Upper clamp of ρ (default 10). */
  readonly rhoMax?: number;
  /**
   * 'linearized': τ = ∂U/∂g_p · H̃ n; 'wholeStep': τ ≈ (U(ρ+h) − U(ρ))/h re-running the step;
   * 'auto' (default): wholeStep for mSAM, GAM and LookSAM, linearized otherwise.
   */
  readonly tangent?: TangentMode;
  /** relStep of the difference estimators and of the whole-step differences (default 1e-3; see @lets/bilevel). */
  readonly relStep?: number;
  /**
   * The upper objective F at θ_{t+1}: 'gap' (the paper's ½δ²), 'val' (the validation loss),
   * 'gapVal' (½δ² + λ·L_val) or an objective of @lets/bilevel (default: see docs/lets.md).
   */
  readonly objective?: UpperObjectiveName | UpperObjective;
  /** λ of the 'gapVal' objective (default 1). */
  readonly lambda?: number;
  /**
   * What LETS removes from the tangent τ = dθ_{t+1}/dρ before contracting it with the
   * objective's gradient (@lets/bilevel's `TangentProjection`): 'none' (the plain one-step
   * hypergradient), 'gradient' (τ without its component along the clean gradient g, so ρ is not
   * credited for lengthening the step along g) or 'update' (without its component along the
   * update: a step of fixed length). Default 'gradient' (docs/lets.md).
   */
  readonly tangentProjection?: TangentProjection;
  /**
   * The stall guard (default on; `false` turns it off): while the clean training loss shows
   * that training is not progressing, the objective's hypergradient is replaced by a push
   * down on log ρ. See {@link StallGuardOptions}.
   */
  readonly stallGuard?: StallGuardOptions | false;
}

/**
 * The stall guard. A radius that stalls training (SAM attracted to a saddle: train and
 * validation losses both at chance) gives the one-step objectives nothing to act on, since
 * every nearby ρ leaves θ_{t+1} where it is. So LETS watches the clean training loss: with
 * L₀ the loss at the first step, L̄ an EMA of the loss at ρ updates and L* its minimum, it
 * calls the run stalled when, after `patience` updates,
 *
 *   L̄ ≥ (1 − margin)·L₀            (training has not started, or has fallen back to its start)
 *   or L̄ ≥ L* + rise·(L₀ − L*)     (the loss has given back a fraction `rise` of its progress).
 *
 * While stalled, dF/ds is replaced by +1 (the objective becomes F = log ρ), so the ρ
 * optimizer walks ρ down at its own rate (Adam: exactly lr per update, since its state is
 * reset when a stall starts and again when it ends). A zero learning rate still never moves ρ.
 */
export interface StallGuardOptions {
  /** ρ updates before the guard may act, and the EMA's horizon (default 3). */
  readonly patience?: number;
  /** Relative decrease below L₀ that counts as progress (default 0.05: a collapse to the label entropy lowers the loss about 2 % below L₀). */
  readonly margin?: number;
  /**
   * The fraction of the progress made, L₀ − L*, that the loss EMA must give back to count as a
   * stall: L̄ ≥ L* + rise·(L₀ − L*) (default 0.5). Measured against the progress, not against L*,
   * so that batch noise at a near-zero loss (0.01 → 0.05) is no stall.
   */
  readonly rise?: number;
  /** EMA factor of the loss at ρ updates (default 0.8). */
  readonly beta?: number;
  /**
   * Until training has started (the clean loss below (1 − margin)·L₀), a step whose perturbed
   * gradient points away from the clean one, cos(g, g_p) < minCosine, a clean gradient that
   * collapses (see `minGradRatio`), or any step after the first `startPatience`, multiplies ρ by
   * `shrink` for the next step (defaults 0.8, 0.25, off and 0.5):
   * SAM with too large a radius collapses a fresh network to the flat, constant predictor within
   * a few steps, before any ρ update.
   */
  readonly minCosine?: number;
  readonly shrink?: number;
  /**
   * Steps after which a run that has still not started shrinks ρ at every further step whatever
   * the cosine says (default Infinity: off, since a learning-rate warm-up delays a healthy start
   * by tens of steps and the rule then drove ρ to its lower clamp on the main job).
   */
  readonly startPatience?: number;
  /**
   * A clean gradient norm below minGradRatio·‖g₀‖ before training has started is a collapse
   * (default 0.25): SAM pulling the network to the flat constant predictor, where the loss sits
   * at the label entropy, a little below L₀, and cos(g, g_p) is high again. It shrinks ρ and
   * does not count as a start.
   */
  readonly minGradRatio?: number;
  /**
   * The most times the start guard may shrink ρ (default 5, a factor 32; Infinity: no bound). A collapsed
   * network keeps a small gradient for a few steps even once ρ is small, and an unbounded guard
   * then halves ρ down to `rhoMin`.
   */
  readonly maxShrinks?: number;
  /**
   * Whether an incoherent step (cos(g, g_p) < minCosine before training has started) is re-taken
   * at the shrunk ρ, from the same state, instead of taken and followed by a smaller ρ (default
   * true). From ρ₀ = 0.5 on the noisy-label CNN the first steps taken at the too-large ρ are what
   * collapses the network; retried, the network never takes them.
   */
  readonly retry?: boolean;
}

/** What the stall guard remembers (host numbers). */
export interface StallGuardState {
  /** L₀: the clean loss at the first step. */
  readonly initLoss: number;
  /** L̄: EMA of the clean loss at ρ updates (NaN before the first). */
  readonly ema: number;
  /** L*: the minimum of L̄. */
  readonly best: number;
  /** ρ updates seen. */
  readonly updates: number;
  /** Whether the last ρ update was taken as stalled. */
  readonly stalled: boolean;
  /** Whether training has started (a step's clean loss below (1 − margin)·L₀). */
  readonly started: boolean;
  /** Steps taken before training started. */
  readonly startSteps?: number;
  /** ‖g₀‖: the clean gradient's norm at the first step. */
  readonly initGradNorm?: number;
  /** How many times the start guard has shrunk ρ. */
  readonly shrinks?: number;
}

/** What LETS did at one step (host numbers only, so it serializes with the state). */
export interface LetsReport {
  /** ρ used by this step's SAM update (after this step's ρ update, if any). */
  readonly rho: number;
  /** Whether ρ was updated at the start of this step. */
  readonly updated: boolean;
  /** Whether ρ is held (its learning span is over, `holdAfter`): no tangent and no validation pass. */
  readonly held?: boolean;
  /** δ = L_vl(θ_t) − L_tr(θ_t) when ρ was updated. */
  readonly gap?: number;
  /** dF/dρ when ρ was updated. */
  readonly hypergradient?: number;
  /** L_vl(θ_t), the validation loss, when ρ was updated. */
  readonly valLoss?: number;
  /** F, the upper objective's value, when ρ was updated. */
  readonly objective?: number;
  /** Whether the stall guard replaced the hypergradient at this update. */
  readonly stalled?: boolean;
  /** Whether the start guard halved ρ after this step (cos(g, g_p) below its minimum). */
  readonly shrunk?: boolean;
  /** The estimator's name, or 'wholeStep'. */
  readonly estimator: string;
  /** Gradient evaluations this step: the variant's (counting the clean one) + LETS's own. */
  readonly gradEvals: number;
}

export interface LetsState<S> {
  /** Steps taken. */
  readonly count: number;
  /** The variant's state; its `rho` is the ρ the next step uses. */
  readonly variant: SamState<S>;
  /** The ρ optimizer's state (on the tree { logRho }). */
  readonly rhoOptimizer: unknown;
  /** τ = dθ_t/dρ from the previous step, pending when this step updates ρ. */
  readonly tangent?: Params;
  /** The ρ the pending tangent is a derivative in. */
  readonly tangentRho?: number;
  /** A tangent was due but the variant took no perturbed pass (LookSAM's in-between steps): take it at the next step that does. */
  readonly tangentDue?: boolean;
  /** The stall guard's memory (absent when the guard is off or before the first step). */
  readonly guard?: StallGuardState;
  /** Updates of the ρ optimizer since its start or its last reset (what `holdAfter` counts). */
  readonly rhoUpdates?: number;
  /** While ρ is held: the guard watches the loss at this step, where a ρ update would be. */
  readonly observeDue?: boolean;
  readonly report?: LetsReport;
}

export interface LetsTransformation<S> extends GradientTransformation<LetsState<S>> {
  readonly name: string;
  readonly variant: SamTransformation<S>;
  /**
   * What a training loop reports: the last step's {@link LetsReport} (gap, hypergradient, …)
   * with `rho` the ρ the next update uses (the one way to read the learned ρ).
   */
  readonly metrics: (state: LetsState<S>) => TransformMetrics & { readonly rho: number };
}

/** The upper objective when none is given (see docs/lets.md for the measurement behind it). */
export const DEFAULT_OBJECTIVE: UpperObjectiveName = 'val';

/** The stall guard's margin when none is given: a loss 5 % below L₀ counts as training having started. */
export const DEFAULT_STALL_MARGIN = 0.05;

/** The start guard's bound on its shrinks when none is given. */
export const DEFAULT_MAX_SHRINKS = 5;

/** The tangent projection when none is given (see docs/lets.md). */
export const DEFAULT_TANGENT_PROJECTION: TangentProjection = 'gradient';

/** The learning rate of log ρ (Adam) when no `rhoOptimizer` is given. */
export const DEFAULT_RHO_LR = 0.15;

/** relStep of the difference estimators and of the whole-step tangent when none is given. */
export const DEFAULT_REL_STEP = 1e-3;

/** The fraction of the run's ρ updates over which ρ is learned, when `totalSteps` is given. */
export const DEFAULT_RHO_LR_SPAN = 0.3;

/**
 * The number of ρ updates over which ρ is learned in a run of `totalSteps` steps with a ρ update
 * every `every` steps: round(span · max(1, ⌊totalSteps / every⌋)), at least 1. The default ρ
 * optimizer's cosine reaches 0 at this update, and ρ is held from it on.
 */
export const learningUpdates = (totalSteps: number, every: number, span: number = DEFAULT_RHO_LR_SPAN): number => {
  if (!(Number.isInteger(totalSteps) && totalSteps >= 1)) throw new Error(`learningUpdates: totalSteps must be an integer ≥ 1, got ${totalSteps}`);
  if (!(Number.isInteger(every) && every >= 1)) throw new Error(`learningUpdates: every must be an integer ≥ 1, got ${every}`);
  if (!(Number.isFinite(span) && span > 0 && span <= 1)) throw new Error(`learningUpdates: span must be a number in (0, 1], got ${span}`);
  return Math.max(1, Math.round(Math.max(1, Math.floor(totalSteps / every)) * span));
};

const checkOptions = (o: LetsOptions): void => {
  const every = o.every ?? 5;
  if (!Number.isInteger(every) || every < 1) throw new Error(`lets: every must be an integer ≥ 1, got ${every}`);
  const lo = o.rhoMin ?? 1e-4;
  const hi = o.rhoMax ?? 10;
  if (!(Number.isFinite(lo) && lo > 0)) throw new Error(`lets: rhoMin must be a finite number > 0, got ${lo}`);
  if (!(Number.isFinite(hi) && hi >= lo)) throw new Error(`lets: rhoMax must be a finite number ≥ rhoMin (${lo}), got ${hi}`);
  if (o.totalSteps !== undefined && !(Number.isInteger(o.totalSteps) && o.totalSteps >= 1)) {
    throw new Error(`lets: totalSteps must be an integer ≥ 1 (the run's length in steps), got ${String(o.totalSteps)}`);
  }
  if (o.rhoLrSpan !== undefined && !(typeof o.rhoLrSpan === 'number' && o.rhoLrSpan > 0 && o.rhoLrSpan <= 1)) {
    throw new Error(`lets: rhoLrSpan must be a number in (0, 1] (a fraction of the run's ρ updates), got ${String(o.rhoLrSpan)}`);
  }
  if (o.rhoLrSpan !== undefined && o.totalSteps === undefined) {
    throw new Error('lets: rhoLrSpan is a fraction of the run, so it needs totalSteps (the run\'s length in steps)');
  }
  if (o.holdAfter !== undefined && !(o.holdAfter === Infinity || (Number.isInteger(o.holdAfter) && o.holdAfter >= 1))) {
    throw new Error(`lets: holdAfter must be an integer ≥ 1 (ρ updates) or Infinity, got ${String(o.holdAfter)}`);
  }
  if (o.tangent !== undefined && !['auto', 'linearized', 'wholeStep'].includes(o.tangent)) {
    throw new Error(`lets: tangent must be 'auto', 'linearized' or 'wholeStep', got '${String(o.tangent)}'`);
  }
  if (o.tangentProjection !== undefined && !TANGENT_PROJECTIONS.includes(o.tangentProjection)) {
    throw new Error(`lets: tangentProjection must be one of ${TANGENT_PROJECTIONS.map((x) => `'${x}'`).join(', ')}, got '${String(o.tangentProjection)}'`);
  }
  if (o.stallGuard !== undefined && o.stallGuard !== false) {
    const g = o.stallGuard;
    if (typeof g !== 'object' || g === null) throw new Error(`lets: stallGuard must be an options object or false, got ${String(g)}`);
    const p = g.patience ?? 3;
    if (!Number.isInteger(p) || p < 1) throw new Error(`lets: stallGuard.patience must be an integer ≥ 1, got ${p}`);
    const ms = g.maxShrinks ?? Infinity;
    if (!(ms === Infinity || (Number.isInteger(ms) && ms >= 0))) throw new Error(`lets: stallGuard.maxShrinks must be an integer ≥ 0 or Infinity, got ${ms}`);
    const sp = g.startPatience ?? Infinity;
    if (!(sp === Infinity || (Number.isInteger(sp) && sp >= 0))) throw new Error(`lets: stallGuard.startPatience must be an integer ≥ 0 or Infinity, got ${sp}`);
    for (const [k, v, hi] of [['margin', g.margin, 1], ['rise', g.rise, Infinity], ['beta', g.beta, 1], ['minCosine', g.minCosine, 1], ['shrink', g.shrink, 1], ['minGradRatio', g.minGradRatio, 1]] as const) {
      if (v !== undefined && !(Number.isFinite(v) && v >= 0 && (hi === Infinity || v < hi))) {
        throw new Error(`lets: stallGuard.${k} must be a finite number in [0, ${hi}), got ${String(v)}`);
      }
    }
  }
};

interface Guard {
  readonly patience: number;
  readonly margin: number;
  readonly rise: number;
  readonly beta: number;
  readonly minCosine: number;
  readonly shrink: number;
  readonly startPatience: number;
  readonly minGradRatio: number;
  readonly maxShrinks: number;
  readonly retry: boolean;
}

/** The guard's next memory after a ρ update that saw the clean loss `loss`. */
const observe = (g: Guard, st: StallGuardState, loss: number): StallGuardState => {
  const initLoss = Number.isNaN(st.initLoss) ? loss : st.initLoss;
  const ema = Number.isNaN(st.ema) ? loss : g.beta * st.ema + (1 - g.beta) * loss;
  const best = Number.isFinite(ema) ? Math.min(st.best, ema) : st.best;
  const updates = st.updates + 1;
  const stalled =
    updates >= g.patience && Number.isFinite(ema) && (ema >= (1 - g.margin) * initLoss || ema >= best + g.rise * (initLoss - best));
  return { ...st, initLoss, ema, best, updates, stalled };
};

const host = (t: tf.Tensor): number => (t.dataSync() as Float32Array)[0] as number;

/** Several scalars read back in one sync. */
const hostAll = (ts: readonly tf.Tensor[]): [number, number, number] => {
  const t = tf.tidy(() => tf.stack(ts.map((x) => tf.reshape(x, []))));
  const v = Array.from(t.dataSync());
  t.dispose();
  return [v[0] ?? NaN, v[1] ?? NaN, v[2] ?? NaN];
};

const disposeGrad = (r: GradResult): void => {
  r.loss.dispose();
  T.dispose(r.grads);
  if (r.state !== undefined) T.dispose(r.state);
};

/**
 * Wraps a SAM variant so that its ρ is learned. `update(grads, state, params, extra)` needs,
 * besides what the variant needs (`extra.gradFn`), `extra.valGradFn` on steps that update ρ,
 * `extra.loss` (the clean loss at params; else it is recomputed), and `extra.lossFn` for the
 * exactHvp estimator (its `needs` says so).
 */
export const lets = <S>(variant: SamTransformation<S>, options: LetsOptions = {}): LetsTransformation<S> => {
  checkOptions(options);
  const every = options.every ?? 5;
  const rhoMin = options.rhoMin ?? 1e-4;
  const rhoMax = options.rhoMax ?? 10;
  const relStep = options.relStep ?? DEFAULT_REL_STEP;
  // With the run's length: ρ learned over a span of its updates (the default rate cosine-decays
  // to 0 there), then held. Without it: never held, and a constant default rate.
  const span = options.totalSteps !== undefined ? learningUpdates(options.totalSteps, every, options.rhoLrSpan ?? DEFAULT_RHO_LR_SPAN) : undefined;
  const holdAfter = options.holdAfter ?? span ?? Infinity;
  const rhoOpt: GradientTransformation<any> = options.rhoOptimizer ?? adam(span !== undefined ? cosineDecay(DEFAULT_RHO_LR, span) : DEFAULT_RHO_LR);
  const mode = options.tangent ?? 'auto';
  const projection = options.tangentProjection ?? DEFAULT_TANGENT_PROJECTION;
  // What the variant declares (@lets/sam's SamCapabilities), never its name.
  const caps = variant.capabilities ?? DEFAULT_CAPABILITIES;
  const wholeStep = mode === 'wholeStep' || (mode === 'auto' && caps.tangent === 'wholeStep');
  const estimator = options.estimator === undefined ? forwardDifferenceHvp({ relStep }) : hvpEstimator(options.estimator, { relStep });
  const estimatorNeedsLossFn = estimator.needs?.includes('lossFn') === true;
  const estimatorName = wholeStep ? 'wholeStep' : estimator.name;
  const guard: Guard | undefined =
    options.stallGuard === false
      ? undefined
      : {
          patience: options.stallGuard?.patience ?? 3,
          margin: options.stallGuard?.margin ?? DEFAULT_STALL_MARGIN,
          rise: options.stallGuard?.rise ?? 0.5,
          beta: options.stallGuard?.beta ?? 0.8,
          minCosine: options.stallGuard?.minCosine ?? 0.8,
          shrink: options.stallGuard?.shrink ?? 0.5,
          startPatience: options.stallGuard?.startPatience ?? Infinity,
          minGradRatio: options.stallGuard?.minGradRatio ?? 0.25,
          maxShrinks: options.stallGuard?.maxShrinks ?? DEFAULT_MAX_SHRINKS,
          retry: options.stallGuard?.retry ?? true,
        };
  const objective = upperObjective(options.objective ?? DEFAULT_OBJECTIVE, options.lambda === undefined ? {} : { lambda: options.lambda });

  const initState = (params: Params): LetsState<S> => {
    const v = variant.init(params);
    if (!(v.rho > 0)) {
      throw new Error(`lets(${variant.name}): the variant's initial rho is ${v.rho}; LETS learns log ρ and needs ρ₀ > 0`);
    }
    const s0 = tf.scalar(Math.log(Math.max(v.rho, rhoMin)));
    const r = rhoOpt.init({ logRho: s0 });
    s0.dispose();
    return { count: 0, variant: v, rhoOptimizer: r, rhoUpdates: 0 };
  };

  /** ρ update from the pending tangent: [new variant state (shares tensors), ρ-opt state, report bits]. */
  const updateRho = (
    grads: Params,
    state: LetsState<S>,
    params: Params,
    extra: Extra,
  ): {
    variant: SamState<S>;
    rhoOptimizer: unknown;
    gap: number;
    hypergradient: number;
    valLoss: number;
    objective: number;
    evals: number;
    guard: StallGuardState | undefined;
    stalled: boolean;
    rhoUpdates: number;
  } => {
    const tangent = state.tangent!;
    const valGradFn = extra.valGradFn;
    if (valGradFn === undefined) {
      throw new Error('lets: this step updates rho, which needs extra.valGradFn (loss and gradients on a validation batch); got none');
    }
    let evals = 1;
    const val = valGradFn(params);
    const [trainLoss, ownedLoss] = cleanLossOf(params, extra);
    if (ownedLoss !== undefined) evals += 1;
    const valLoss = host(val.loss);
    const trainLossValue = host(trainLoss);
    // dF/dρ = ∂F/∂δ ⟨u, τ⟩ + ∂F/∂L_vl ⟨∇L_vl, τ⟩ (for 'gap': δ ⟨u, τ⟩, as the paper): bilevel's.
    const o = upperHypergradient(objective, { valLoss, trainLoss: trainLossValue, valGrads: val.grads, trainGrads: grads }, tangent);
    disposeGrad(val);
    ownedLoss?.dispose();
    const { gap, hypergradient } = o;
    const rho = state.variant.rho;
    const tangentRho = state.tangentRho ?? rho;
    const prevGuard = state.guard;
    const nextGuard = guard !== undefined && prevGuard !== undefined ? observe(guard, prevGuard, trainLossValue) : prevGuard;
    const stalled = nextGuard?.stalled === true;
    // While stalled the objective is F = log ρ (dF/ds = 1): ρ walks down at the ρ optimizer's rate.
    const dFds = stalled ? 1 : tangentRho * hypergradient;
    const base = { gap, hypergradient, valLoss, objective: o.value, evals, guard: nextGuard, stalled };
    // A stall's start and end reset the ρ optimizer, so neither regime's statistics (Adam's
    // moments) carry over into the other.
    const reset = prevGuard !== undefined && stalled !== prevGuard.stalled;
    return { ...base, ...moveRho(state, dFds, reset) };
  };

  /** The clean loss at params: extra.loss, or computed (then also returned as owned, to dispose). */
  const cleanLossOf = (params: Params, extra: Extra): [tf.Scalar, tf.Scalar | undefined] => {
    if (extra.loss !== undefined) return [extra.loss, undefined];
    let owned: tf.Scalar;
    if (extra.lossFn !== undefined) owned = extra.lossFn(params);
    else if (extra.gradFn !== undefined) {
      const r = extra.gradFn(params);
      owned = r.loss;
      T.dispose(r.grads);
      if (r.state !== undefined) T.dispose(r.state);
    } else throw new Error('lets: needs extra.loss (the clean loss at params) or extra.lossFn / extra.gradFn to compute it');
    return [owned, owned];
  };

  /** One step of the ρ optimizer on s = log ρ with dF/ds (from a fresh state when `reset`). */
  const moveRho = (state: LetsState<S>, dFds: number, reset: boolean): { variant: SamState<S>; rhoOptimizer: unknown; rhoUpdates: number } => {
    const rho = state.variant.rho;
    const rhoUpdates = state.rhoUpdates ?? legacyRhoUpdates(state);
    if (!Number.isFinite(dFds) || rho === 0) {
      // A NaN/inf hypergradient (diverged losses) leaves ρ and the ρ optimizer as they were; so
      // does a scheduled ρ that has reached 0 (GSAM at the end of a decay), which has no scale to learn.
      return { variant: state.variant, rhoOptimizer: T.cloneState(state.rhoOptimizer), rhoUpdates };
    }
    const [delta, rhoOptState] = tf.tidy(() => {
      const g = { logRho: tf.scalar(dFds) };
      const p = { logRho: tf.scalar(Math.log(rho)) };
      const from = reset ? rhoOpt.init(p) : state.rhoOptimizer;
      const [u, s] = rhoOpt.update(g, from, p, {});
      const d = host(u['logRho']!);
      T.dispose(u);
      return [d, s] as unknown as [number, tf.TensorContainer];
    }) as unknown as [number, unknown];
    // No move leaves ρ exactly as it was (even outside the clamp range): a zero learning rate
    // is then bit-for-bit the plain variant.
    const next = delta === 0 ? rho : Math.min(rhoMax, Math.max(rhoMin, rho * Math.exp(delta)));
    const v = next === rho ? state.variant : withRho(state.variant, next);
    return { variant: v, rhoOptimizer: rhoOptState, rhoUpdates: (reset ? 0 : rhoUpdates) + 1 };
  };

  // A state from before `rhoUpdates` was kept (a checkpoint of an older run): the ρ updates it
  // has taken, one at each step k, 2k, … (a stall's reset is not counted back).
  const legacyRhoUpdates = (state: LetsState<S>): number => Math.max(0, Math.floor((state.count - 1) / every));

  /** τ = dθ_{t+1}/dρ for this step, projected as `tangentProjection` says: [tangent, gradient evaluations it cost]. */
  const tangentOf = (
    s: SamStep<S>,
    grads: Params,
    variantState: SamState<S>,
    params: Params,
    extra: Extra,
  ): [Params, number] => {
    const [tau, evals] = rawTangentOf(s, grads, variantState, params, extra);
    if (projection === 'none') return [tau, evals];
    const projected = projectOut(tau, projection === 'gradient' ? grads : s.updates);
    T.dispose(tau);
    return [projected, evals];
  };

  /** τ = dθ_{t+1}/dρ for this step: [tangent, gradient evaluations it cost]. */
  const rawTangentOf = (
    s: SamStep<S>,
    grads: Params,
    variantState: SamState<S>,
    params: Params,
    extra: Extra,
  ): [Params, number] => {
    const rho = s.rho;
    if (wholeStep) {
      // bilevel's whole-step forward difference; ρ + h moves the perturbed point by h·n, the
      // same relative step (differenceStep) as forwardDifferenceHvp.
      const nNorm = tf.tidy(() => host(T.norm(s.direction)));
      const hr = nNorm > 0 ? differenceStep(params, s.direction, relStep) : relStep * Math.max(rho, 1e-3);
      let evals = 0;
      const tau = wholeStepTangent(
        (r) => {
          const shifted = variant.step(grads, withRho(variantState, r), params, extra);
          evals = (shifted.state.report?.gradEvals ?? 2) - 1;
          T.dispose(shifted.direction);
          T.dispose(shifted.perturbedGrads);
          T.disposeState(shifted.state);
          return shifted.updates;
        },
        s.updates,
        rho,
        hr,
      );
      return [tau, evals];
    }
    // Linearized: τ = ∂U/∂g_p · H̃ n, with H̃ n from the estimator at θ + ρn and ∂U/∂g_p the
    // central difference of the step's descent (combiner + outer) in g_p, both bilevel's.
    const x = T.addScaled(params, rho, s.direction);
    // An estimator may difference against g_p only when it is the batch's gradient at θ + ρn.
    const reuse = caps.perturbedGradsAtPoint;
    let tau: Params | undefined;
    try {
      tau = stepTangent(
        {
          point: s.direction,
          problem: {
            params: x,
            ...(reuse ? { grads: s.perturbedGrads } : {}),
            ...(extra.gradFn !== undefined ? { gradFn: extra.gradFn } : {}),
            ...(extra.lossFn !== undefined ? { lossFn: extra.lossFn } : {}),
          },
          updateTangent: gradientTangent(s.descent, s.perturbedGrads, variantState.outer, params, extra),
        },
        estimator,
      );
    } finally {
      T.dispose(x);
    }
    const evals = reuse ? estimator.gradEvals : (estimator.gradEvalsWithoutGrads ?? estimator.gradEvals);
    return [tau as Params, evals];
  };

  const updateOnce = (
    grads: Params,
    state: LetsState<S>,
    params?: Params,
    extra: Extra = {},
  ): readonly [Params, LetsState<S>] => {
    if (params === undefined) throw new Error(`lets(${variant.name}): update needs params, got undefined`);
    if (state.tangent !== undefined && extra.valGradFn === undefined) {
      throw new Error('lets: this step updates rho, which needs extra.valGradFn (loss and gradients on a validation batch); got none');
    }
    let evals = 0;
    let rhoUpdates = state.rhoUpdates ?? legacyRhoUpdates(state);
    let variantState = state.variant;
    let rhoOptState: unknown;
    let gap: number | undefined;
    let hypergradient: number | undefined;
    let valLoss: number | undefined;
    let objectiveValue: number | undefined;
    let stalled: boolean | undefined;
    // L₀ for the stall guard: the clean loss at the first step (one read, once).
    let guardState: StallGuardState | undefined = state.guard;
    if (guard !== undefined && guardState === undefined) {
      const l0 = extra.loss !== undefined ? host(extra.loss) : NaN;
      guardState = { initLoss: l0, ema: NaN, best: Infinity, updates: 0, stalled: false, started: false };
    }
    let updated = state.tangent !== undefined;
    if (updated) {
      const r = updateRho(grads, guardState === state.guard ? state : { ...state, guard: guardState }, params, extra);
      guardState = r.guard;
      stalled = r.stalled;
      variantState = r.variant;
      rhoOptState = r.rhoOptimizer;
      rhoUpdates = r.rhoUpdates;
      gap = r.gap;
      hypergradient = r.hypergradient;
      valLoss = r.valLoss;
      objectiveValue = r.objective;
      evals += r.evals;
    } else if (state.observeDue === true && guard !== undefined && guardState !== undefined) {
      // ρ is held, and this is where a ρ update would be: the guard still watches the clean
      // loss (one read). A stall's start resets the ρ optimizer and takes its step down at once
      // (F = log ρ needs no tangent), and ρ is learned again over a new span; so does a stall's
      // end (from the next tangent on: held, none was taken for this step).
      const [loss, owned] = cleanLossOf(params, extra);
      if (owned !== undefined) evals += 1;
      const prev = guardState;
      guardState = observe(guard, prev, host(loss));
      owned?.dispose();
      stalled = guardState.stalled;
      if (stalled && !prev.stalled) {
        const m = moveRho(state, 1, true);
        variantState = m.variant;
        rhoOptState = m.rhoOptimizer;
        rhoUpdates = m.rhoUpdates;
        updated = true;
      } else if (!stalled && prev.stalled) {
        rhoOptState = tf.tidy(() => rhoOpt.init({ logRho: tf.scalar(Math.log(variantState.rho)) }) as unknown as tf.TensorContainer);
        rhoUpdates = 0;
      } else rhoOptState = T.cloneState(state.rhoOptimizer);
    } else {
      rhoOptState = T.cloneState(state.rhoOptimizer);
    }
    // Past its learning span ρ is held: no tangent, no validation pass.
    const held = rhoUpdates >= holdAfter;
    const due = (state.count + 1) % every === 0 || (state.tangentDue === true && !held);
    const needsTangent = due && !held;
    if (needsTangent && !wholeStep && estimatorNeedsLossFn && extra.lossFn === undefined) {
      throw new Error(`lets: the '${estimator.name}' estimator needs extra.lossFn (a twice-differentiable loss on the training batch); got none`);
    }

    // The start guard below reads cos(g, g_p) from the variant's report: ask for the full report
    // (a training loop may ask for a lean one, without cos) on the steps where it may.
    const readsCosine = guard !== undefined && guardState !== undefined && !guardState.started && extra.loss !== undefined;
    const stepExtra = readsCosine ? { ...extra, samReport: 'full' as const } : extra;
    let s = variant.step(grads, variantState, params, stepExtra);
    evals += s.state.report?.gradEvals ?? 0;
    // The retry: before training has started, a step whose ascent is incoherent (cos(g, g_p)
    // below minCosine) is not taken; ρ is shrunk and the step re-taken from the same state, up
    // to the guard's bound on shrinks (one more perturbed pass per retry).
    let retried = 0;
    if (readsCosine && guard!.retry) {
      let shrinks = guardState!.shrinks ?? 0;
      while (shrinks < guard!.maxShrinks && s.perturbed && s.rho > 0 && s.state.report !== undefined) {
        const cos = host(s.state.report.cosine);
        if (!(cos < guard!.minCosine)) break;
        T.dispose(s.updates);
        T.dispose(s.direction);
        T.dispose(s.perturbedGrads);
        T.disposeState(s.state);
        variantState = withRho(variantState, Math.max(rhoMin, variantState.rho * guard!.shrink));
        shrinks += 1;
        retried += 1;
        s = variant.step(grads, variantState, params, stepExtra);
        evals += (s.state.report?.gradEvals ?? 1) - 1; // the clean pass is not repeated
      }
      if (retried > 0) guardState = { ...guardState!, shrinks };
    }

    // The start guard: before training has started, a perturbed gradient that points away
    // from the clean one, a collapsing clean gradient, or a start that takes too long halves ρ
    // for the next step (one host read of the loss, ‖g‖ and cos a step, until training starts).
    let sState = s.state;
    let shrunk = retried > 0;
    if (guard !== undefined && guardState !== undefined && !guardState.started && extra.loss !== undefined) {
      const report = s.state.report;
      const [loss, gn, cos] = report === undefined ? [host(extra.loss), NaN, NaN] : hostAll([extra.loss, report.gradNorm, report.cosine]);
      const l0 = Number.isNaN(guardState.initLoss) ? loss : guardState.initLoss;
      const g0 = Number.isNaN(guardState.initGradNorm ?? NaN) ? gn : guardState.initGradNorm!;
      // A collapse to the constant predictor also lowers the loss a little (to the label
      // entropy) but takes the gradient with it: that is not a start.
      const collapsing = gn < guard.minGradRatio * g0;
      // Nor is a lower loss under an incoherent ascent (cos(g, g_p) below its minimum): the
      // first step of a collapse lowers the loss to the label entropy at once.
      const incoherent = cos < guard.minCosine;
      const started = loss < (1 - guard.margin) * l0 && !collapsing && !incoherent;
      const perturbedPass = s.perturbed;
      const steps = (guardState.startSteps ?? 0) + 1;
      const shrinks = guardState.shrinks ?? 0;
      if (!started && perturbedPass && sState.rho > 0 && shrinks < guard.maxShrinks) {
        if (steps > guard.startPatience || collapsing || incoherent) {
          sState = withRho(sState, Math.max(rhoMin, sState.rho * guard.shrink));
          shrunk = true;
        }
      }
      guardState = { ...guardState, initLoss: l0, initGradNorm: g0, started, startSteps: steps, ...(shrunk || guardState.shrinks !== undefined ? { shrinks: shrinks + (shrunk ? 1 : 0) } : {}) };
    }

    let tangent: Params | undefined;
    // A step without a perturbed pass (LookSAM between its SAM steps) does not depend on ρ at
    // all: defer the due tangent to the next step that takes one, so ρ still learns.
    const perturbed = s.perturbed;
    const defer = needsTangent && !perturbed;
    if (needsTangent && perturbed) {
      const [tau, e] = tangentOf(s, grads, variantState, params, extra);
      tangent = tau;
      evals += e;
    }
    T.dispose(s.direction);
    T.dispose(s.perturbedGrads);

    const report: LetsReport = {
      rho: s.rho,
      updated,
      ...(held ? { held } : {}),
      ...(gap !== undefined ? { gap } : {}),
      ...(hypergradient !== undefined ? { hypergradient } : {}),
      ...(valLoss !== undefined ? { valLoss } : {}),
      ...(objectiveValue !== undefined ? { objective: objectiveValue } : {}),
      ...(stalled !== undefined && guard !== undefined ? { stalled } : {}),
      ...(shrunk ? { shrunk } : {}),
      estimator: estimatorName,
      gradEvals: evals,
    };
    const next: LetsState<S> = {
      count: state.count + 1,
      variant: sState,
      rhoOptimizer: rhoOptState,
      ...(tangent !== undefined ? { tangent, tangentRho: s.rho } : {}),
      ...(defer ? { tangentDue: true } : {}),
      ...(guardState !== undefined ? { guard: guardState } : {}),
      rhoUpdates,
      ...(held && due ? { observeDue: true } : {}),
      report,
    };
    return [s.updates, next];
  };

  // What a training loop reports: this step's report, with `rho` the ρ of the next step.
  const metrics = (state: LetsState<S>): TransformMetrics & { readonly rho: number } => ({ ...(state.report ?? {}), rho: state.variant.rho });

  // tfjs's "No backend found" / "gradient function not found" name initRuntime() when it was not called.
  const init = (params: Params): LetsState<S> => {
    try {
      return initState(params);
    } catch (e) {
      throw explainMissingRuntime(e, `lets(${variant.name}).init`);
    }
  };
  const update = (grads: Params, state: LetsState<S>, params?: Params, extra: Extra = {}): readonly [Params, LetsState<S>] => {
    try {
      // In a tidy scope, as SAM runs its callbacks: what the caller's closures (valGradFn, gradFn,
      // lossFn of the estimator) allocate and do not return is released; the new updates and state
      // are what is returned, and nothing of the inputs is touched.
      return tf.tidy(() => updateOnce(grads, state, params, extra) as unknown as tf.TensorContainer) as unknown as readonly [Params, LetsState<S>];
    } catch (e) {
      throw explainMissingRuntime(e, `lets(${variant.name})`);
    }
  };

  return { name: `lets(${variant.name})`, variant, init, update, metrics };
};
