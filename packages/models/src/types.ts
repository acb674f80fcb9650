import type * as tf from '@tensorflow/tfjs-core';
import type { Params, Tree } from '@lets/tree';

/** Options of one forward pass. */
export interface ApplyOptions {
  /**
   * Training mode: BatchNorm normalizes with batch statistics and returns updated running
   * statistics; dropout is active. Eval mode uses the running statistics and no dropout.
   */
  readonly training: boolean;
  /**
   * Seed of this pass's dropout masks (required when `training` and the model has dropout > 0).
   * The same seed gives the same masks on every backend.
   */
  readonly seed?: number;
}

/** What `apply` returns: the logits and the model state after the pass. */
export interface ApplyResult {
  readonly logits: tf.Tensor;
  /** New state (every tensor newly allocated and owned by the caller, even in eval mode). */
  readonly state: Tree;
}

/** Parameters and state of a freshly initialized model. */
export interface ModelVariables {
  readonly params: Params;
  readonly state: Tree;
}

/**
 * A functional model with explicit state.
 *
 * - `init(seed)` builds fresh parameters and state; the same seed gives bit-identical tensors on
 *   every backend (random numbers come from a JS PRNG, not the backend's RNG).
 * - `apply(params, state, x, opts)` is pure: it never mutates or disposes its inputs, it is
 *   differentiable w.r.t. `params` with `tf.grads` / `tf.variableGrads`, and it leaves no tensors
 *   behind except `logits` and the new `state`.
 * - `paramShapes` / `stateShapes` describe the trees without allocating them (`countParams`).
 */
export interface Model {
  readonly name: string;
  /** Shape of one example, without the batch dimension (e.g. `[28, 28, 1]`, or `[seqLen]`). */
  readonly inputShape: readonly number[];
  /** dtype the input must have ('float32' images and features, 'int32' token ids). */
  readonly inputDtype: 'float32' | 'int32';
  /** Number of output logits per example. */
  readonly numClasses: number;
  readonly paramShapes: Readonly<Record<string, readonly number[]>>;
  readonly stateShapes: Readonly<Record<string, readonly number[]>>;
  init(seed: number): ModelVariables;
  apply(params: Params, state: Tree, x: tf.Tensor, opts: ApplyOptions): ApplyResult;
}
