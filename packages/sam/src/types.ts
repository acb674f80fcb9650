import type * as tf from '@tensorflow/tfjs-core';
import type { Params } from '@lets/tree';
import type { Extra, GradFn, GradientTransformation, GradResult, TransformMetrics } from '@lets/optim';

/**
 * Metrics of one SAM step, for logging. The tensors belong to whoever owns the state that
 * carries the report (dispose the old state, and its report goes with it).
 */
export interface SamReport {
  /** The clean loss L_B(w): `extra.loss` when the caller gave it. */
  readonly cleanLoss?: tf.Scalar;
  /** The loss at the (primary) perturbed point L_B(w + ε); NaN when no perturbed pass ran. */
  readonly perturbedLoss: tf.Scalar;
  /** ‖g‖, the global L2 norm of the clean gradient. */
  readonly gradNorm: tf.Scalar;
  /** ‖ε‖ = ρ‖n‖; NaN when the step was asked for a lean report (`extra.samReport`). */
  readonly epsNorm: tf.Scalar;
  /** cos(g, g_p) = ⟨g, g_p⟩ / (‖g‖‖g_p‖ + 1e-12); NaN when the step was asked for a lean report. */
  readonly cosine: tf.Scalar;
  /** Gradient evaluations this step, counting the caller's clean one. */
  readonly gradEvals: number;
}

/** How much of the {@link SamReport} a step computes (see {@link SamExtra}). */
export type SamReportMode = 'full' | 'lean';

/** State of a {@link SamTransformation}: plain data, serializable with `serializeState`. */
export interface SamState<S> {
  /** Outer steps taken. */
  readonly count: number;
  /** The ρ the next update will use (a host number). */
  readonly rho: number;
  /** Multiplier on the preset's ρ option: after each update `rho = rhoScale · rhoOption(count)`. */
  readonly rhoScale: number;
  /** The outer optimizer's state. */
  readonly outer: S;
  /** The variant's persistent state (EMAs, PRNG state, LookSAM's g_v): never reset. */
  readonly perturbation: unknown;
  /** Metrics of the last step (absent before the first one). */
  readonly report?: SamReport;
}

/** Everything one step produced; every tensor is owned by the caller. */
export interface SamStep<S> {
  readonly updates: Params;
  readonly state: SamState<S>;
  /** ρ_t used by this step. */
  readonly rho: number;
  /** n_t with ε_t = ρ_t·n_t (zeros where ε = 0). Multi-point variants report their primary point. */
  readonly direction: Params;
  /** g_p, what the combiner received (the primary one for multi-point variants). */
  readonly perturbedGrads: Params;
  /**
   * The rest of this step after the perturbed pass, as an ordinary transform of g_p: the
   * combiner at this step's clean g, then the outer optimizer. From this step's input outer
   * state, `descent.update(perturbedGrads, inputState.outer, params, extra)` gives this step's
   * updates again (with a new outer state the caller disposes); it advances nothing else. Data,
   * not a derivative: LETS differentiates it with @lets/bilevel's `gradientTangent`.
   */
  readonly descent: GradientTransformation<S>;
  /** Whether this step took a perturbed pass (LookSAM between its SAM steps and ρ = 0: no). */
  readonly perturbed: boolean;
}

/** A SAM variant wrapped around an outer optimizer (the contract LETS relies on). */
export interface SamTransformation<S> extends GradientTransformation<SamState<S>> {
  /** 'sam', 'asam', ... */
  readonly name: string;
  readonly outer: GradientTransformation<S>;
  /** What its steps are, declared (see {@link SamCapabilities}). */
  readonly capabilities: SamCapabilities;
  /** One step, keeping everything; `update` is `step` keeping `[updates, state]`. */
  readonly step: (grads: Params, state: SamState<S>, params: Params, extra: Extra) => SamStep<S>;
  /** What a training loop reports: `rho`, the ρ the next update uses (the one way to read it). */
  readonly metrics: (state: SamState<S>) => TransformMetrics & { readonly rho: number };
}

/** Per-sample losses on the current batch at some parameters (ESAM-SDS): a vector of length B. */
export type SampleLossFn = (params: Params) => tf.Tensor1D;

/**
 * Loss and gradients of the mean loss over a subset of the current batch (ESAM-SDS). `indices`
 * (int32, owned by the wrapper: do not dispose) are positions in the batch.
 */
export type SubsetGradFn = (params: Params, indices: tf.Tensor1D) => GradResult;

/**
 * Extra fields some variants read (besides `gradFn` and `loss` of `Extra`):
 * - `microGradFns`: one `GradFn` per micro-batch of the current batch (mSAM / m-sharpness);
 * - `sampleLossFn` and `subsetGradFn`: per-sample losses and the gradient on a subset of samples
 *   (ESAM's sharpness-sensitive data selection).
 */
export interface SamExtra extends Extra {
  /**
   * 'full' (default): the report carries every field. 'lean': `epsNorm` and `cosine` are NaN,
   * which saves their three reductions over every parameter (⟨g, g_p⟩, ‖g_p‖, ‖n‖); a training
   * loop that reads neither asks for it (@lets/train's `makeTrainStep` does by default).
   */
  readonly samReport?: SamReportMode;
  readonly microGradFns?: readonly GradFn[];
  readonly sampleLossFn?: SampleLossFn;
  readonly subsetGradFn?: SubsetGradFn;
}

/**
 * What SAM's ascent chain reads from `extra`, besides the caller's fields (optax's `sam` feeds
 * its adversarial optimizer the same way): the wrapper calls
 * `ascent.update(g, state, w, { ...extra, rho, gradAt, cleanGrads: g, cleanParams: w, gradNorm })`
 * and the chain's output is the unit direction n (ε = ρn). Every stage is an ordinary
 * `GradientTransformation`, so optim's `chain`, `masked`, `partition` and `injectHyperparams`
 * compose them; inside `masked` or `partition` a stage sees a sub-tree of the updates and
 * params, while `cleanGrads` and `cleanParams` stay the whole trees.
 */
export interface AscentExtra extends SamExtra {
  /** ρ_t of this step (a host number ≥ 0). */
  readonly rho: number;
  /** Loss and gradients at `p` (the whole tree) on the current batch: counted, checked, its model state discarded. */
  readonly gradAt: (p: Params) => { readonly loss: tf.Scalar; readonly grads: Params };
  /** g: the raw clean gradient at w, the whole tree (never modified). */
  readonly cleanGrads: Params;
  /** w: the clean parameters, the whole tree. */
  readonly cleanParams: Params;
  /**
   * ‖g‖₂ of `cleanGrads`, computed once per step on first call and shared (the wrapper's report
   * reads it too): owned by the step, never disposed by a stage. Absent outside the wrapper.
   */
  readonly gradNorm?: () => tf.Scalar;
  /**
   * SAM's unit direction n = g/(‖g‖ + 1e-12) of `cleanGrads`, computed with ‖g‖ (which
   * `gradNorm` then returns) and the perturbed point w + ρn in one fused kernel where the backend
   * has one (@lets/tree's `normalizedAxpy`), the same bits as composing them: the point waits for
   * the procedure ({@link StepContext.perturbed}). New tensors the caller owns (the stage returns
   * them). Undefined where the kernel does not apply, at ρ = 0, or once ‖g‖ has been computed: the
   * stage composes its ops then. Absent outside the wrapper.
   */
  readonly normalizedAscent?: () => Params | undefined;
}

/**
 * The ascent extra of an `update` call, or an error naming the stage: a stage that reads ρ or
 * evaluates gradients runs only inside a SAM variant's ascent chain.
 */
export const ascentExtraOf = (extra: Extra | undefined, who: string): AscentExtra => {
  const e = extra as Partial<AscentExtra> | undefined;
  if (e === undefined || typeof e.rho !== 'number' || typeof e.gradAt !== 'function' || e.cleanGrads === undefined || e.cleanParams === undefined) {
    throw new Error(
      `${who}: expected SAM's ascent extra (extra.rho, extra.gradAt, extra.cleanGrads, extra.cleanParams); ` +
        'use it in the ascent chain of sharpnessAware, which supplies them',
    );
  }
  return e as AscentExtra;
};

/**
 * What a procedure sees of the current step. `gradAt` evaluates the loss and gradients at other
 * parameters, through `extra.gradFn` or the `GradFn` given (a micro-batch's, a subset's), and is
 * the only way a procedure evaluates: it counts the evaluation, checks the gradients' structure
 * and disposes the model state that pass produced (SAM keeps the clean pass's).
 */
export interface StepContext {
  /** g: the raw clean gradient at w (never modified). */
  readonly grads: Params;
  /** w: the clean parameters. */
  readonly params: Params;
  readonly extra: SamExtra;
  /** ρ_t of this step. */
  readonly rho: number;
  /** Outer steps taken before this one. */
  readonly count: number;
  /** Loss and gradients at `p` through `using` (default `extra.gradFn`); counted and checked. */
  readonly gradAt: (p: Params, using?: GradFn) => { readonly loss: tf.Scalar; readonly grads: Params };
  /**
   * w + ρn (`params` + `rho`·n), new tensors the caller owns, bit for bit `T.addScaled(params,
   * rho, n)`: the point the ascent's fused kernel computed already when n is the tree
   * `AscentExtra.normalizedAscent` returned, else composed. Absent outside the wrapper.
   */
  readonly perturbed?: (n: Params) => Params;
}

/** What a procedure returns: the direction handed to the outer optimizer and what it saw. */
export interface ProcedureResult<S> {
  /** The direction d given to the outer optimizer. */
  readonly direction: Params;
  /** g_p at the primary perturbed point (owned by the caller). */
  readonly perturbedGrads: Params;
  /** L at the primary perturbed point, or NaN when none was evaluated. */
  readonly perturbedLoss: tf.Scalar;
  readonly state: S;
  /** The reported direction when it is not the pipeline's n (mSAM: the first micro-batch's). */
  readonly primaryDirection?: Params;
  /**
   * g_p ↦ combiner(g, g_p) as a function of g_p, for the step's `descent` (absent: d is g_p
   * itself, or d is not a function of one g_p).
   */
  readonly combine?: (perturbedGrads: Params) => Params;
  /** The combiner's `gradientScale` (∂combine/∂g_p = c·I), where it declares one. */
  readonly combineScale?: number;
}

/**
 * The passes a variant takes after computing its unit direction n: the default runs one
 * perturbed pass at w + ρn and a combiner; LookSAM, GAM, mSAM and ESAM-SDS run their own.
 */
export interface Procedure<S = unknown> {
  readonly name: string;
  readonly init: (params: Params) => S;
  readonly run: (unitDirection: Params, state: S, ctx: StepContext) => ProcedureResult<S>;
  /** What the procedure's passes are (absent fields: {@link DEFAULT_CAPABILITIES}). */
  readonly capabilities?: Partial<SamCapabilities>;
}

/**
 * What a SAM variant declares about its step, so that LETS, the training loop and the CLI treat
 * a user's variant right without knowing its name.
 */
export interface SamCapabilities {
  /**
   * How dθ_{t+1}/dρ is taken: 'linearized' when the step has one perturbed point θ + ρn whose
   * gradient g_p feeds the combiner (τ = ∂U/∂g_p · H n); 'wholeStep' when it evaluates several
   * points or skips the perturbed pass on some steps (τ by differencing the whole step in ρ).
   */
  readonly tangent: 'linearized' | 'wholeStep';
  /** Whether the step's `perturbedGrads` is the full-batch gradient at θ + ρ·direction (ESAM's data selection: no). */
  readonly perturbedGradsAtPoint: boolean;
  /** The batch extras it reads besides `gradFn` and `loss`. */
  readonly extras: readonly ('microGradFns' | 'sampleLossFn' | 'subsetGradFn')[];
  /** Gradient evaluations of a typical step, counting the clean one (the report has the actual count). */
  readonly gradEvals: number;
}

/** SAM's: one perturbed full-batch pass, linearized tangent, 2 evaluations. */
export const DEFAULT_CAPABILITIES: SamCapabilities = {
  tangent: 'linearized',
  perturbedGradsAtPoint: true,
  extras: [],
  gradEvals: 2,
};

/**
 * Mixes the clean and perturbed gradients into the direction handed to the outer optimizer
 * (identity for SAM). Stateless; `combine` is pure and returns new tensors.
 */
export interface Combiner {
  readonly name: string;
  readonly combine: (grads: Params, perturbedGrads: Params) => Params;
  /**
   * Where d = combine(g, g_p) is affine in g_p with Jacobian c·I (SAM's d = g_p: 1): c. LETS's
   * tangent through the step is then the outer optimizer's own (optim's `gradientScale`) times c,
   * one scaling instead of a difference. Optional: absent means "not known to be".
   */
  readonly gradientScale?: number;
}
