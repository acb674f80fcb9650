import * as tf from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../addon';
import { alloc, BACKEND_NAME, f32, KernelArgs, output } from './util';

/**
 * Fused kernels of a dense layer and of softmax cross-entropy, and the ops that reach them.
 *
 *   fusedDense(x, w, b, act)     y = act(x·w + b)                 (act: linear or relu)
 *   fusedSoftmaxCrossEntropy(z, y) L = mean_b(logΣexp(z_b) − Σ_k y_bk z_bk)
 *   LetsBiasRelu {x, b}          y = relu(x + b), b [C] over x's last axis (a conv or dense
 *                                layer's bias and ReLU; @lets/models reaches it by name)
 *
 * One kernel replaces MatMul + Add + Relu forward, and Step + Mul + 2 MatMul + Sum (+ Reshape)
 * backward; six kernels (Max, Sub, Exp, Sum, Log, Add, Mul, Sum, Sub, Mean and their gradients)
 * become one forward and one backward for the loss. On any other backend the ops compute the
 * same formulas from tfjs ops.
 *
 * Gradients are registered by kernel name (tf.registerGradient) and written with tfjs ops or with
 * these kernels, whose own gradients are again registered and written with tfjs ops, so
 * second derivatives (double back-propagation, exact Hessian–vector products) are correct:
 *   dense backprop input   dx = g·wᵀ, g = dy ⊙ act'(y)
 *   dense backprop params  dw = xᵀ·g, db = Σ_rows g
 *   their derivatives      ∂dx/∂(dy, w)·G = ((G·w) ⊙ m, Gᵀ·g); ∂(dw, db)/∂(dy, x)·(Gw, Gb) =
 *                          ((x·Gw + Gb) ⊙ m, g·Gwᵀ); m = act'(y) is locally constant (0 in y)
 *   loss gradient          dz = dL (p − y)/B, p = softmax(z); dy = −dL z/B
 *   its derivative         ∂dz/∂z·G = dL/B (p ⊙ G − p Σ_k p_k G_k); ∂dz/∂dL·G = Σ G ⊙ (p − y)/B
 *   bias-ReLU gradient     dx = dy ⊙ step(y), db = Σ_rows dx (LetsBiasReluGrad, one pass)
 *   its derivative         ∂(dx, db)/∂dy·(Gx, Gb) = (Gx + Gb) ⊙ step(y); 0 in y
 *
 * LetsBiasRelu gives the bits of Add then Relu, and LetsBiasReluGrad those of Step, Multiply and
 * Sum over the leading axes (the stock gradients of Relu and of Add's broadcast bias) on 'native':
 * a network built with it trains bit for bit as with the two ops (csrc/elementwise.cc).
 */
export const DENSE = 'LetsDense';
export const DENSE_BACKPROP_INPUT = 'LetsDenseBackpropInput';
export const DENSE_BACKPROP_PARAMS = 'LetsDenseBackpropParams';
export const SOFTMAX_XENT = 'LetsSoftmaxCrossEntropy';
export const SOFTMAX_XENT_GRAD = 'LetsSoftmaxCrossEntropyGrad';
export const BIAS_RELU = 'LetsBiasRelu';
export const BIAS_RELU_GRAD = 'LetsBiasReluGrad';

export type DenseActivation = 'linear' | 'relu';

const actCode = (attrs: Record<string, unknown> | undefined): 0 | 1 => (attrs?.activation === 'relu' ? 1 : 0);

function values(args: KernelArgs, name: string): Float32Array {
  const t = args.inputs[name];
  const v = t === undefined ? undefined : f32(args.backend, t);
  if (v === undefined) throw new Error(`@lets/native: fused kernel input '${name}' must be a float32 tensor`);
  return v;
}

/** The kernels, for the 'native' backend. */
export function fusedKernelConfigs(addon: NativeAddon): tf.KernelConfig[] {
  const k = (kernelName: string, f: (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[]): tf.KernelConfig => ({
    kernelName, backendName: BACKEND_NAME, kernelFunc: f as unknown as tf.KernelFunc,
  });
  const biasRelu = addon.biasRelu?.bind(addon), biasReluGrad = addon.biasReluGrad?.bind(addon);
  const biasReluKernels =
    biasRelu === undefined || biasReluGrad === undefined
      ? []
      : [
          k(BIAS_RELU, (args) => {
            const x = args.inputs.x!, b = args.inputs.b!;
            const C = biasShape(BIAS_RELU, x, b);
            const xv = values(args, 'x'), bv = values(args, 'b');
            const y = alloc(args.backend, xv.length);
            biasRelu(xv, bv, y, C === 0 ? 0 : xv.length / C, C);
            return output(args.backend, x.shape.slice(), y);
          }),
          k(BIAS_RELU_GRAD, (args) => {
            const dy = args.inputs.dy!, y = args.inputs.y!;
            if (!tf.util.arraysEqual(dy.shape, y.shape) || y.shape.length === 0) {
              throw new Error(`${BIAS_RELU_GRAD}: dy and y must have one shape of rank ≥ 1, got [${dy.shape.join(', ')}] and [${y.shape.join(', ')}]`);
            }
            const C = y.shape[y.shape.length - 1]!;
            const dyv = values(args, 'dy'), yv = values(args, 'y');
            const dx = alloc(args.backend, dyv.length), db = alloc(args.backend, C);
            biasReluGrad(dyv, yv, dx, db, C === 0 ? 0 : dyv.length / C, C);
            return [output(args.backend, dy.shape.slice(), dx), output(args.backend, [C], db)];
          }),
        ];
  return [
    ...biasReluKernels,
    k(DENSE, (args) => {
      const x = args.inputs.x!, w = args.inputs.w!;
      const [M, K] = x.shape as [number, number], N = w.shape[1]!;
      const y = alloc(args.backend, M * N);
      addon.denseForward(values(args, 'x'), values(args, 'w'), args.inputs.b ? values(args, 'b') : null, y, M, K, N, actCode(args.attrs));
      return output(args.backend, [M, N], y);
    }),
    k(DENSE_BACKPROP_INPUT, (args) => {
      const dy = args.inputs.dy!, w = args.inputs.w!;
      const [M, N] = dy.shape as [number, number], K = w.shape[0]!;
      const dx = alloc(args.backend, M * K);
      addon.denseBackpropInput(values(args, 'dy'), values(args, 'w'), values(args, 'y'), dx, M, K, N, actCode(args.attrs));
      return output(args.backend, [M, K], dx);
    }),
    k(DENSE_BACKPROP_PARAMS, (args) => {
      const dy = args.inputs.dy!, x = args.inputs.x!;
      const [M, N] = dy.shape as [number, number], K = x.shape[1]!;
      const dw = alloc(args.backend, K * N), db = alloc(args.backend, N);
      addon.denseBackpropParams(values(args, 'dy'), values(args, 'x'), values(args, 'y'), dw, db, M, K, N, actCode(args.attrs));
      return [output(args.backend, [K, N], dw), output(args.backend, [N], db)];
    }),
    k(SOFTMAX_XENT, (args) => {
      const [B, C] = args.inputs.logits!.shape as [number, number];
      const out = alloc(args.backend, 1);
      out[0] = addon.softmaxXent(values(args, 'logits'), values(args, 'labels'), B, C);
      return output(args.backend, [], out);
    }),
    k(SOFTMAX_XENT_GRAD, (args) => {
      const [B, C] = args.inputs.logits!.shape as [number, number];
      const dl = values(args, 'dy')[0]!;
      const dz = alloc(args.backend, B * C);
      addon.softmaxXentGrad(dl, values(args, 'logits'), values(args, 'labels'), dz, B, C);
      return output(args.backend, [B, C], dz);
    }),
  ];
}

/** The bias's length C: b is [C] and x's last axis is C (x of rank ≥ 1); else an error naming `what`. */
function biasShape(what: string, x: tf.TensorInfo, b: tf.TensorInfo): number {
  const C = b.shape[0];
  if (b.shape.length !== 1 || x.shape.length === 0 || x.shape[x.shape.length - 1] !== C) {
    throw new Error(`${what}: b must be 1-D with the length of x's last axis, got x [${x.shape.join(', ')}] and b [${b.shape.join(', ')}]`);
  }
  return C!;
}

const hasKernel = (name: string): boolean => tf.getKernel(name, tf.getBackend()) !== undefined;
const run = <T extends tf.Tensor | tf.Tensor[]>(name: string, inputs: tf.NamedTensorMap, attrs: Record<string, unknown> = {}): T =>
  tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap) as unknown as T;

const mask = (y: tf.Tensor, act: 0 | 1): tf.Tensor | undefined => (act === 1 ? tf.step(y) : undefined);
const masked = (t: tf.Tensor, m: tf.Tensor | undefined): tf.Tensor => (m === undefined ? t : tf.mul(t, m));
const softmaxOf = (z: tf.Tensor): tf.Tensor => tf.exp(tf.sub(z, tf.logSumExp(z, 1, true)));

function denseBackpropInput(dy: tf.Tensor, w: tf.Tensor, y: tf.Tensor, act: 0 | 1): tf.Tensor {
  if (hasKernel(DENSE_BACKPROP_INPUT)) return run(DENSE_BACKPROP_INPUT, { dy, w, y }, { activation: act ? 'relu' : 'linear' });
  return tf.matMul(masked(dy, mask(y, act)), w, false, true);
}

function denseBackpropParams(dy: tf.Tensor, x: tf.Tensor, y: tf.Tensor, act: 0 | 1): [tf.Tensor, tf.Tensor] {
  if (hasKernel(DENSE_BACKPROP_PARAMS)) return run(DENSE_BACKPROP_PARAMS, { dy, x, y }, { activation: act ? 'relu' : 'linear' });
  const g = masked(dy, mask(y, act));
  return [tf.matMul(x, g, true, false), tf.sum(g, 0)];
}

function softmaxXentGrad(dy: tf.Tensor, logits: tf.Tensor, labels: tf.Tensor): tf.Tensor {
  if (hasKernel(SOFTMAX_XENT_GRAD)) return run(SOFTMAX_XENT_GRAD, { dy, logits, labels });
  return tf.mul(tf.sub(softmaxOf(logits), labels), tf.div(dy, logits.shape[0]!));
}

let gradientsRegistered = false;

/** Registers the gradients of the fused kernels (once; they are global, by kernel name). */
export function registerFusedGradients(): void {
  if (gradientsRegistered) return;
  gradientsRegistered = true;
  tf.registerGradient({
    kernelName: DENSE,
    inputsToSave: ['x', 'w'],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [x, w, y] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
      const act = actCode(attrs as Record<string, unknown>);
      const d = dy as tf.Tensor;
      // dw and db come from one kernel; run it here (not inside one input's closure, whose
      // scope would dispose the other output).
      const [dw, db] = denseBackpropParams(d, x, y, act);
      return { x: () => denseBackpropInput(d, w, y, act), w: () => dw, b: () => db };
    },
  });
  tf.registerGradient({
    kernelName: DENSE_BACKPROP_INPUT,
    inputsToSave: ['dy', 'w', 'y'],
    gradFunc: (g, saved, attrs) => {
      const [dy, w, y] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
      const m = mask(y, actCode(attrs as Record<string, unknown>));
      const G = g as tf.Tensor;
      return {
        dy: () => masked(tf.matMul(G, w), m),
        w: () => tf.matMul(G, masked(dy, m), true, false),
        y: () => tf.zerosLike(y),
      };
    },
  });
  tf.registerGradient({
    kernelName: DENSE_BACKPROP_PARAMS,
    inputsToSave: ['dy', 'x', 'y'],
    gradFunc: (gs, saved, attrs) => {
      const [dy, x, y] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
      const m = mask(y, actCode(attrs as Record<string, unknown>));
      const [gw, gb] = gs as [tf.Tensor | null, tf.Tensor | null];
      return {
        dy: () => {
          const fromW = gw ? tf.matMul(x, gw) : tf.zerosLike(dy);
          return masked(gb ? tf.add(fromW, gb) : fromW, m);
        },
        x: () => (gw ? tf.matMul(masked(dy, m), gw, false, true) : tf.zerosLike(x)),
        y: () => tf.zerosLike(y),
      };
    },
  });
  tf.registerGradient({
    kernelName: BIAS_RELU,
    outputsToSave: [true],
    gradFunc: (dy, saved) => {
      const [y] = saved as [tf.Tensor];
      // dx and db come from one kernel (as dense's dw and db), registered with LetsBiasRelu.
      const [dx, db] = run<[tf.Tensor, tf.Tensor]>(BIAS_RELU_GRAD, { dy: dy as tf.Tensor, y });
      return { x: () => dx, b: () => db };
    },
  });
  tf.registerGradient({
    kernelName: BIAS_RELU_GRAD,
    inputsToSave: ['dy', 'y'],
    gradFunc: (gs, saved) => {
      const [dy, y] = saved as [tf.Tensor, tf.Tensor];
      const [gx, gb] = gs as [tf.Tensor | null, tf.Tensor | null];
      return {
        dy: () => {
          const g = gx ?? tf.zerosLike(dy);
          return tf.mul(gb ? tf.add(g, gb) : g, tf.step(y));
        },
        y: () => tf.zerosLike(y),
      };
    },
  });
  tf.registerGradient({
    kernelName: SOFTMAX_XENT,
    inputsToSave: ['logits', 'labels'],
    gradFunc: (dy, saved) => {
      const [logits, labels] = saved as [tf.Tensor, tf.Tensor];
      const d = dy as tf.Tensor;
      return {
        logits: () => softmaxXentGrad(d, logits, labels),
        labels: () => tf.mul(logits, tf.div(tf.neg(d), logits.shape[0]!)),
      };
    },
  });
  tf.registerGradient({
    kernelName: SOFTMAX_XENT_GRAD,
    inputsToSave: ['dy', 'logits', 'labels'],
    gradFunc: (g, saved) => {
      const [dy, logits, labels] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
      const G = g as tf.Tensor;
      const B = logits.shape[0]!;
      return {
        dy: () => tf.reshape(tf.div(tf.sum(tf.mul(G, tf.sub(softmaxOf(logits), labels))), B), dy.shape),
        logits: () => {
          const p = softmaxOf(logits);
          const pg = tf.mul(p, G);
          return tf.mul(tf.sub(pg, tf.mul(p, tf.sum(pg, 1, true))), tf.div(dy, B));
        },
        labels: () => tf.mul(G, tf.div(tf.neg(dy), B)),
      };
    },
  });
}

function check2d(name: string, t: tf.Tensor, what: string): void {
  if (t.rank !== 2) throw new Error(`${name}: ${what} must be 2-D, got shape [${t.shape.join(', ')}]`);
}

/**
 * A dense layer, act(x·w + b): x [batch, in], w [in, out], b [out] (optional), act 'linear' or
 * 'relu'. One kernel forward and two backward on the 'native' backend (first and second
 * derivatives as for the unfused ops); the unfused tfjs ops elsewhere.
 */
export function fusedDense(x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor, activation: DenseActivation = 'linear'): tf.Tensor2D {
  check2d('dense', x, 'x');
  check2d('dense', w, 'w');
  if (x.shape[1] !== w.shape[0]) throw new Error(`dense: x [${x.shape.join(', ')}] and w [${w.shape.join(', ')}] do not chain`);
  if (b !== undefined && (b.rank !== 1 || b.shape[0] !== w.shape[1])) {
    throw new Error(`dense: b must have shape [${w.shape[1]}], got [${b.shape.join(', ')}]`);
  }
  if (activation !== 'linear' && activation !== 'relu') throw new Error(`dense: activation must be 'linear' or 'relu', got '${String(activation)}'`);
  const f32 = x.dtype === 'float32' && w.dtype === 'float32' && (b === undefined || b.dtype === 'float32');
  if (f32 && hasKernel(DENSE)) {
    registerFusedGradients();
    return run<tf.Tensor2D>(DENSE, b === undefined ? { x, w } : { x, w, b }, { activation });
  }
  return tf.tidy(() => {
    const z = b === undefined ? tf.matMul(x, w) : tf.add(tf.matMul(x, w), b);
    return (activation === 'relu' ? tf.relu(z) : z) as tf.Tensor2D;
  });
}

/**
 * Mean softmax cross-entropy of logits [batch, classes] against labels of the same shape (one-hot
 * or probability rows): mean_b(logΣexp(z_b) − Σ_k y_bk z_bk). One kernel forward and one
 * backward on 'native'; tfjs's max-shifted logSumExp elsewhere. Differentiable twice.
 */
export function fusedSoftmaxCrossEntropy(logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  check2d('softmaxCrossEntropy', logits, 'logits');
  if (labels.rank !== 2 || labels.shape[0] !== logits.shape[0] || labels.shape[1] !== logits.shape[1]) {
    throw new Error(`softmaxCrossEntropy: labels must have the logits' shape [${logits.shape.join(', ')}], got [${labels.shape.join(', ')}]`);
  }
  if (logits.dtype === 'float32' && labels.dtype === 'float32' && hasKernel(SOFTMAX_XENT)) {
    registerFusedGradients();
    return run<tf.Scalar>(SOFTMAX_XENT, { logits, labels });
  }
  return tf.tidy(() => {
    const y = labels.dtype === 'float32' ? labels : tf.cast(labels, 'float32');
    return tf.mean(tf.sub(tf.logSumExp(logits, 1), tf.sum(tf.mul(y, logits), 1)));
  });
}

/**
 * relu(x + b), b [C] broadcast over x's last axis (a conv or dense layer's bias and ReLU): one
 * kernel forward and one backward on 'native', with the bits of tf.relu(tf.add(x, b)) and its
 * gradients; those ops elsewhere. Differentiable twice. (@lets/models' ReLU layers reach the
 * same kernel by its name, 'LetsBiasRelu'.)
 */
export function fusedBiasRelu(x: tf.Tensor, b: tf.Tensor): tf.Tensor {
  biasShape('biasRelu', x, b);
  if (x.dtype === 'float32' && b.dtype === 'float32' && hasKernel(BIAS_RELU)) {
    registerFusedGradients();
    return run<tf.Tensor>(BIAS_RELU, { x, b });
  }
  return tf.tidy(() => tf.relu(tf.add(x, b)));
}
