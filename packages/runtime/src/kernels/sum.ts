/**
 * Sum over the leading axes on wasm (the bias gradient of every conv and dense layer:
 * Σ over batch, height and width of an NHWC tensor), as one pass:
 *
 *   out[c] = Σ_i x[i·C + c]      (accumulated in float64)
 *
 * tfjs's wasm Sum transposes the reduced axes to the end first (29 ms per MNIST CNN step
 * for two bias gradients). Other reductions go to tfjs's kernel.
 */
import * as tf from '@tensorflow/tfjs-core';
import { replaceKernel, type TensorInfo, type WasmBackendLike } from './backend_access';

export function registerWasmSum(): void {
  const stock = tf.getKernel('Sum', 'wasm');
  if (stock === undefined) throw new Error('registerWasmSum: the wasm Sum kernel is missing');
  replaceKernel('Sum', 'wasm', (args) => {
    const { inputs, backend, attrs } = args;
    const { x } = inputs as { x: TensorInfo };
    const { axis, keepDims } = attrs as unknown as { axis: number | number[]; keepDims: boolean };
    if (x.dtype !== 'float32') return stock.kernelFunc(args);
    const axes = tf.util.parseAxisParam(axis, x.shape).sort((p, q) => p - q);
    const k = axes.length;
    if (k === 0 || k >= x.shape.length || axes.some((a, i) => a !== i)) return stock.kernelFunc(args);
    const inner = x.shape.slice(k).reduce((p, q) => p * q, 1);
    const outer = x.shape.slice(0, k).reduce((p, q) => p * q, 1);
    const b = backend as unknown as WasmBackendLike;
    const acc = new Float64Array(inner);
    const xv = b.typedArrayFromHeap(x) as Float32Array;
    for (let i = 0, o = 0; i < outer; i++) for (let c = 0; c < inner; c++, o++) acc[c] = acc[c]! + xv[o]!;
    const shape = keepDims ? [...x.shape.slice(0, k).map(() => 1), ...x.shape.slice(k)] : x.shape.slice(k);
    return b.makeOutput(shape, 'float32', undefined, Float32Array.from(acc));
  });
}
