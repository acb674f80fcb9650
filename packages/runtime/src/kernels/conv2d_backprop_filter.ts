/**
 * Conv2DBackpropFilter (the weight gradient of conv2d), NHWC:
 *
 *   dW[r, c, i, o] = Σ_{b, y, x} X[b, y·sh − top + r, x·sw − left + c, i] · dY[b, y, x, o]
 *
 * cpu: a flat-index loop over typed arrays (tfjs's cpu kernel reads through
 * TensorBuffer.get in its inner loop: 175 s for one 128×32×32×16→32 gradient; this: ~5 s).
 * wasm (which has no such kernel): im2col, then the wasm backend's XNNPACK matmul,
 *   dW[k, o] = Σ_n colᵀ[k, n] · dY[n, o],   colᵀ[(r·fw + c)·Ci + i, n] = X[patch n at (r, c), i],
 * in chunks of whole examples so the column buffer stays ≤ 32 M floats (128 MB).
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

let CHUNK_FLOATS = 32 * 1024 * 1024;

/** Test hook: the wasm im2col buffer size in floats (default 32 M). Returns the old value. */
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
    const bPerChunk = Math.max(1, Math.floor(CHUNK_FLOATS / K / P));
    const single = bPerChunk >= B;
    const acc = single ? undefined : new Float32Array(K * Co);
    let result: TensorInfo | undefined;
    for (let b0 = 0; b0 < B; b0 += bPerChunk) {
      const b1 = Math.min(B, b0 + bPerChunk);
      const rows = (b1 - b0) * P;
      // colT[k, n] = X at tap k of output pixel n: written k-major so the matmul
      // colT[K, rows] · dY[rows, Co] needs no transposed operand (XNNPACK path).
      const colInfo = b.makeOutput([K, rows], 'float32');
      let dyInfo: TensorInfo = { dataId: dy.dataId, shape: [rows, Co], dtype: 'float32' };
      const temps = [colInfo];
      if (!single) {
        dyInfo = b.makeOutput([rows, Co], 'float32');
        temps.push(dyInfo);
        const dyV = b.typedArrayFromHeap(dy) as Float32Array;
        (b.typedArrayFromHeap(dyInfo) as Float32Array).set(dyV.subarray(b0 * P * Co, b1 * P * Co));
      }
      const col = b.typedArrayFromHeap(colInfo) as Float32Array;
      const xV = b.typedArrayFromHeap(x) as Float32Array;
      for (let wR = 0; wR < fh; wR++)
        for (let wC = 0; wC < fw; wC++) {
          // output columns whose input column x = yC·sw − left + wC lies inside the image
          const lo = Math.min(OW, Math.max(0, Math.ceil((left - wC) / sw)));
          const hi = Math.max(lo, Math.min(OW, Math.floor((W - 1 + left - wC) / sw) + 1));
          const step = sw * Ci;
          for (let d = 0; d < Ci; d++) {
            let o = ((wR * fw + wC) * Ci + d) * rows;
            for (let bi = b0; bi < b1; bi++)
              for (let yR = 0; yR < OH; yR++) {
                const xR = yR * sh - top + wR;
                if (xR < 0 || xR >= H) {
                  col.fill(0, o, o + OW);
                  o += OW;
                  continue;
                }
                for (let yC = 0; yC < lo; yC++) col[o++] = 0;
                let idx = ((bi * H + xR) * W + lo * sw - left + wC) * Ci + d;
                for (let yC = lo; yC < hi; yC++, idx += step) col[o++] = xV[idx]!;
                for (let yC = hi; yC < OW; yC++) col[o++] = 0;
              }
          }
        }
      const out = bmm.kernelFunc({ inputs: { a: colInfo, b: dyInfo }, backend, attrs: { transposeA: false, transposeB: false } }) as TensorInfo;
      for (const t of temps) b.disposeData(t.dataId, true);
      if (single) {
        result = b.makeOutput(ci.filterShape, 'float32', undefined, (b.typedArrayFromHeap(out) as Float32Array).slice());
      } else {
        const outV = b.typedArrayFromHeap(out) as Float32Array;
        for (let i = 0; i < acc!.length; i++) acc![i] = acc![i]! + outV[i]!;
      }
      b.disposeData(out.dataId, true);
    }
    return result ?? b.makeOutput(ci.filterShape, 'float32', undefined, acc!);
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
