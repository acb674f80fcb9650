/**
 * Depthwise-convolution gradients as flat loops over typed arrays (NHWC, filter
 * [fh, fw, C, m], output channel c·m + q). wasm has neither kernel; cpu's read through
 * TensorBuffer.get.
 *
 *   dW[r, s, c, q] = Σ_{b,y,x} X[b, y·sh − top + r·dh, x·sw − left + s·dw, c] · dY[b, y, x, c·m + q]
 *   dX[b, i, j, c] = Σ over (y, x, r, s) with i = y·sh − top + r·dh, j = x·sw − left + s·dw of
 *                    Σ_q dY[b, y, x, c·m + q] · W[r, s, c, q]
 */
import * as tf from '@tensorflow/tfjs-core';
import { access, replaceKernel, type KernelBackendName, type TensorInfo } from './backend_access';

interface Attrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dilations?: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape?: [number, number, number, number];
  inputShape?: [number, number, number, number];
}

function info(xShape: number[], fShape: number[], a: Attrs): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number], fShape as [number, number, number, number], a.strides, a.dilations ?? 1, a.pad,
    a.dimRoundingMode, true,
  );
}

function loop(
  ci: tf.backend_util.Conv2DInfo,
  visit: (xOff: number, dyOff: number, wOff: number, C: number, m: number) => void,
): void {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, outChannels: Co,
    strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw, filterHeight: fh, filterWidth: fw } = ci;
  const m = Co / C;
  const top = ci.padInfo.top;
  const left = ci.padInfo.left;
  for (let b = 0; b < B; b++)
    for (let y = 0; y < OH; y++)
      for (let x = 0; x < OW; x++) {
        const dyOff = ((b * OH + y) * OW + x) * Co;
        for (let r = 0; r < fh; r++) {
          const i = y * sh - top + r * dh;
          if (i < 0 || i >= H) continue;
          for (let s = 0; s < fw; s++) {
            const j = x * sw - left + s * dw;
            if (j < 0 || j >= W) continue;
            visit(((b * H + i) * W + j) * C, dyOff, (r * fw + s) * C * m, C, m);
          }
        }
      }
}

export function depthwiseBackpropFilter(x: ArrayLike<number>, dy: ArrayLike<number>, ci: tf.backend_util.Conv2DInfo): Float32Array {
  const dW = new Float32Array(ci.filterHeight * ci.filterWidth * ci.outChannels);
  loop(ci, (xOff, dyOff, wOff, C, m) => {
    for (let c = 0; c < C; c++) {
      const xv = x[xOff + c]!;
      for (let q = 0; q < m; q++) dW[wOff + c * m + q] = dW[wOff + c * m + q]! + xv * dy[dyOff + c * m + q]!;
    }
  });
  return dW;
}

export function depthwiseBackpropInput(dy: ArrayLike<number>, w: ArrayLike<number>, ci: tf.backend_util.Conv2DInfo): Float32Array {
  const dX = new Float32Array(ci.batchSize * ci.inHeight * ci.inWidth * ci.inChannels);
  loop(ci, (xOff, dyOff, wOff, C, m) => {
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let q = 0; q < m; q++) s += dy[dyOff + c * m + q]! * w[wOff + c * m + q]!;
      dX[xOff + c] = dX[xOff + c]! + s;
    }
  });
  return dX;
}

export function registerDepthwiseBackprop(backendName: KernelBackendName): void {
  replaceKernel('DepthwiseConv2dNativeBackpropFilter', backendName, ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
    const a = attrs as unknown as Attrs;
    const io = access(backendName, backend);
    const ci = info(x.shape, a.filterShape!, a);
    return io.output(a.filterShape!, 'float32', depthwiseBackpropFilter(io.read(x), io.read(dy), ci));
  });
  replaceKernel('DepthwiseConv2dNativeBackpropInput', backendName, ({ inputs, backend, attrs }) => {
    const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
    const a = attrs as unknown as Attrs;
    const io = access(backendName, backend);
    const ci = info(a.inputShape!, filter.shape, a);
    return io.output(a.inputShape!, 'float32', depthwiseBackpropInput(io.read(dy), io.read(filter), ci));
  });
}
