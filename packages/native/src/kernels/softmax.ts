import * as tf from '@tensorflow/tfjs-core';
import { alloc, f32, NativeKernelSpec, output } from './util';

/**
 * Softmax over the last axis of a float32 tensor, one pass per row in the addon:
 * y_k = exp(x_k − max x) / Σ_j exp(x_j − max x), with the cpu kernel's roundings (exp in double
 * rounded to float32, the sum in double) and its NaN rule (a NaN in a row makes the row NaN).
 * tfjs-core's softmax op only asks for the last axis (`dim` −1 or rank − 1); any other dim,
 * rank 0, empty tensors and non-float32 storage go to the cpu kernel, which refuses or handles
 * them exactly as on 'cpu'. The gradient is tfjs's (dy·y − y·Σ(dy·y)), from the saved output.
 */
export const softmaxSpec: NativeKernelSpec = {
  kernelName: tf.Softmax,
  make: (addon) => (args, fallback) => {
    // An addon built before this kernel existed (a stale build/) has no softmax: use cpu's.
    if (typeof addon.softmax !== 'function') return fallback(args as never);
    const { backend } = args;
    const logits = args.inputs.logits!;
    const rank = logits.shape.length;
    const dim = Number(args.attrs?.dim ?? -1);
    const xv = f32(backend, logits);
    if (xv === undefined || rank === 0 || (dim !== -1 && dim !== rank - 1) || xv.length === 0) return fallback(args as never);
    const C = logits.shape[rank - 1]!;
    const y = alloc(backend, xv.length);
    addon.softmax(xv, y, xv.length / C, C);
    return output(backend, logits.shape.slice(), y);
  },
};
