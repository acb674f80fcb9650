import * as tf from '@tensorflow/tfjs-core';
import { alloc, NativeKernelSpec, output } from './util';

/** The most axes the addon's transpose takes; higher ranks go to the cpu kernel. */
const MAX_RANK = 16;

/**
 * Transpose of a float32 or int32 tensor as a strided copy in the addon (size-1 axes dropped,
 * axes that stay adjacent merged, tiles where the output's last axis is strided in the input),
 * on all threads; exact, like the cpu kernel. Other dtypes (bool, complex64, string) and ranks
 * above 16 go to the cpu kernel. A `perm` that is not a permutation of 0..rank−1 is refused
 * with an error naming it (tfjs-core's transpose op checks this too; the kernel can be reached
 * without it through `runKernel`).
 */
export const transposeSpec: NativeKernelSpec = {
  kernelName: tf.Transpose,
  make: (addon) => (args, fallback) => {
    const { backend } = args;
    const x = args.inputs.x!;
    const rank = x.shape.length;
    const given = args.attrs?.perm as ArrayLike<number> | undefined;
    const perm = given === undefined ? [] : Array.from(given);
    if (perm.length !== rank || new Set(perm).size !== rank ||
      !perm.every((p) => Number.isInteger(p) && p >= 0 && p < rank)) {
      throw new Error(`@lets/native: Transpose perm [${String(perm)}] is not a permutation of 0..${rank - 1} for a tensor of shape [${x.shape}]`);
    }
    // An addon built before this kernel existed (a stale build/) has no transpose: use cpu's.
    if (typeof addon.transpose !== 'function' || rank > MAX_RANK || (x.dtype !== 'float32' && x.dtype !== 'int32')) {
      return fallback(args as never);
    }
    const values = backend.data.get(x.dataId).values;
    const isF32 = x.dtype === 'float32' && values instanceof Float32Array;
    const isI32 = x.dtype === 'int32' && values instanceof Int32Array;
    if (!isF32 && !isI32) return fallback(args as never);
    const outShape = perm.map((p) => x.shape[p]!);
    const shape = Int32Array.from(x.shape), p32 = Int32Array.from(perm);
    if (isF32) {
      const y = alloc(backend, values.length);
      addon.transpose(values, y, shape, p32);
      return output(backend, outShape, y);
    }
    const y = new Int32Array(values.length);
    addon.transpose(values, y, shape, p32);
    return backend.makeTensorInfo(outShape, 'int32', y);
  },
};
