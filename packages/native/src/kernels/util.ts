import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { NativeAddon } from '../addon';

/** The tfjs backend name this package registers. */
export const BACKEND_NAME = 'native';

/** What a native kernel function receives (tfjs's KernelFunc arguments, typed for the cpu backend). */
export interface KernelArgs {
  readonly inputs: Record<string, tf.TensorInfo | undefined>;
  readonly backend: MathBackendCPU;
  readonly attrs?: Record<string, unknown>;
}

export type NativeKernel = (args: KernelArgs, fallback: tf.KernelFunc) => tf.TensorInfo | tf.TensorInfo[];

/** A kernel override: its tfjs kernel name and its body, given the addon. */
export interface NativeKernelSpec {
  readonly kernelName: string;
  readonly make: (addon: NativeAddon) => NativeKernel;
}

/** The tensor's float32 storage on the cpu-style backend, no copy (undefined if not float32). */
export function f32(backend: MathBackendCPU, t: tf.TensorInfo): Float32Array | undefined {
  if (t.dtype !== 'float32') return undefined;
  const v = backend.data.get(t.dataId).values;
  return v instanceof Float32Array ? v : undefined;
}

interface Pooling {
  allocFloat32(n: number): Float32Array;
  adoptFloat32(shape: number[], values: Float32Array): tf.TensorInfo;
}

function pooling(backend: MathBackendCPU): Pooling | undefined {
  const b = backend as unknown as Partial<Pooling>;
  return typeof b.allocFloat32 === 'function' && typeof b.adoptFloat32 === 'function' ? (b as Pooling) : undefined;
}

/**
 * A buffer for a kernel's output, from the backend's pool when it has one. Its contents are
 * stale: the kernel must write every element (or use `allocZeros`).
 */
export function alloc(backend: MathBackendCPU, n: number): Float32Array {
  return pooling(backend)?.allocFloat32(n) ?? new Float32Array(n);
}

/** A zero-filled output buffer. */
export function allocZeros(backend: MathBackendCPU, n: number): Float32Array {
  return alloc(backend, n).fill(0);
}

/** Wraps a kernel's output buffer (from `alloc`) as a float32 tensor the backend owns. */
export function output(backend: MathBackendCPU, shape: number[], values: Float32Array): tf.TensorInfo {
  const p = pooling(backend);
  return p !== undefined ? p.adoptFloat32(shape, values) : backend.makeTensorInfo(shape, 'float32', values);
}

/** Geometry array shared with the addon: [B,H,W,Ci,OH,OW,Co,fh,fw,sh,sw,dh,dw,padTop,padLeft,cm]. */
export function geometry(ci: tf.backend_util.Conv2DInfo, channelMultiplier = 1): Int32Array {
  return Int32Array.from([
    ci.batchSize, ci.inHeight, ci.inWidth, ci.inChannels, ci.outHeight, ci.outWidth, ci.outChannels,
    ci.filterHeight, ci.filterWidth, ci.strideHeight, ci.strideWidth, ci.dilationHeight, ci.dilationWidth,
    ci.padInfo.top, ci.padInfo.left, channelMultiplier,
  ]);
}

/** Runs a kernel registered for the same backend (used for bias adds and activations). */
export function runRegistered(
  kernelName: string,
  backendName: string,
  args: { inputs: Record<string, tf.TensorInfo>; backend: MathBackendCPU; attrs?: Record<string, unknown> },
): tf.TensorInfo {
  const k = tf.getKernel(kernelName, backendName);
  if (k === undefined) throw new Error(`@lets/native: kernel ${kernelName} is not registered for '${backendName}'`);
  return k.kernelFunc(args as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
}

/**
 * Applies a fused op's bias and activation to `y` (NHWC, channels last, `C` channels).
 * Per-channel bias with linear or relu runs natively in place; anything else goes through the
 * registered Add and activation kernels, as tfjs's cpu fused kernels do.
 */
export function biasAndActivation(
  addon: NativeAddon,
  backendName: string,
  backend: MathBackendCPU,
  y: tf.TensorInfo,
  C: number,
  bias: tf.TensorInfo | undefined,
  activation: string | undefined,
  prelu: tf.TensorInfo | undefined,
  leakyreluAlpha: number | undefined,
): tf.TensorInfo {
  const act = activation ?? 'linear';
  const yv = f32(backend, y);
  const bv = bias === undefined ? null : f32(backend, bias);
  // Per-channel: the bias broadcasts along the last axis only (shape [..1, C], rank <= y's).
  const biasPerChannel =
    bias === undefined ||
    (bv !== undefined && bv !== null && bv.length === C && bias.shape[bias.shape.length - 1] === C &&
      bias.shape.length <= y.shape.length);
  if (yv !== undefined && biasPerChannel && (act === 'linear' || act === 'relu')) {
    addon.biasAct(yv, yv.length / C, C, bv ?? null, act === 'relu' ? 1 : 0);
    return y;
  }
  let out = y;
  if (bias !== undefined) {
    const added = runRegistered('Add', backendName, { inputs: { a: out, b: bias }, backend });
    backend.disposeIntermediateTensorInfo(out);
    out = added;
  }
  const name = { relu: 'Relu', relu6: 'Relu6', elu: 'Elu', sigmoid: 'Sigmoid', leakyrelu: 'LeakyRelu', prelu: 'Prelu' }[act];
  if (act === 'linear') return out;
  if (name === undefined) throw new Error(`@lets/native: activation '${act}' is not supported (expected linear, relu, relu6, elu, sigmoid, leakyrelu, prelu)`);
  const inputs: Record<string, tf.TensorInfo> = { x: out };
  if (act === 'prelu') {
    if (prelu === undefined) throw new Error('@lets/native: prelu activation needs preluActivationWeights');
    inputs.alpha = prelu;
  }
  const activated = runRegistered(name, backendName, { inputs, backend, attrs: act === 'leakyrelu' ? { alpha: leakyreluAlpha ?? 0.2 } : {} });
  backend.disposeIntermediateTensorInfo(out);
  return activated;
}
