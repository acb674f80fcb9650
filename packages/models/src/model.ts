import * as tf from '@tensorflow/tfjs-core';
import type { Params, Tree } from '@lets/tree';
import { random } from '@lets/runtime';
import { TensorSpec, materialize, shapesOf } from './spec';
import type { ApplyOptions, ApplyResult, Model, ModelVariables } from './types';

/**
 * What a layer sees during one forward pass: the parameters and state by path, the mode, a
 * place to put updated state, and seeded dropout. Created fresh by `apply` for every pass.
 */
export interface ForwardContext {
  readonly training: boolean;
  /** The parameter at `path` (throws naming the path if it is missing). */
  param(path: string): tf.Tensor;
  /** The incoming state entry at `path`. */
  state(path: string): tf.Tensor;
  /** Records the new value of a state entry (training-mode BatchNorm). */
  setState(path: string, value: tf.Tensor): void;
  /**
   * Inverted dropout: zeroes each element with probability `rate` and scales the rest by
   * 1/(1 − rate) in training mode; identity in eval mode or when rate = 0. Masks are drawn in JS
   * from the key `random.fold(random.key(opts.seed), 'dropout/<k>')` for the k-th dropout call of the pass.
   */
  dropout(x: tf.Tensor, rate: number): tf.Tensor;
}

/** Everything `defineModel` needs to build a {@link Model}. */
export interface ModelDefinition {
  readonly name: string;
  readonly inputShape: readonly number[];
  readonly inputDtype: 'float32' | 'int32';
  readonly numClasses: number;
  readonly params: readonly TensorSpec[];
  readonly state: readonly TensorSpec[];
  /** True when some dropout rate is > 0, so training passes need `opts.seed`. */
  readonly usesDropout: boolean;
  /** Checks one example's shape; defaults to an exact match with `inputShape`. */
  readonly acceptsExampleShape?: (shape: readonly number[]) => boolean;
  /** The forward pass: logits of shape `[batch, numClasses]`. */
  readonly forward: (ctx: ForwardContext, x: tf.Tensor) => tf.Tensor;
}

const fmt = (s: readonly number[]): string => `[${s.join(', ')}]`;

const sameShape = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((d, i) => d === b[i]);

const checkTree = (what: string, model: string, tree: Tree, specs: readonly TensorSpec[]): void => {
  for (const s of specs) {
    const t = tree[s.path];
    if (t === undefined) throw new Error(`${model}.apply: ${what} is missing '${s.path}' (expected shape ${fmt(s.shape)})`);
    if (t.isDisposed) throw new Error(`${model}.apply: ${what} '${s.path}' is disposed`);
    if (!sameShape(t.shape, s.shape)) {
      throw new Error(`${model}.apply: ${what} '${s.path}' has shape ${fmt(t.shape)}, expected ${fmt(s.shape)}`);
    }
  }
};

/**
 * Builds a {@link Model} from a definition. `apply` validates its inputs, runs `forward` inside
 * `tf.tidy`, and returns the logits and a complete new state (entries that the pass did not
 * update are cloned, so every returned tensor is new and the caller may dispose the old state).
 */
export const defineModel = (def: ModelDefinition): Model => {
  const paramShapes = shapesOf(def.params);
  const stateShapes = shapesOf(def.state);
  const acceptsShape = def.acceptsExampleShape ?? ((s: readonly number[]) => sameShape(s, def.inputShape));

  const init = (seed: number): ModelVariables => {
    if (!Number.isSafeInteger(seed)) throw new Error(`${def.name}.init: seed must be a safe integer, got ${seed}`);
    return { params: materialize(def.params, seed), state: materialize(def.state, seed) };
  };

  const apply = (params: Params, state: Tree, x: tf.Tensor, opts: ApplyOptions): ApplyResult => {
    checkTree('params', def.name, params, def.params);
    checkTree('state', def.name, state, def.state);
    if (x.rank < 1 || !acceptsShape(x.shape.slice(1))) {
      throw new Error(
        `${def.name}.apply: input x has shape ${fmt(x.shape)}, expected [batch, ${def.inputShape.join(', ')}]`,
      );
    }
    if (x.dtype !== def.inputDtype) {
      throw new Error(`${def.name}.apply: input x has dtype ${x.dtype}, expected ${def.inputDtype}`);
    }
    const training = opts.training;
    if (training && def.usesDropout && !Number.isSafeInteger(opts.seed)) {
      throw new Error(
        `${def.name}.apply: opts.seed (a safe integer) is required in training mode because the model uses dropout, got ${opts.seed}`,
      );
    }
    return tf.tidy(() => {
      const updated: Record<string, tf.Tensor> = {};
      let dropoutCalls = 0;
      const ctx: ForwardContext = {
        training,
        param: (path) => {
          const t = params[path];
          if (t === undefined) throw new Error(`${def.name}: no parameter '${path}'`);
          return t;
        },
        state: (path) => {
          const t = state[path];
          if (t === undefined) throw new Error(`${def.name}: no state entry '${path}'`);
          return t;
        },
        setState: (path, value) => {
          if (stateShapes[path] === undefined) throw new Error(`${def.name}: no state entry '${path}'`);
          updated[path] = value;
        },
        dropout: (t, rate) => {
          if (!(rate >= 0 && rate < 1)) throw new Error(`${def.name}: dropout rate must be in [0, 1), got ${rate}`);
          if (!training || rate === 0) return t;
          const rng = random.rng(random.fold(random.key(opts.seed as number), `dropout/${dropoutCalls++}`));
          const keep = 1 - rate;
          const mask = new Float32Array(t.size);
          for (let i = 0; i < mask.length; i++) mask[i] = rng.nextFloat() < keep ? 1 / keep : 0;
          return tf.mul(t, tf.tensor(mask, t.shape, 'float32'));
        },
      };
      const logits = def.forward(ctx, x);
      const newState: Record<string, tf.Tensor> = {};
      for (const s of def.state) newState[s.path] = updated[s.path] ?? tf.clone(state[s.path] as tf.Tensor);
      return { logits, state: newState };
    });
  };

  return {
    name: def.name,
    inputShape: def.inputShape,
    inputDtype: def.inputDtype,
    numClasses: def.numClasses,
    paramShapes,
    stateShapes,
    init,
    apply,
  };
};
