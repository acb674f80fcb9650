/**
 * BatchMatMul with transposed operands on wasm: transpose explicitly with the wasm
 * Transpose kernel, then run the plain (XNNPACK) matmul. tfjs's wasm kernel takes a slow
 * non-XNNPACK loop whenever transposeA or transposeB is set (x^T·dy at 128×784×256: 58 ms
 * vs 4.6 ms), and every dense layer's backward pass sets one of them.
 */
import * as tf from '@tensorflow/tfjs-core';
import { replaceKernel, type TensorInfo, type WasmBackendLike } from './backend_access';

export function registerWasmBatchMatMul(): void {
  const transpose = tf.getKernel('Transpose', 'wasm');
  const stock = tf.getKernel('BatchMatMul', 'wasm');
  if (transpose === undefined || stock === undefined) throw new Error('registerWasmBatchMatMul: wasm kernels missing');
  replaceKernel('BatchMatMul', 'wasm', (args) => {
    const { inputs, backend, attrs } = args;
    const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
    if (!transposeA && !transposeB) return stock.kernelFunc(args);
    const b = backend as unknown as WasmBackendLike;
    const temps: TensorInfo[] = [];
    const tr = (t: TensorInfo): TensorInfo => {
      const r = t.shape.length;
      const perm = Array.from({ length: r }, (_, i) => i);
      perm[r - 2] = r - 1;
      perm[r - 1] = r - 2;
      const o = transpose.kernelFunc({ inputs: { x: t }, backend, attrs: { perm } }) as TensorInfo;
      temps.push(o);
      return o;
    };
    let { a, b: bb } = inputs as { a: TensorInfo; b: TensorInfo };
    if (transposeA) a = tr(a);
    if (transposeB) bb = tr(bb);
    const out = stock.kernelFunc({ inputs: { a, b: bb }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } }) as TensorInfo;
    for (const t of temps) b.disposeData(t.dataId, true);
    return out;
  });
}
