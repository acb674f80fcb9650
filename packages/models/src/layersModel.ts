import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { Params, Tree } from '@lets/tree';
import type { ApplyOptions, ApplyResult, Model, ModelVariables } from './types';

/** The part of a tfjs-layers `LayerVariable` the adapter uses. */
interface LayerVariableLike {
  readonly name: string;
  readonly shape: readonly (number | null)[];
  read(): tf.Tensor;
  write(v: tf.Tensor): unknown;
}

export interface FromLayersModelOptions {
  /** Model name; defaults to the LayersModel's name. */
  readonly name?: string;
}

/**
 * Turns a built tfjs-layers `LayersModel` into a functional {@link Model}.
 *
 * - params: the trainable weights, keyed by their (unique) variable names such as
 *   `dense_Dense1/kernel`; state: the non-trainable weights (BatchNormalization's
 *   `moving_mean` / `moving_variance`).
 * - apply: re-executes the model's layers on the given tensors. For the duration of the call
 *   each `LayerVariable`'s `read()` is redirected to the tensor passed in `params`/`state`, and
 *   `write()` (BatchNormalization's moving-average update in training mode) is captured into the
 *   returned state instead of mutating the variable; both are restored afterwards. So the
 *   layers' own `call` code runs on the caller's tensors and `tf.grads` w.r.t. `params` works,
 *   and the LayersModel's own variables are never changed.
 * - init(seed): copies of the LayersModel's current weights. The seed is NOT used: tfjs-layers
 *   initialized them with its own initializers when the model was built.
 *
 * Limits (honest): dropout layers draw from tfjs's RNG, so `opts.seed` is ignored; the tfjs
 * BatchNormalization layer uses its own momentum convention (0.99 default). Double
 * back-propagation (LETS's 'exact' estimator) works through the layers listed in
 * docs/bilevel.md, each tested in layersSecondOrder.test.ts; layers that read weights
 * other than through `LayerVariable.read()` or keep other internal state (RNN `stateful`) are
 * not supported; `apply` is not re-entrant across threads of control (it patches the shared
 * layer objects for the duration of the synchronous call, which is safe in JavaScript).
 * Single-input, single-output models only.
 */
export const fromLayersModel = (lm: LayersModel, options: FromLayersModelOptions = {}): Model => {
  if (lm.inputs.length !== 1 || lm.outputs.length !== 1) {
    throw new Error(`fromLayersModel: expected a single-input, single-output model, got ${lm.inputs.length} inputs and ${lm.outputs.length} outputs`);
  }
  const name = options.name ?? lm.name;
  const trainable = lm.trainableWeights as unknown as LayerVariableLike[];
  const nonTrainable = lm.nonTrainableWeights as unknown as LayerVariableLike[];
  const fixed = (v: LayerVariableLike): number[] =>
    v.shape.map((d, i) => {
      if (d === null) throw new Error(`fromLayersModel: weight '${v.name}' has an undefined dimension ${i}`);
      return d;
    });
  const paramShapes: Record<string, readonly number[]> = {};
  for (const v of trainable) paramShapes[v.name] = fixed(v);
  const stateShapes: Record<string, readonly number[]> = {};
  for (const v of nonTrainable) stateShapes[v.name] = fixed(v);
  const inShape = lm.inputs[0]?.shape ?? [];
  const outShape = lm.outputs[0]?.shape ?? [];
  const inputShape = inShape.slice(1).map((d) => {
    if (d === null) throw new Error(`fromLayersModel: input shape [${inShape.join(', ')}] must be fixed except the batch dimension`);
    return d;
  });
  const numClasses = outShape[outShape.length - 1];
  if (typeof numClasses !== 'number') throw new Error(`fromLayersModel: output shape [${outShape.join(', ')}] has no fixed last dimension`);
  const inputDtype = lm.inputs[0]?.dtype === 'int32' ? 'int32' : 'float32';

  const init = (_seed: number): ModelVariables => {
    const params: Record<string, tf.Tensor> = {};
    for (const v of trainable) params[v.name] = tf.clone(v.read());
    const state: Record<string, tf.Tensor> = {};
    for (const v of nonTrainable) state[v.name] = tf.clone(v.read());
    return { params, state };
  };

  const lookup = (what: string, tree: Tree, v: LayerVariableLike): tf.Tensor => {
    const t = tree[v.name];
    if (t === undefined) throw new Error(`${name}.apply: ${what} is missing '${v.name}'`);
    const want = v.shape;
    if (t.shape.length !== want.length || t.shape.some((d, i) => d !== want[i])) {
      throw new Error(`${name}.apply: ${what} '${v.name}' has shape [${t.shape.join(', ')}], expected [${want.join(', ')}]`);
    }
    return t;
  };

  const apply = (params: Params, state: Tree, x: tf.Tensor, opts: ApplyOptions): ApplyResult => {
    const bindings: [LayerVariableLike, tf.Tensor][] = [
      ...trainable.map((v): [LayerVariableLike, tf.Tensor] => [v, lookup('params', params, v)]),
      ...nonTrainable.map((v): [LayerVariableLike, tf.Tensor] => [v, lookup('state', state, v)]),
    ];
    if (x.rank !== inputShape.length + 1 || inputShape.some((d, i) => x.shape[i + 1] !== d)) {
      throw new Error(`${name}.apply: input x has shape [${x.shape.join(', ')}], expected [batch, ${inputShape.join(', ')}]`);
    }
    const written: Record<string, tf.Tensor> = {};
    return tf.tidy(() => {
      const patched = bindings.map(([v]) => v as unknown as Record<string, unknown>);
      try {
        bindings.forEach(([v, t]) => {
          const p = v as unknown as Record<string, unknown>;
          p.read = () => t;
          p.write = (nv: tf.Tensor) => {
            // The BN update runs inside tfjs-layers' own tidy: keep a copy past it.
            const old = written[v.name];
            if (old !== undefined) old.dispose();
            written[v.name] = tf.keep(tf.clone(nv));
            return v;
          };
        });
        const logits = (lm.apply(x, { training: opts.training }) as tf.Tensor);
        const newState: Record<string, tf.Tensor> = {};
        // Re-clone the kept copies inside this scope, so the returned state is owned like any
        // other result (an enclosing tidy or tf.grads disposes it unless the caller keeps it).
        for (const v of nonTrainable) newState[v.name] = tf.clone(written[v.name] ?? (state[v.name] as tf.Tensor));
        return { logits, state: newState };
      } finally {
        for (const t of Object.values(written)) t.dispose();
        for (const p of patched) {
          delete p.read;
          delete p.write;
        }
      }
    });
  };

  return { name, inputShape, inputDtype, numClasses, paramShapes, stateShapes, init, apply };
};
