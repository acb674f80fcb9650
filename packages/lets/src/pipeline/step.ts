/**
 * One training step as a function: batch → clean loss and gradients of the model (with the
 * clean pass's model state kept) → the optimizer chain (SAM variants and LETS call back into
 * `extra.gradFn` / `extra.valGradFn` / `extra.lossFn`) → new params.
 *
 * Memory: the whole step runs in one tf.tidy scope and keeps exactly the new params, the new
 * model state and the new optimizer state; the caller's previous ones are disposed when
 * `consume` is true (the default in `fit`). The batch tensors stay the batch's.
 *
 * Passes in training mode: the clean pass, SAM's perturbed passes and the estimator's extra
 * passes use the step's dropout seed; the validation pass (LETS's upper level) uses another
 * and also runs in training mode, so its loss is comparable with the clean training loss;
 * every extra pass's model state is discarded.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as T from '@lets/tree';
import type { Params, Tree } from '@lets/tree';
import { applyUpdates, type Extra, type GradFn, type GradientTransformation, type GradResult, type LossFn } from '@lets/optim';
import { correctCount, crossEntropy } from './loss';
import type { LossOf, StepMetrics, TrainBatch, TrainableModel, TrainState } from './types';

export interface StepOptions<S> {
  readonly model: TrainableModel;
  readonly optimizer: GradientTransformation<S>;
  /** Default: runtime's softmax cross-entropy. */
  readonly loss?: LossOf;
  /** Run seed: dropout seeds are derived from (seed, step, pass). Default 0. */
  readonly seed?: number;
}

export interface StepResult<S> {
  readonly state: TrainState<S>;
  readonly metrics: StepMetrics;
}

/** A 31-bit seed from (seed, step, pass), stable across runs and backends. */
export const passSeed = (seed: number, step: number, pass: number): number => {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const v of [step, pass]) {
    h = Math.imul(h ^ (v >>> 0), 0x85ebca6b) >>> 0;
    h = (h ^ (h >>> 13)) >>> 0;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
  }
  return h & 0x7fffffff;
};

const treeOf = (keys: readonly string[], ts: readonly tf.Tensor[]): Params =>
  Object.fromEntries(keys.map((k, i) => [k, ts[i]!]));

/** Loss, gradients and (kept) model state of `model` on one batch, at any params. */
export const modelGradFn = (
  model: TrainableModel,
  modelState: Tree,
  batch: TrainBatch,
  loss: LossOf,
  seed: number,
): GradFn => (params: Params): GradResult => {
  const keys = Object.keys(params);
  let newState: Tree = {};
  const { value, grads } = tf.valueAndGrads((...ws: tf.Tensor[]) => {
    const r = model.apply(treeOf(keys, ws), modelState, batch.x, { training: true, seed });
    newState = r.state;
    for (const k of Object.keys(newState)) tf.keep(newState[k]!);
    return loss(r.logits, batch.y);
  })(keys.map((k) => params[k]!));
  return { loss: value as tf.Scalar, grads: treeOf(keys, grads), state: newState };
};

/** The training loss as a differentiable function of params (for double back-propagation). */
export const modelLossFn = (
  model: TrainableModel,
  modelState: Tree,
  batch: TrainBatch,
  loss: LossOf,
  seed: number,
): LossFn => (params: Params): tf.Scalar =>
  tf.tidy(() => loss(model.apply(params, modelState, batch.x, { training: true, seed }).logits, batch.y));

/** ρ of a SAM or LETS optimizer state, when it has one. */
export const rhoOf = (optState: unknown): number | undefined => {
  if (optState === null || typeof optState !== 'object') return undefined;
  const s = optState as { variant?: { rho?: unknown }; rho?: unknown };
  if (s.variant !== undefined && typeof s.variant.rho === 'number') return s.variant.rho;
  return typeof s.rho === 'number' ? s.rho : undefined;
};

const letsReportOf = (optState: unknown): Readonly<Record<string, unknown>> | undefined => {
  const s = optState as { variant?: unknown; report?: Record<string, unknown> } | null;
  return s !== null && typeof s === 'object' && s.variant !== undefined && s.report !== undefined ? s.report : undefined;
};

/**
 * Builds `step(state, batch, valBatch?)`. `valBatch` is required on the steps where LETS updates ρ
 * (pass it every step; it is only evaluated when asked for).
 */
export const makeTrainStep = <S>(options: StepOptions<S>) => {
  const { model, optimizer } = options;
  const loss = options.loss ?? crossEntropy;
  const seed = options.seed ?? 0;
  return (state: TrainState<S>, batch: TrainBatch, valBatch?: TrainBatch, consume = true): StepResult<S> => {
    const s1 = passSeed(seed, state.step, 0);
    const s2 = passSeed(seed, state.step, 1);
    const out = tf.tidy(() => {
      const gradFn = modelGradFn(model, state.modelState, batch, loss, s1);
      // The clean pass, also counting correct predictions from its logits (kept past the gradient scope).
      let correct: tf.Scalar | undefined;
      const keys = Object.keys(state.params);
      let newModelState: Tree = {};
      const { value, grads } = tf.valueAndGrads((...ws: tf.Tensor[]) => {
        const r = model.apply(treeOf(keys, ws), state.modelState, batch.x, { training: true, seed: s1 });
        newModelState = r.state;
        for (const k of Object.keys(newModelState)) tf.keep(newModelState[k]!);
        correct = tf.keep(correctCount(r.logits, batch.y));
        return loss(r.logits, batch.y);
      })(keys.map((k) => state.params[k]!));
      const clean = { loss: value as tf.Scalar, grads: treeOf(keys, grads) };
      const extra: Extra = {
        loss: clean.loss,
        gradFn,
        lossFn: modelLossFn(model, state.modelState, batch, loss, s1),
        ...(valBatch !== undefined
          ? {
              valGradFn: modelGradFn(model, state.modelState, valBatch, loss, s2),
              valLossFn: modelLossFn(model, state.modelState, valBatch, loss, s2),
            }
          : {}),
        step: state.step,
      };
      let updates: Params;
      let optState: S;
      try {
        [updates, optState] = optimizer.update(clean.grads, state.optState, state.params, extra);
      } catch (e) {
        // Kept tensors outlive the scope: release them before the error propagates.
        T.dispose(newModelState);
        correct?.dispose();
        throw e;
      }
      const params = applyUpdates(state.params, updates);
      return { params, modelState: newModelState, optState: optState as unknown as tf.TensorContainer, loss: clean.loss, correct: correct! };
    }) as unknown as { params: Params; modelState: Tree; optState: S; loss: tf.Scalar; correct: tf.Scalar };
    const lossValue = (out.loss.dataSync() as Float32Array)[0] as number;
    const correctValue = (out.correct.dataSync() as Float32Array)[0] as number;
    out.loss.dispose();
    out.correct.dispose();
    if (consume) {
      T.dispose(state.params);
      T.dispose(state.modelState);
      T.disposeState(state.optState);
    }
    const next: TrainState<S> = {
      ...state,
      params: out.params,
      modelState: out.modelState,
      optState: out.optState,
      step: state.step + 1,
    };
    const rho = rhoOf(out.optState);
    const letsReport = letsReportOf(out.optState);
    const metrics: StepMetrics = {
      epoch: state.epoch,
      step: state.step,
      loss: lossValue,
      accuracy: correctValue / (batch.x.shape[0] as number),
      ...(rho !== undefined ? { rho } : {}),
      ...(letsReport !== undefined ? { lets: letsReport } : {}),
    };
    return { state: next, metrics };
  };
};

/** A fresh run state: the model's init(seed) and the optimizer's init. */
export const initTrainState = <S>(model: TrainableModel, optimizer: GradientTransformation<S>, seed = 0): TrainState<S> => {
  const { params, state } = model.init(seed);
  return { params, modelState: state, optState: optimizer.init(params), step: 0, epoch: 0 };
};
