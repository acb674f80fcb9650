/**
 * One training step as a function: batch → clean loss and gradients of the model (with the
 * clean pass's model state kept) → the optimizer, any gradient transformation (SAM variants
 * and LETS call back into `extra.gradFn` / `extra.valGradFn` / `extra.lossFn`) → new params.
 * What the step reports about the optimizer is the transformation's own `metrics(state)`
 * (ρ, LETS's gap, …); the step never reads the state's shape.
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
import { random } from '@lets/runtime';
import { applyUpdates, explainMissingRuntime, type Extra, type GradFn, type GradientTransformation, type GradResult, type LossFn } from '@lets/optim';
import { correctCount, crossEntropy, oneHotLabels } from './loss';
import type { BatchItem, LossOf, SampleLossOf, StepMetrics, TrainBatch, TrainableModel, TrainState } from './types';

export interface StepOptions<S> {
  readonly model: TrainableModel;
  readonly optimizer: GradientTransformation<S>;
  /** Default: runtime's softmax cross-entropy. */
  readonly loss?: LossOf;
  /**
   * The loss of the validation passes (`extra.valGradFn` / `extra.valLossFn`, LETS's upper
   * level). Default: `loss`. `expectedError` gives an upper level that tracks accuracy.
   */
  readonly valLoss?: LossOf;
  /**
   * Run seed (a safe integer, default 0). The dropout seed of pass p (0: the training batch's
   * passes, 1: the validation pass) of step t is `passSeed(seed, t, p)`, from runtime's random keys.
   */
  readonly seed?: number;
  /**
   * Per-sample losses (a vector of length B) for `extra.sampleLossFn` (ESAM's data selection).
   * Default: per-sample softmax cross-entropy when `loss` is the default; otherwise none.
   */
  readonly sampleLoss?: SampleLossOf;
  /**
   * M > 1 gives the optimizer `extra.microGradFns`: one GradFn per contiguous micro-batch of
   * the batch (mSAM). Default 1 (none).
   */
  readonly microBatches?: number;
  /**
   * How much of a SAM variant's report (`optState.report`) each step computes, as
   * `extra.samReport` of @lets/sam: 'lean' (default) leaves `epsNorm` and `cosine` NaN, saving
   * three reductions over every parameter a step; 'full' computes them. LETS asks for the full
   * report on the steps its start guard reads cos(g, g_p), whatever this says.
   */
  readonly samReport?: 'full' | 'lean';
}

export interface StepResult<S> {
  readonly state: TrainState<S>;
  readonly metrics: StepMetrics;
}

/**
 * The model seed of pass `pass` of step `step` under the run seed: the random key
 * `random.fold(random.key(seed), step, pass)` (@lets/runtime; a key is a safe integer), stable across runs and
 * backends, so a resumed run redraws exactly the dropout masks it would have drawn.
 */
export const passSeed = (seed: number, step: number, pass: number): number => random.fold(random.key(seed), step, pass);

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

/** Per-sample softmax cross-entropy −Σ_k y_k log softmax(z)_k (labels one-hot or class ids). */
export const sampleCrossEntropy: SampleLossOf = (logits, labels) =>
  tf.tidy(() => {
    const y = oneHotLabels(labels, logits.shape[logits.rank - 1] as number);
    return tf.neg(tf.sum(tf.mul(y, tf.logSoftmax(logits)), -1)) as tf.Tensor1D;
  });

/** Rows `[start, start + size)` of a batch (tensors owned by the caller or the enclosing scope). */
const sliceBatch = (batch: TrainBatch, start: number, size: number): TrainBatch => ({
  x: tf.slice(batch.x, start, size),
  y: tf.slice(batch.y, start, size),
});

/**
 * The optional fields of `extra` SAM variants read about the current batch, built lazily (a
 * closure costs nothing until a variant calls it):
 * - `sampleLossFn(w)`: per-sample losses at w (ESAM);
 * - `subsetGradFn(w, idx)`: loss and gradients of the mean loss on the rows `idx` (ESAM);
 * - `microGradFns[m]`: loss and gradients on the m-th of M contiguous micro-batches (mSAM).
 */
export const batchExtras = (
  model: TrainableModel,
  modelState: Tree,
  batch: TrainBatch,
  loss: LossOf,
  seed: number,
  sampleLoss?: SampleLossOf,
  microBatches = 1,
): Readonly<Record<string, unknown>> => {
  const b = batch.x.shape[0] as number;
  const out: Record<string, unknown> = {
    subsetGradFn: (params: Params, indices: tf.Tensor1D): GradResult => {
      const sub = { x: tf.gather(batch.x, indices), y: tf.gather(batch.y, indices) };
      try {
        return modelGradFn(model, modelState, sub, loss, seed)(params);
      } finally {
        sub.x.dispose();
        sub.y.dispose();
      }
    },
  };
  if (sampleLoss !== undefined) {
    out['sampleLossFn'] = (params: Params): tf.Tensor1D =>
      tf.tidy(() => sampleLoss(model.apply(params, modelState, batch.x, { training: true, seed }).logits, batch.y));
  }
  if (microBatches > 1) {
    const size = Math.ceil(b / microBatches);
    out['microGradFns'] = Array.from({ length: microBatches }, (_, m) => (params: Params): GradResult => {
      const start = Math.min(m * size, b);
      const sub = sliceBatch(batch, start, Math.max(1, Math.min(size, b - start)));
      try {
        return modelGradFn(model, modelState, sub, loss, seed)(params);
      } finally {
        sub.x.dispose();
        sub.y.dispose();
      }
    });
  }
  return out;
};

/**
 * Builds `step(state, batch, valBatch?)`. `valBatch` is required on the steps where LETS updates ρ
 * (pass it every step; it is only evaluated when asked for). It may be a thunk: then it is
 * built only on the steps that read it, and the step disposes what it built.
 */
export const makeTrainStep = <S>(options: StepOptions<S>) => {
  const { model, optimizer } = options;
  const loss = options.loss ?? crossEntropy;
  const valLoss = options.valLoss ?? loss;
  const runKey = random.key(options.seed ?? 0); // fails early on a seed that is not a safe integer
  const sampleLoss = options.sampleLoss ?? (options.loss === undefined ? sampleCrossEntropy : undefined);
  const microBatches = options.microBatches ?? 1;
  const samReport = options.samReport ?? 'lean';
  if (samReport !== 'full' && samReport !== 'lean') throw new Error(`makeTrainStep: samReport must be 'full' or 'lean', got ${String(samReport)}`);
  if (!Number.isInteger(microBatches) || microBatches < 1) {
    throw new Error(`makeTrainStep: microBatches must be an integer ≥ 1, got ${microBatches}`);
  }
  return (state: TrainState<S>, batch: TrainBatch, valItem?: BatchItem, consume = true): StepResult<S> => {
    // passSeed(seed, step, 0 | 1)
    const s1 = random.fold(runKey, state.step, 0);
    const s2 = random.fold(runKey, state.step, 1);
    // A lazy validation batch is built on first use (outside any tidy scope) and released below.
    let built: TrainBatch | undefined;
    const valBatch = (): TrainBatch => {
      if (typeof valItem !== 'function') return valItem as TrainBatch;
      if (built === undefined) {
        // Called inside the step's scopes: keep the new tensors past them (released below).
        const b = valItem();
        tf.keep(b.x);
        tf.keep(b.y);
        built = b;
      }
      return built!;
    };
    try {
      return stepWith(state, batch, valItem === undefined ? undefined : valBatch, consume, s1, s2);
    } catch (e) {
      // tfjs's "No backend found" / "gradient function not found" name initRuntime() when it was not called.
      throw explainMissingRuntime(e, 'makeTrainStep');
    } finally {
      if (built !== undefined) {
        built.dispose?.();
        tf.dispose([built.x, built.y]);
      }
    }
  };
  function stepWith(state: TrainState<S>, batch: TrainBatch, valBatch: (() => TrainBatch) | undefined, consume: boolean, s1: number, s2: number): StepResult<S> {
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
              valGradFn: (p: Params) => modelGradFn(model, state.modelState, valBatch(), valLoss, s2)(p),
              valLossFn: (p: Params) => modelLossFn(model, state.modelState, valBatch(), valLoss, s2)(p),
            }
          : {}),
        ...batchExtras(model, state.modelState, batch, loss, s1, sampleLoss, microBatches),
        samReport,
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
    const reported = optimizer.metrics?.(out.optState);
    const rho = reported?.rho;
    const examples = batch.x.shape[0] as number;
    const metrics: StepMetrics = {
      epoch: state.epoch,
      step: state.step,
      loss: lossValue,
      accuracy: correctValue / examples,
      correct: correctValue,
      examples,
      ...(rho !== undefined ? { rho } : {}),
      ...(reported !== undefined ? { transform: reported } : {}),
    };
    return { state: next, metrics };
  }
};

/** A fresh run state: the model's init(seed) and the optimizer's init. */
export const initTrainState = <S>(model: TrainableModel, optimizer: GradientTransformation<S>, seed = 0): TrainState<S> => {
  const { params, state } = model.init(seed);
  return { params, modelState: state, optState: optimizer.init(params), step: 0, epoch: 0 };
};
