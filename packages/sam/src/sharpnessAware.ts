import * as tf from '@tensorflow/tfjs-core';
import * as T from '@lets/tree';
import type { Params } from '@lets/tree';
import { chain, explainMissingRuntime, type Extra, type GradFn, type GradientTransformation, type ScalarOrSchedule, type TransformMetrics } from '@lets/optim';
import { DEFAULT_CAPABILITIES } from './types';
import type {
  AscentExtra,
  Procedure,
  SamCapabilities,
  SamExtra,
  SamReport,
  SamState,
  SamStep,
  SamTransformation,
  StepContext,
} from './types';
import { normalize } from './normalize';
import { twoPass } from './twoPass';
import { NORM_EPS, perturbed } from './numerics';

/** Options of {@link sharpnessAware}. */
export interface SharpnessAwareOptions {
  /** The variant's name ('sam', 'asam', ...). */
  readonly name?: string;
  /** ρ: a number, or a schedule of the outer step count (default 0.05). */
  readonly rho?: ScalarOrSchedule;
  /**
   * The ascent: any gradient transformation (usually a `chain` of stages) mapping the clean
   * gradient g to the unit direction n, fed SAM's {@link AscentExtra} (default SAM's
   * `chain(normalize())`).
   */
  readonly ascent?: GradientTransformation<any>;
  /** The passes after the ascent (default `twoPass()`: one perturbed pass, d = g_p). */
  readonly procedure?: Procedure<any>;
  /** Overrides of what the procedure declares (see {@link SamCapabilities}). */
  readonly capabilities?: Partial<SamCapabilities>;
}

/** State of the perturbation part: the ascent chain's (key `pipeline`) and the procedure's. */
export interface SamPerturbationState {
  readonly pipeline: unknown;
  readonly procedure: unknown;
}

const rhoAt = (rho: ScalarOrSchedule, count: number, name: string): number => {
  const v = typeof rho === 'function' ? rho(count) : rho;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new Error(`${name}: rho at step ${count} is ${String(v)}; expected a finite number ≥ 0`);
  }
  return v;
};

/**
 * `f()` in a tf.tidy scope: tensors it allocates and does not return (in its result, at any
 * depth of arrays and objects) are released. Tensors it returns that it did not make (inputs
 * passed through) are left alone, so the usual ownership rules are unchanged.
 */
const tidyCall = <R>(f: () => R): R => tf.tidy(f as unknown as () => tf.TensorContainer) as unknown as R;

/**
 * A state whose next update uses `rho`; `rhoScale` is multiplied by rho/old ρ, so a scheduled ρ
 * (GSAM) is learned as a multiplier on its schedule. Throws when the old ρ is 0 or the new one is
 * not a finite number ≥ 0. The result shares every tensor with `state` (it is the same state with
 * ρ changed): dispose only one of the two.
 */
export const withRho = <S>(state: SamState<S>, rho: number): SamState<S> => {
  if (typeof rho !== 'number' || !Number.isFinite(rho) || rho < 0) {
    throw new Error(`withRho: rho must be a finite number ≥ 0, got ${String(rho)}`);
  }
  if (state.rho === 0) {
    throw new Error('withRho: the state’s current rho is 0, so its schedule cannot be rescaled (expected a state with rho > 0)');
  }
  return { ...state, rho, rhoScale: (state.rhoScale * rho) / state.rho };
};

/**
 * The SAM wrapper: a gradient transformation that, given the clean gradient g at w, computes the
 * variant's unit direction n (its ascent chain, an ordinary gradient transformation), evaluates the perturbed gradient itself
 * through `extra.gradFn` (optax's "opaque" mode), combines, and hands the result to the outer
 * optimizer, evaluated at the clean w:
 *
 *   n = P(g, w, state),  ε = ρ n,  g_p = ∇L(w + ε),  d = C(g, g_p),  updates = Outer(d, w).
 *
 * Conventions (Foret et al. 2021 and the PyTorch reference implementations): the ascent uses the
 * raw loss gradient; weight decay, momentum and clipping live in the outer chain and act at the
 * clean w; the model state returned by every extra pass (BatchNorm statistics) is disposed, so the
 * caller keeps the clean pass's; every norm divided by gets +1e-12, so a zero gradient gives
 * ε = 0. ρ = 0 means no perturbation at all: no extra pass, d = g, updates = Outer(g) bit for bit
 * (the ascent still runs, so persistent state such as EMAs keeps its course).
 *
 * ρ is owned here: `rho` is a number or a schedule of the outer step count, multiplied by
 * `state.rhoScale` (1 unless {@link withRho} changed it); `state.rho` is the value the next update
 * will use. The report of the last step is in `state.report`.
 */
export const sharpnessAware = <S>(outer: GradientTransformation<S>, options: SharpnessAwareOptions = {}): SamTransformation<S> => {
  const name = options.name ?? 'sam';
  const rhoOption = options.rho ?? 0.05;
  if (typeof rhoOption !== 'function') rhoAt(rhoOption, 0, name);
  if ('perturbation' in options) {
    throw new Error(`${name}: the 'perturbation' option is now 'ascent' (a chain of gradient transformations: chain(normalize()), …)`);
  }
  const ascent: GradientTransformation<any> = options.ascent ?? chain(normalize());
  if (typeof ascent.init !== 'function' || typeof ascent.update !== 'function') {
    throw new Error(`${name}: ascent must be a GradientTransformation ({init, update}), got ${typeof ascent}`);
  }
  const procedure: Procedure<any> = options.procedure ?? twoPass();
  const capabilities: SamCapabilities = { ...DEFAULT_CAPABILITIES, ...procedure.capabilities, ...options.capabilities };

  const initState = (params: Params): SamState<S> => ({
    count: 0,
    rho: rhoAt(rhoOption, 0, name),
    rhoScale: 1,
    outer: outer.init(params),
    perturbation: { pipeline: ascent.init(params), procedure: procedure.init(params) } satisfies SamPerturbationState,
  });

  const stepOnce = (grads: Params, state: SamState<S>, params: Params, extra: Extra): SamStep<S> => {
    if (params === undefined) throw new Error(`${name}: update needs params (the clean w), got undefined`);
    T.assertSameStructure(grads, params, `${name}: grads and params`);
    const rho = state.rho;
    if (!Number.isFinite(rho) || rho < 0) throw new Error(`${name}: state.rho is ${String(rho)}; expected a finite number ≥ 0`);
    const ex = (extra ?? {}) as SamExtra;
    if (rho > 0 && typeof ex.gradFn !== 'function') {
      throw new Error(`${name}: rho = ${rho} > 0 needs extra.gradFn (loss and gradients at any params) for the perturbed pass; got none`);
    }
    let evals = 1;
    const gradAt = (p: Params, using?: GradFn): { loss: tf.Scalar; grads: Params } => {
      const fn = using ?? ex.gradFn;
      if (fn === undefined) {
        throw new Error(`${name}: rho = ${rho} > 0 needs extra.gradFn (loss and gradients at any params) for the perturbed pass; got none`);
      }
      const r = fn(p);
      evals += 1;
      if (r.state !== undefined) T.dispose(r.state); // the perturbed pass's model state is discarded
      try {
        T.assertSameStructure(r.grads, params, `${name}: ${using === undefined ? 'extra.gradFn' : 'a GradFn'}'s grads and params`);
      } catch (e) {
        r.loss.dispose();
        T.dispose(r.grads);
        throw e;
      }
      return { loss: r.loss, grads: r.grads };
    };
    // ‖g‖ once a step: SAM's normalize() divides by it and the report carries it.
    let gradNormMemo: tf.Scalar | undefined;
    const gradNorm = (): tf.Scalar => (gradNormMemo ??= tf.keep(T.norm(grads)));
    // SAM's ascent in one kernel where the backend has it: ‖g‖ (the memo above), n = g/(‖g‖ + ε)
    // (returned to normalize()) and w + ρn (`ahead.p`, kept until the procedure asks for the point
    // of that n, disposed after the procedure if it never does). The same bits as composing them.
    let ahead: { readonly n: Params; readonly p: Params } | undefined;
    const normalizedAscent = (): Params | undefined => {
      if (rho === 0 || gradNormMemo !== undefined || ahead !== undefined) return undefined;
      const r = T.normalizedAxpy(grads, rho, params, NORM_EPS);
      if (r === undefined) return undefined;
      gradNormMemo = tf.keep(r.norm);
      ahead = { n: r.n, p: T.map((x) => tf.keep(x))(r.p) };
      return r.n;
    };
    const dropAhead = (): void => {
      if (ahead !== undefined) T.dispose(ahead.p);
      ahead = undefined;
    };
    const perturbedAt = (n: Params): Params => {
      if (ahead !== undefined && n === ahead.n) {
        const p = ahead.p;
        ahead = undefined;
        return p;
      }
      return perturbed(params, rho, n);
    };
    const ctx: StepContext = { grads, params, extra: ex, rho, count: state.count, gradAt, perturbed: perturbedAt };
    const ascentExtra: AscentExtra = { ...ex, rho, gradAt: (p: Params) => gradAt(p), cleanGrads: grads, cleanParams: params, gradNorm, normalizedAscent };
    const pstate = state.perturbation as SamPerturbationState;
    let n: Params;
    let pipelineState: unknown;
    try {
      // User stages run in a tidy scope: what they allocate and do not return is released.
      [n, pipelineState] = tidyCall(() => ascent.update(grads, pstate.pipeline, params, ascentExtra));
    } catch (e) {
      dropAhead();
      gradNormMemo?.dispose();
      throw e;
    }

    let direction: Params;
    let perturbedGrads: Params;
    let perturbedLoss: tf.Scalar;
    let procedureState: unknown;
    let reported: Params = n;
    let combine: ((p: Params) => Params) | undefined;
    let combineScale: number | undefined;
    if (rho === 0) {
      direction = T.clone(grads);
      perturbedGrads = T.clone(grads);
      perturbedLoss = ex.loss !== undefined ? tf.clone(ex.loss) : tf.scalar(NaN);
      procedureState = T.cloneState(pstate.procedure);
    } else {
      let r: ReturnType<typeof procedure.run>;
      try {
        // So do procedures and the callbacks they call (combiners, extra.gradFn and the other extras).
        r = tidyCall(() => procedure.run(n, pstate.procedure, ctx));
      } catch (e) {
        // a missing extra input or a failing gradFn: release what this step made so far
        const old = new Set(T.tensorsOf(pstate.pipeline));
        T.dispose(n);
        for (const t of T.tensorsOf(pipelineState)) if (!old.has(t) && !t.isDisposed) t.dispose();
        dropAhead();
        gradNormMemo?.dispose();
        throw e;
      }
      direction = r.direction;
      perturbedGrads = r.perturbedGrads;
      perturbedLoss = r.perturbedLoss;
      procedureState = r.state;
      combine = r.combine;
      combineScale = r.combineScale;
      if (r.primaryDirection !== undefined) {
        T.dispose(n);
        reported = r.primaryDirection;
      }
    }

    dropAhead(); // a point the procedure did not ask for
    const [updates, outerState] = outer.update(direction, state.outer, params, extra);
    T.dispose(direction);

    const gn = gradNorm();
    const lean = ex.samReport === 'lean';
    if (ex.samReport !== undefined && !lean && ex.samReport !== 'full') {
      throw new Error(`${name}: extra.samReport must be 'full' or 'lean', got ${String(ex.samReport)}`);
    }
    const report: SamReport = tf.tidy(() => {
      const rest = lean
        ? { epsNorm: tf.scalar(NaN), cosine: tf.scalar(NaN) }
        : {
            epsNorm: tf.mul(T.norm(reported), rho) as tf.Scalar,
            cosine: tf.div(T.vdot(grads, perturbedGrads), tf.add(tf.mul(gn, T.norm(perturbedGrads)), NORM_EPS)) as tf.Scalar,
          };
      return {
        ...(ex.loss !== undefined ? { cleanLoss: tf.clone(ex.loss) } : {}),
        perturbedLoss: perturbedLoss as tf.Scalar,
        gradNorm: gn,
        ...rest,
        gradEvals: evals,
      };
    }) as unknown as SamReport;

    const count = state.count + 1;
    const next: SamState<S> = {
      count,
      rho: state.rhoScale * rhoAt(rhoOption, count, name),
      rhoScale: state.rhoScale,
      outer: outerState,
      perturbation: { pipeline: pipelineState, procedure: procedureState } satisfies SamPerturbationState,
      report,
    };

    // The rest of the step as a map of g_p (data for a caller that differentiates it, such as
    // LETS through @lets/bilevel's gradientTangent; SAM itself takes no derivative).
    const combineAt = combine;
    // g_p ↦ outer(combine(g_p)) is affine in g_p with Jacobian c·I where the outer optimizer
    // declares its c (optim's gradientScale) and the combiner its own (SAM's d = g_p: 1); a
    // combiner that declares none (GSAM's, StableSAM's) is not assumed to be.
    const outerScale = outer.gradientScale;
    const inScale = combineAt === undefined ? 1 : combineScale;
    const descent: GradientTransformation<S> = {
      ...(outerScale !== undefined && inScale !== undefined
        ? { gradientScale: (s: S, p?: Params, e?: Extra) => inScale * outerScale(s, p, e) }
        : {}),
      init: outer.init,
      update: (gp, outerState, p, e) =>
        tidyCall(() => {
          T.assertSameStructure(gp, params, `${name}: descent's g_p and params`);
          const d = combineAt === undefined ? gp : combineAt(gp);
          const r = outer.update(d, outerState, p, e);
          if (d !== gp) T.dispose(d);
          return r;
        }),
    };

    return { updates, state: next, rho, direction: reported, perturbedGrads, descent, perturbed: rho > 0 && evals > 1 };
  };

  // tfjs's "No backend found" / "gradient function not found" name initRuntime() when it was not called.
  const init = (params: Params): SamState<S> => {
    try {
      return initState(params);
    } catch (e) {
      throw explainMissingRuntime(e, `${name}.init`);
    }
  };
  const step = (grads: Params, state: SamState<S>, params: Params, extra: Extra): SamStep<S> => {
    try {
      return stepOnce(grads, state, params, extra);
    } catch (e) {
      throw explainMissingRuntime(e, name);
    }
  };

  const update = (grads: Params, state: SamState<S>, params?: Params, extra?: Extra): readonly [Params, SamState<S>] => {
    const s = step(grads, state, params as Params, extra ?? {});
    T.dispose(s.direction);
    T.dispose(s.perturbedGrads);
    return [s.updates, s.state];
  };

  const metrics = (state: SamState<S>): TransformMetrics & { readonly rho: number } => ({ rho: state.rho });

  return { name, outer, capabilities, init, update, step, metrics };
};
