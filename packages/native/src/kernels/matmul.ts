import * as tf from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../addon';
import { alloc, BACKEND_NAME, biasAndActivation, f32, KernelArgs, NativeKernelSpec, output } from './util';

/**
 * BatchMatMul: out[i] = op(a[i mod batchA]) · op(b[i mod batchB]) with op = transpose when
 * transposeA/transposeB, through OpenBLAS sgemm (which reads transposed operands in place, so
 * the backward pass's x^T·dy and dy·W^T need no copies). Batch broadcasting follows the cpu
 * kernel (one side's batch 1, or equal); other layouts and non-float32 go to the cpu kernel.
 */
export function nativeBatchMatMul(addon: NativeAddon, args: KernelArgs): tf.TensorInfo | undefined {
  const { backend } = args;
  const a = args.inputs.a!, b = args.inputs.b!;
  const transposeA = Boolean(args.attrs?.transposeA), transposeB = Boolean(args.attrs?.transposeB);
  const av = f32(backend, a), bv = f32(backend, b);
  if (av === undefined || bv === undefined || a.shape.length < 2 || b.shape.length < 2) return undefined;
  const aR = a.shape.length, bR = b.shape.length;
  const K = transposeA ? a.shape[aR - 2]! : a.shape[aR - 1]!;
  const kB = transposeB ? b.shape[bR - 1]! : b.shape[bR - 2]!;
  const M = transposeA ? a.shape[aR - 1]! : a.shape[aR - 2]!;
  const N = transposeB ? b.shape[bR - 2]! : b.shape[bR - 1]!;
  if (K !== kB) {
    throw new Error(`Error in matMul: inner shapes (${K}) and (${kB}) of Tensors with shapes ${a.shape} and ${b.shape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`);
  }
  const outer = tf.backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const batchA = tf.util.sizeFromShape(a.shape.slice(0, -2));
  const batchB = tf.util.sizeFromShape(b.shape.slice(0, -2));
  const batch = tf.util.sizeFromShape(outer);
  if ((batchA !== batch && batchA !== 1) || (batchB !== batch && batchB !== 1)) return undefined;
  const out = alloc(backend, batch * M * N);
  addon.gemm(av, bv, out, batch, batchA, batchB, M, N, K, transposeA, transposeB);
  return output(backend, [...outer, M, N], out);
}

export const batchMatMulSpec: NativeKernelSpec = {
  kernelName: 'BatchMatMul',
  make: (addon) => (args, fallback) => nativeBatchMatMul(addon, args) ?? fallback(args as never),
};

/** _FusedMatMul: act(op(a)·op(b) + bias), the product natively, bias and relu in place. */
export const fusedMatMulSpec: NativeKernelSpec = {
  kernelName: '_FusedMatMul',
  make: (addon) => (args, fallback) => {
    const y = nativeBatchMatMul(addon, { ...args, inputs: { a: args.inputs.a, b: args.inputs.b } });
    if (y === undefined) return fallback(args as never);
    const at = args.attrs ?? {};
    return biasAndActivation(addon, BACKEND_NAME, args.backend, y, y.shape[y.shape.length - 1]!, args.inputs.bias,
      at.activation as string | undefined, args.inputs.preluActivationWeights, at.leakyreluAlpha as number | undefined);
  },
};
