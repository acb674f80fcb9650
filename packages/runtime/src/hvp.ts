/**
 * Hessian-vector product by double back-propagation (Pearlmutter 1994, "Fast exact
 * multiplication by the Hessian"):
 *
 *   H(θ)·v = ∇_θ ⟨∇_θ L(θ), v⟩
 *
 * computed with nested `tf.grads`. Exact (to float32 rounding) for every op whose gradient
 * is itself differentiable; this package registers such gradients (see `grads/`).
 *
 * Fails loudly instead of returning a wrong number: before the outer pass it inspects the
 * tape of the forward pass and throws, naming the op, if any op between θ and L has a
 * gradient that double back-propagation cannot differentiate exactly: a registered gradient
 * that reads the op's saved output (tfjs treats it as a constant in the outer pass), or a
 * `customGrad` op (`tf.losses.softmaxCrossEntropy`, `tf.logSoftmax`, fused ops), whose
 * gradient reads forward values the tape never recorded. An op with no gradient at all
 * makes tfjs throw; that error is re-thrown with this context.
 */
import * as tf from '@tensorflow/tfjs-core';
import { SAVED_OUTPUT_IS_SAFE } from './grads';

/** A flat, ordered map from a path to a tensor (the shape of @lets/tree's Tree). */
export type TensorTree = Readonly<Record<string, tf.Tensor>>;

interface TapeNodeLike {
  kernelName: string;
  inputs: Record<string, tf.Tensor | undefined>;
  outputs: tf.Tensor[];
  saved?: tf.Tensor[];
}

interface EngineStateLike {
  activeTape: TapeNodeLike[] | null;
  gradientDepth: number;
}

function engineState(): EngineStateLike {
  return (tf.engine() as unknown as { state: EngineStateLike }).state;
}

/**
 * After a failed outermost gradient, tfjs leaves the tape's saved tensors alive (they are
 * released only on success); release them so a refused hvp does not leak.
 */
function discardFailedTape(): void {
  const state = engineState();
  if (state.gradientDepth !== 0 || state.activeTape === null || state.activeTape === undefined) return;
  for (const node of state.activeTape) for (const t of node.saved ?? []) t.dispose();
  state.activeTape = null;
}

function activeTape(): TapeNodeLike[] {
  const state = engineState();
  if (state.activeTape === null || state.activeTape === undefined) {
    throw new Error('hvp: internal error: no active gradient tape');
  }
  return state.activeTape;
}

/**
 * tfjs's fused ops (`tf.fused.matMul`, `tf.fused.conv2d`, `tf.fused.depthwiseConv2d`: what
 * tfjs-layers' Dense, Conv2D and DepthwiseConv2D layers call) are customGrad ops, but under a
 * gradient tape tfjs fuses only the linear activation (`shouldFuse`: any other activation runs as
 * separate ops), and then their gradient is built from ops on the saved *inputs* (clones that are
 * on the tape) and never reads the saved output except for its shape: double back-propagation
 * through them is exact (checked against the same network in plain ops, models' layers tests).
 */
const FUSED_LINEAR_OPS: ReadonlySet<string> = new Set(['fusedMatMul__op', 'fusedConv2d__op', 'fusedDepthwiseConv2d__op']);

/** Why double back-propagation through this tape node would be wrong, or undefined if it is fine. */
function secondOrderProblem(node: TapeNodeLike): string | undefined {
  const config = tf.getGradient(node.kernelName);
  if (config !== undefined && config !== null) {
    const savesOutput = (config.outputsToSave ?? []).some((b) => b);
    if (savesOutput && !SAVED_OUTPUT_IS_SAFE.has(node.kernelName)) {
      return `its gradient reads the op's saved output, which double back-propagation treats as a constant`;
    }
    return undefined;
  }
  if (FUSED_LINEAR_OPS.has(node.kernelName)) return undefined;
  const inputKeys = Object.keys(node.inputs);
  const isClone = inputKeys.length === 1 && inputKeys[0] === 'x' && (node.saved ?? []).length === 0 && node.outputs.length === 1;
  if (isClone) return undefined; // engine.clone(): identity, gradient dy
  return `it is a customGrad op (e.g. tf.losses.softmaxCrossEntropy, tf.logSoftmax), whose gradient reads forward values that are not on the tape`;
}

/**
 * Throws if any node of `forwardNodes` that depends on `sources` cannot be differentiated
 * twice exactly. Exposed for tests and for code that builds its own nested gradients.
 */
export function assertTwiceDifferentiable(forwardNodes: readonly TapeNodeLike[], sources: readonly tf.Tensor[]): void {
  const reached = new Set<number>(sources.map((t) => t.id));
  for (const node of forwardNodes) {
    const dependsOnSource = Object.values(node.inputs).some((t) => t !== undefined && t !== null && reached.has(t.id));
    if (!dependsOnSource) continue;
    for (const out of node.outputs) reached.add(out.id);
    const problem = secondOrderProblem(node);
    if (problem !== undefined) {
      throw new Error(
        `hvp: op '${node.kernelName}' is not twice-differentiable here: ${problem}. ` +
          'Use @lets/runtime softmaxCrossEntropy / logSoftmax / batchNormOp, or an op listed in docs/runtime.md.',
      );
    }
  }
}

function checkSameKeys(params: TensorTree, v: TensorTree): string[] {
  const keys = Object.keys(params);
  const vKeys = Object.keys(v);
  const missing = keys.filter((k) => !(k in v));
  const extra = vKeys.filter((k) => !(k in params));
  if (missing.length > 0 || extra.length > 0) {
    throw new Error(
      `hvp: v must have the keys of params; missing [${missing.join(', ')}], unexpected [${extra.join(', ')}]`,
    );
  }
  for (const k of keys) {
    const a = params[k]!.shape;
    const b = v[k]!.shape;
    if (a.length !== b.length || a.some((d, i) => d !== b[i])) {
      throw new Error(`hvp: v['${k}'] has shape [${b.join(', ')}], expected params' [${a.join(', ')}]`);
    }
  }
  return keys;
}

function toTree(keys: readonly string[], ts: readonly tf.Tensor[]): TensorTree {
  const out: Record<string, tf.Tensor> = {};
  keys.forEach((k, i) => {
    out[k] = ts[i]!;
  });
  return out;
}

/** Loss, gradient and Hessian-vector product at one point, from one double back-propagation. */
export interface ValueGradHvp {
  readonly value: tf.Scalar;
  readonly grad: TensorTree;
  readonly hvp: TensorTree;
}

/**
 * L(θ), ∇L(θ) and H(θ)·v together (the gradient is a by-product of the double
 * back-propagation, so this costs the same as `hvp`). Same contract as `hvp`.
 */
export function valueGradHvp(lossFn: (params: TensorTree) => tf.Scalar, params: TensorTree, v: TensorTree): ValueGradHvp {
  return run(lossFn, params, v, true) as ValueGradHvp;
}

/**
 * H(θ)·v for the scalar `lossFn` at `params`, as a tree with params' keys and shapes.
 * `lossFn` must build the loss from `params` with tfjs ops (it is traced twice-nested).
 * Inputs are neither mutated nor disposed; the result is owned by the caller.
 */
export function hvp(lossFn: (params: TensorTree) => tf.Scalar, params: TensorTree, v: TensorTree): TensorTree {
  return run(lossFn, params, v, false) as TensorTree;
}

/**
 * Throws, naming initRuntime(), unless this package's twice-differentiable gradients are
 * registered. The gradient registry is process-global, so this looks there (tfjs has no gradient
 * of Conv2DBackpropFilter; registerSecondOrderGradients adds one) rather than at a module flag,
 * which a second copy of this module would not share.
 */
function checkGradientsRegistered(): void {
  if (tf.getGradient('Conv2DBackpropFilter') != null) return;
  const call = 'Call `await initRuntime()` from @lets/runtime first';
  if (['Add', 'Mul', 'Sum'].some((k) => tf.getGradient(k) != null)) {
    throw new Error(
      "hvp: @lets/runtime's twice-differentiable gradients are not registered (tfjs's own are, e.g. by @tensorflow/tfjs, " +
        `and several of them are silently wrong under double back-propagation). ${call} (or registerGradients()).`,
    );
  }
  throw new Error(
    `hvp: tfjs has no gradient functions registered. ${call}: it registers them, twice-differentiable ones included ` +
      "(@tensorflow/tfjs-core's Node entry registers none).",
  );
}

function run(lossFn: (params: TensorTree) => tf.Scalar, params: TensorTree, v: TensorTree, withGrad: boolean): TensorTree | ValueGradHvp {
  const keys = checkSameKeys(params, v);
  checkGradientsRegistered();
  if (keys.length === 0) {
    if (withGrad) throw new Error('valueGradHvp: params is empty');
    return {};
  }
  const xs = keys.map((k) => params[k]!);
  const vs = keys.map((k) => v[k]!);
  let value: tf.Scalar | undefined;
  let grads: tf.Tensor[] = [];
  const hs = tf.tidy(() => {
    const directional = (...ws: tf.Tensor[]): tf.Scalar => {
      const start = activeTape().length;
      let end = start;
      const { value: l, grads: gs } = tf.valueAndGrads((...inner: tf.Tensor[]) => {
        const loss = lossFn(toTree(keys, inner));
        end = activeTape().length;
        return loss;
      })(ws);
      assertTwiceDifferentiable(activeTape().slice(start, end), ws);
      if (withGrad) {
        value = tf.keep(l) as tf.Scalar;
        grads = gs.map((g) => tf.keep(g));
      }
      return tf.addN(gs.map((g, i) => tf.sum(tf.mul(g, vs[i]!)))) as tf.Scalar;
    };
    try {
      return tf.grads(directional)(xs);
    } catch (e) {
      discardFailedTape();
      if (value !== undefined) value.dispose();
      grads.forEach((g) => g.dispose());
      const msg = e instanceof Error ? e.message : String(e);
      if (msg.startsWith('hvp:')) throw e;
      const m = /gradient function not found for (\w+)/.exec(msg);
      if (m) throw new Error(`hvp: op '${m[1]}' is not twice-differentiable: it has no gradient of its own (${msg})`);
      throw e;
    }
  });
  if (!withGrad) return toTree(keys, hs);
  return { value: value!, grad: toTree(keys, grads), hvp: toTree(keys, hs) };
}
