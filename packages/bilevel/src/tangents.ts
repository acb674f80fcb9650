/**
 * Derivatives of a gradient transformation's update map, for the pieces of dθ'/dλ
 * (see ./hypergradient):
 *
 *   gradientTangent:        w ↦ ∂U/∂g · w ≈ (U(g + h w) − U(g − h w)) / 2h,   h = relStep·max(1,‖g‖)/‖w‖
 *                           (= c·w exactly, one scaling, where the transform declares
 *                           `gradientScale`: an update affine in g with Jacobian c·I)
 *   hyperparameterTangent:  ∂U/∂λ       ≈ (U_{λ+h}(g) − U_{λ−h}(g)) / 2h,   h = relStep·max(1,|λ|)
 *   wholeStepTangent:       dθ'/dλ      ≈ (Δθ(λ + h) − Δθ(λ)) / h             (any step, re-run at λ + h)
 *
 * gradientTangent's h is `differenceStepOf(‖g‖, ‖w‖, relStep)`, the rule of the HVP estimators.
 * U(g) = transform.update(g, state, params, extra)[0]. Both are central differences of the
 * update map alone: no gradient evaluations, state is not advanced (the new states are
 * disposed). Exact up to float32 rounding for maps affine in g (SGD, momentum, Nesterov,
 * coupled weight decay) or in λ (SGD's learning rate, a coupled weight decay); second-order
 * accurate otherwise (Adam's preconditioner, clipping away from its threshold).
 */
import * as tf from '@tensorflow/tfjs-core';
import { addScaled, dispose, disposeState, scaleBy, scaledDifference, vdots, type Params } from '@lets/tree';
import type { Extra, GradientTransformation } from '@lets/optim';
import { differenceStepOf, normsOf } from './hvp_difference';

const updatesOf = <S>(t: GradientTransformation<S>, g: Params, state: S, params: Params | undefined, extra: Extra | undefined): Params => {
  const [u, s] = t.update(g, state, params, extra);
  disposeState(s);
  return u;
};

/**
 * w ↦ ∂U/∂g · w at `grads`, for a transformation and its state. Where the transformation
 * declares `gradientScale` (SGD, momentum, Nesterov, coupled weight decay, learning-rate
 * schedules, and chains of them) the map is affine in g with Jacobian c·I, and the tangent is
 * c·w: exact, one pass, no update evaluated. Otherwise the central difference below.
 */
export const gradientTangent =
  <S>(
    transform: GradientTransformation<S>,
    grads: Params,
    state: S,
    params?: Params,
    extra?: Extra,
    options: { relStep?: number } = {},
  ) =>
  (w: Params): Params => {
    if (transform.gradientScale !== undefined) {
      const c = transform.gradientScale(state, params, extra);
      if (!Number.isFinite(c)) throw new Error(`gradientTangent: the transformation's gradientScale is ${c}; expected a finite number`);
      return scaleBy(w, c);
    }
    const relStep = options.relStep ?? 1e-3;
    const [ng, nw] = normsOf(grads, w);
    if (nw === 0) return scaleBy(w, 0);
    const h = differenceStepOf(ng, nw, relStep);
    const gp = addScaled(grads, h, w);
    const up = updatesOf(transform, gp, state, params, extra);
    dispose(gp);
    const gm = addScaled(grads, -h, w);
    const um = updatesOf(transform, gm, state, params, extra);
    dispose(gm);
    const out = scaledDifference(up, um, 1 / (2 * h));
    dispose(up);
    dispose(um);
    return out;
  };

/**
 * ∂U/∂λ at `grads` for a transformation built from the hyperparameter: `make(λ)` must return
 * transformations whose state has the same structure for every λ (hyperparameters held in
 * closures, as optax's constructors do).
 */
export const hyperparameterTangent = <S>(
  make: (lambda: number) => GradientTransformation<S>,
  lambda: number,
  grads: Params,
  state: S,
  params?: Params,
  extra?: Extra,
  options: { relStep?: number } = {},
): Params => {
  if (!Number.isFinite(lambda)) throw new Error(`hyperparameterTangent: lambda must be finite, got ${lambda}`);
  const h = (options.relStep ?? 1e-3) * Math.max(1, Math.abs(lambda));
  const up = updatesOf(make(lambda + h), grads, state, params, extra);
  const um = updatesOf(make(lambda - h), grads, state, params, extra);
  const out = scaledDifference(up, um, 1 / (2 * h));
  dispose(up);
  dispose(um);
  return out;
};

/**
 * dθ'/dλ of a whole lower step by a forward difference, (Δθ(λ + h) − Δθ(λ)) / h, for steps that
 * are not one map of one gradient at one point (several perturbed points, a pass skipped on some
 * steps): `updatesAt(λ + h)` re-runs the step from the same inputs and returns its updates (owned
 * here, disposed); `base` = Δθ(λ) is not disposed. First-order accurate; choose h with
 * `differenceStep` (LETS: h = relStep·max(1,‖θ‖)/‖n‖ for ρ, which moves the perturbed point by h·n).
 */
export const wholeStepTangent = (updatesAt: (lambda: number) => Params, base: Params, lambda: number, h: number): Params => {
  if (!(Number.isFinite(h) && h > 0)) throw new Error(`wholeStepTangent: h must be a finite number > 0, got ${h}`);
  const shifted = updatesAt(lambda + h);
  const out = scaledDifference(shifted, base, 1 / h);
  dispose(shifted);
  return out;
};

/**
 * What to remove from a step tangent τ = dθ'/dλ before contracting it with the upper gradient
 * (LETS's `tangentProjection`):
 *
 * - 'none': τ as it is, the derivative of F(θ + U(λ)).
 * - 'gradient': τ − ⟨τ, ĝ⟩ ĝ with ĝ the clean training gradient's direction: the derivative of
 *   F(θ + U(λ) − ⟨U(λ) − U(λ₀), ĝ⟩ ĝ), the step with its length along the descent direction held
 *   at its value at λ₀. It judges λ by what it does to the step besides lengthening it along g.
 * - 'update': τ − ⟨τ, û⟩ û with û the direction of the update itself: the derivative of
 *   F(θ + ‖U(λ₀)‖ U(λ)/‖U(λ)‖), the step of fixed length (only its direction depends on λ).
 */
export type TangentProjection = 'none' | 'gradient' | 'update';

/** The names of {@link TangentProjection}. */
export const TANGENT_PROJECTIONS: readonly TangentProjection[] = ['none', 'gradient', 'update'];

/**
 * τ − (⟨τ, v⟩ / ‖v‖²) v: the tangent without its component along v (a new tree; inputs are not
 * disposed). A zero v removes nothing. Cost: one host read of two scalars.
 */
export const projectOut = (tangent: Params, v: Params): Params => {
  const [dot, vv] = tf.tidy(() => Array.from(vdots([[tangent, v], [v, v]]).dataSync())) as unknown as [number, number];
  const c = vv > 0 && Number.isFinite(vv) ? dot / vv : 0;
  return addScaled(tangent, -c, v);
};
