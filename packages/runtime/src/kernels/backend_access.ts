/**
 * Minimal, typed access to the cpu and wasm backends' tensor memory for hand-written
 * kernels: read an input as a typed array (a view on the wasm heap, or the cpu backend's
 * own array: no copy) and make an output from a typed array.
 */
import * as tf from '@tensorflow/tfjs-core';

export type TensorInfo = tf.TensorInfo;

export interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number, values?: ArrayLike<number>): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: object, force?: boolean): boolean;
}

interface CpuBackendLike {
  data: { get(dataId: object): { values?: ArrayLike<number> } };
  readSync(dataId: object): ArrayLike<number>;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: ArrayLike<number>): TensorInfo;
}

export type KernelBackendName = 'cpu' | 'wasm';

export interface Access {
  /** The input's values; for wasm a view on the heap, invalid after any heap allocation. */
  read(t: TensorInfo): ArrayLike<number> & { length: number };
  /** A new output tensor holding `values`. */
  output(shape: number[], dtype: tf.DataType, values: ArrayLike<number>): TensorInfo;
  /**
   * A new zero-filled float32 output and a writable view of it (on wasm, in the heap: no
   * copy; read inputs only after this call, since allocation can move the heap).
   */
  zeros(shape: number[]): { info: TensorInfo; view: Float32Array };
}

export function access(backendName: KernelBackendName, backend: unknown): Access {
  if (backendName === 'wasm') {
    const b = backend as WasmBackendLike;
    return {
      read: (t) => b.typedArrayFromHeap(t),
      output: (shape, dtype, values) => b.makeOutput(shape, dtype, undefined, values),
      zeros: (shape) => {
        const info = b.makeOutput(shape, 'float32');
        const view = b.typedArrayFromHeap(info) as Float32Array;
        view.fill(0);
        return { info, view };
      },
    };
  }
  const b = backend as CpuBackendLike;
  return {
    read: (t) => {
      const v = b.data.get(t.dataId).values;
      return (v ?? b.readSync(t.dataId)) as ArrayLike<number> & { length: number };
    },
    output: (shape, dtype, values) => b.makeTensorInfo(shape, dtype, values),
    zeros: (shape) => {
      const view = new Float32Array(shape.reduce((p, q) => p * q, 1));
      return { info: b.makeTensorInfo(shape, 'float32', view), view };
    },
  };
}

/**
 * Registers `kernelFunc` for (kernelName, backendName), replacing an existing kernel.
 * Returns the kernel it replaced (for delegation), if any.
 */
export function replaceKernel(
  kernelName: string,
  backendName: string,
  kernelFunc: tf.KernelFunc,
): tf.KernelConfig | undefined {
  const previous = tf.getKernel(kernelName, backendName);
  if (previous !== undefined) tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel({ kernelName, backendName, kernelFunc });
  return previous;
}
