/**
 * Conv2DBackpropFilter (the weight gradient of conv2d), NHWC:
 *
 *   dW[r, c, i, o] = Σ_{b, y, x} X[b, y·sh − top + r, x·sw − left + c, i] · dY[b, y, x, o]
 *
 * cpu: a flat-index loop over typed arrays (tfjs's cpu kernel reads through
 * TensorBuffer.get in its inner loop: 175 s for one 128×32×32×16→32 gradient; this: ~5 s).
 * wasm (which has no such kernel): im2col, then the wasm backend's XNNPACK matmul,
 *   dWᵀ[o, k] = Σ_n dYᵀ[o, n] · col[n, k],   col[n, (r·fw + c)·Ci + i] = X[patch n at (r, c), i],
 * in chunks of output pixels so the column buffer stays ≤ 16 M floats.
 */
import * as tf from '@tensorflow/tfjs-core';
import { access, replaceKernel, type KernelBackendName, type TensorInfo, type WasmBackendLike } from './backend_access';

interface Attrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

function convInfo(xShape: number[], a: Attrs): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number], a.filterShape, a.strides, 1, a.pad, a.dimRoundingMode, false, 'channelsLast',
  );
}

/** dW by a flat loop; skips zero inputs (ReLU activations are sparse). */
export function conv2dBackpropFilterFlat(x: ArrayLike<number>, dy: ArrayLike<number>, ci: tf.backend_util.Conv2DInfo): Float32Array {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: Ci, outHeight: OH, outWidth: OW, outChannels: Co,
    strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = ci;
  const top = ci.padInfo.top;
  const left = ci.padInfo.left;
  const dW = new Float32Array(fh * fw * Ci * Co);
  for (let b = 0; b < B; b++) {
    for (let yR = 0; yR < OH; yR++) {
      for (let yC = 0; yC < OW; yC++) {
        const dyOff = ((b * OH + yR) * OW + yC) * Co;
        for (let wR = 0; wR < fh; wR++) {
          const xR = yR * sh - top + wR;
          if (xR < 0 || xR >= H) continue;
          for (let wC = 0; wC < fw; wC++) {
            const xC = yC * sw - left + wC;
            if (xC < 0 || xC >= W) continue;
            const xOff = ((b * H + xR) * W + xC) * Ci;
            const wOff = (wR * fw + wC) * Ci * Co;
            for (let d1 = 0; d1 < Ci; d1++) {
              const xv = x[xOff + d1]!;
              if (xv === 0) continue;
              const row = wOff + d1 * Co;
              for (let d2 = 0; d2 < Co; d2++) dW[row + d2] = dW[row + d2]! + xv * dy[dyOff + d2]!;
            }
          }
        }
      }
    }
  }
  return dW;
}

let CHUNK_FLOATS = 16 * 1024 * 1024;

/** Test hook: the wasm im2col buffer size in floats (default 16 M). Returns the old value. */
export function setIm2colChunkFloats(n: number): number {
  const old = CHUNK_FLOATS;
  CHUNK_FLOATS = n;
  return old;
}

function wasmKernel(bmm: tf.KernelConfig): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const b = backend as unknown as WasmBackendLike;
    const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
    const a = attrs as unknown as Attrs;
    if (a.dataFormat === 'NCHW') throw new Error('Conv2DBackpropFilter (wasm): only NHWC is supported');
    const ci = convInfo(x.shape, a);
    const { batchSize: B, inHeight: H, inWidth: W, inChannels: Ci, outHeight: OH, outWidth: OW, outChannels: Co,
      strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = ci;
    const top = ci.padInfo.top;
    const left = ci.padInfo.left;
    const K = fh * fw * Ci;
    const P = OH * OW; // output pixels per example
    const N = B * P;
    const rowsPerChunk = Math.max(P, Math.floor(CHUNK_FLOATS / K / P) * P);
    const acc = new Float32Array(Co * K); // dWᵀ accumulated over chunks
    for (let n0 = 0; n0 < N; n0 += rowsPerChunk) {
      const n1 = Math.min(N, n0 + rowsPerChunk);
      const rows = n1 - n0;
      const colInfo = b.makeOutput([rows, K], 'float32');
      const dyTInfo = b.makeOutput([Co, rows], 'float32');
      const col = b.typedArrayFromHeap(colInfo) as Float32Array;
      const dyT = b.typedArrayFromHeap(dyTInfo) as Float32Array;
      const xV = b.typedArrayFromHeap(x) as Float32Array;
      const dyV = b.typedArrayFromHeap(dy) as Float32Array;
      for (let n = n0; n < n1; n++) {
        const bi = Math.floor(n / P);
        const p = n - bi * P;
        const yR = Math.floor(p / OW);
        const yC = p - yR * OW;
        let o = (n - n0) * K;
        for (let wR = 0; wR < fh; wR++) {
          const xR = yR * sh - top + wR;
          const rowOk = xR >= 0 && xR < H;
          for (let wC = 0; wC < fw; wC++, o += Ci) {
            const xC = yC * sw - left + wC;
            if (!rowOk || xC < 0 || xC >= W) {
              col.fill(0, o, o + Ci);
              continue;
            }
            const xOff = ((bi * H + xR) * W + xC) * Ci;
            for (let i = 0; i < Ci; i++) col[o + i] = xV[xOff + i]!;
          }
        }
        const dOff = n * Co;
        const r = n - n0;
        for (let c = 0; c < Co; c++) dyT[c * rows + r] = dyV[dOff + c]!;
      }
      const out = bmm.kernelFunc({ inputs: { a: dyTInfo, b: colInfo }, backend, attrs: { transposeA: false, transposeB: false } }) as TensorInfo;
      b.disposeData(colInfo.dataId, true);
      b.disposeData(dyTInfo.dataId, true);
      const outV = b.typedArrayFromHeap(out) as Float32Array;
      for (let i = 0; i < acc.length; i++) acc[i] = acc[i]! + outV[i]!;
      b.disposeData(out.dataId, true);
    }
    // dWᵀ [Co, K] → dW [K, Co] = [fh, fw, Ci, Co]
    const dW = new Float32Array(K * Co);
    for (let o = 0; o < Co; o++) for (let k = 0; k < K; k++) dW[k * Co + o] = acc[o * K + k]!;
    return b.makeOutput(ci.filterShape, 'float32', undefined, dW);
  };
}

export function registerConv2dBackpropFilter(backendName: KernelBackendName): void {
  if (backendName === 'wasm') {
    const bmm = tf.getKernel('BatchMatMul', 'wasm');
    if (bmm === undefined) throw new Error('registerConv2dBackpropFilter: the wasm BatchMatMul kernel is missing');
    replaceKernel('Conv2DBackpropFilter', 'wasm', wasmKernel(bmm));
    return;
  }
  const stock = tf.getKernel('Conv2DBackpropFilter', backendName);
  replaceKernel('Conv2DBackpropFilter', backendName, (args) => {
    const a = args.attrs as unknown as Attrs;
    if (a.dataFormat === 'NCHW' && stock !== undefined) return stock.kernelFunc(args);
    const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
    const io = access(backendName, args.backend);
    const ci = convInfo(x.shape, a);
    return io.output(ci.filterShape, 'float32', conv2dBackpropFilterFlat(io.read(x), io.read(dy), ci));
  });
}
