/**
 * The small interfaces the training pipeline couples through. @lets/models' `Model` and
 * @lets/data's `Batch` satisfy them structurally; anything else with the same shape works too.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { Params, Tree } from '@lets/tree';
import type { TransformMetrics } from '@lets/optim';

/** A functional model with explicit state (BatchNorm statistics live in `state`). */
export interface TrainableModel {
  init(seed: number): { readonly params: Params; readonly state: Tree };
  /** Pure: never mutates or disposes its inputs; returns new logits and a new state. */
  apply(
    params: Params,
    state: Tree,
    x: tf.Tensor,
    opts: { readonly training: boolean; readonly seed?: number },
  ): { readonly logits: tf.Tensor; readonly state: Tree };
}

/** One batch: inputs and labels (one-hot float32 [B, K] or int32 class ids [B]). */
export interface TrainBatch {
  readonly x: tf.Tensor;
  readonly y: tf.Tensor;
  /** Releases the batch's tensors (called by the pipeline once the batch is used). */
  dispose?(): void;
}

/**
 * A batch, or a thunk that builds it. A thunk is built only when used: `fit` skips batches of
 * a resumed epoch without building them, and a validation batch is built only on the steps
 * that read it.
 */
export type BatchItem = TrainBatch | (() => TrainBatch);

/** The batches of one epoch (sync or async iterable); called again for every epoch. */
export type BatchSource = (epoch: number) => Iterable<BatchItem> | AsyncIterable<BatchItem>;

/** A scalar training loss of logits and labels; must be twice differentiable for exactHvp. */
export type LossOf = (logits: tf.Tensor, labels: tf.Tensor) => tf.Scalar;

/** Per-sample losses of logits and labels: a vector of length B (ESAM's data selection). */
export type SampleLossOf = (logits: tf.Tensor, labels: tf.Tensor) => tf.Tensor1D;

/** Everything a run carries from step to step (a checkpoint is exactly this). */
export interface TrainState<S = unknown> {
  readonly params: Params;
  readonly modelState: Tree;
  readonly optState: S;
  /** Optimizer steps taken. */
  readonly step: number;
  /** Epochs completed. */
  readonly epoch: number;
  /** Batches of epoch `epoch` already done (a mid-epoch checkpoint resumes after them). */
  readonly batchInEpoch?: number;
  /** Best value so far of `FitOptions.best` (higher is better). */
  readonly best?: number;
  /** Where the validation source is: its epoch and the next batch's index (resumes exactly). */
  readonly valCursor?: { readonly epoch: number; readonly index: number };
}

/** Metrics of one step (host numbers). */
export interface StepMetrics {
  readonly epoch: number;
  readonly step: number;
  /** The clean training loss at the step's params. */
  readonly loss: number;
  /** Fraction of the batch classified correctly by the clean pass. */
  readonly accuracy: number;
  /** Examples of the batch the clean pass classified correctly. */
  readonly correct: number;
  /** Examples in the batch. */
  readonly examples: number;
  /** ρ the optimizer will use next, when its `metrics` reports one (a SAM variant, LETS). */
  readonly rho?: number;
  /**
   * The optimizer's `metrics(state)` after the step, when it has them (LETS: ρ, gap,
   * hypergradient, estimator, gradient evaluations).
   */
  readonly transform?: TransformMetrics;
}

export interface EvalMetrics {
  readonly loss: number;
  readonly accuracy: number;
  readonly count: number;
}

export interface EpochMetrics {
  readonly epoch: number;
  readonly step: number;
  readonly trainLoss: number;
  readonly trainAccuracy: number;
  readonly evaluation?: EvalMetrics;
  /** One entry per `FitOptions.evaluations` source (e.g. validation and test). */
  readonly evaluations?: Readonly<Record<string, EvalMetrics>>;
  /** This epoch's `FitOptions.best` value beat every earlier one (the state is the new best). */
  readonly improved?: boolean;
  readonly rho?: number;
  readonly seconds: number;
}
