/**
 * MaxPoolGrad and MaxPoolWithArgmax as flat loops sharing one argmax rule: the first
 * window element (row-major, padding skipped) holding the window's maximum, as in tfjs's
 * cpu kernels. Registered for wasm, whose kernels are wrong in 4.22 when a window is
 * all-equal (e.g. ReLU zeros): its MaxPoolWithArgmax returns an index outside the window
 * and its MaxPoolGrad loses gradient mass with several channels. Also used on cpu, where
 * the stock kernels read through TensorBuffer.get.
 *
 *   MaxPoolGrad:       dX[argmax(o)] += dY[o]          for every output position o
 *   MaxPoolWithArgmax: (max over window, ((b·H + i)·W + j)·C + c  [+ batch, if asked])
 */
import * as tf from '@tensorflow/tfjs-core';
import { access, replaceKernel, type KernelBackendName, type TensorInfo } from './backend_access';

interface Attrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'valid' | 'same' | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  includeBatchInIndex?: boolean;
}

/** For each output element, the flat index into x (batch included) of its window's first maximum. */
export function maxPoolArgmax(x: ArrayLike<number>, info: tf.backend_util.Conv2DInfo): { max: Float32Array; arg: Int32Array } {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW,
    strideHeight: sh, strideWidth: sw, effectiveFilterHeight: fh, effectiveFilterWidth: fw,
    dilationHeight: dh, dilationWidth: dw } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const n = B * OH * OW * C;
  const max = new Float32Array(n);
  const arg = new Int32Array(n);
  let o = 0;
  for (let b = 0; b < B; b++)
    for (let y = 0; y < OH; y++)
      for (let xo = 0; xo < OW; xo++)
        for (let c = 0; c < C; c++, o++) {
          let best = -Infinity;
          let at = -1;
          for (let r = 0; r < fh; r += dh) {
            const i = y * sh - top + r;
            if (i < 0 || i >= H) continue;
            for (let s = 0; s < fw; s += dw) {
              const j = xo * sw - left + s;
              if (j < 0 || j >= W) continue;
              const idx = ((b * H + i) * W + j) * C + c;
              const v = x[idx]!;
              if (v > best || at < 0) {
                best = v;
                at = idx;
              }
            }
          }
          max[o] = best;
          arg[o] = at;
        }
  return { max, arg };
}

function poolInfo(xShape: number[], a: Attrs): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computePool2DInfo(
    xShape as [number, number, number, number], a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode,
  );
}

export function registerMaxPool(backendName: KernelBackendName): void {
  replaceKernel('MaxPoolGrad', backendName, ({ inputs, backend, attrs }) => {
    const { dy, input } = inputs as { dy: TensorInfo; input: TensorInfo };
    const io = access(backendName, backend);
    const info = poolInfo(input.shape, attrs as unknown as Attrs);
    const { arg } = maxPoolArgmax(io.read(input), info);
    const { info: out, view: dx } = io.zeros(input.shape);
    const dyV = io.read(dy);
    for (let o = 0; o < arg.length; o++) {
      const at = arg[o]!;
      if (at >= 0) dx[at] = dx[at]! + dyV[o]!;
    }
    return out;
  });
  replaceKernel('MaxPoolWithArgmax', backendName, ({ inputs, backend, attrs }) => {
    const { x } = inputs as { x: TensorInfo };
    const a = attrs as unknown as Attrs;
    const io = access(backendName, backend);
    const info = poolInfo(x.shape, a);
    const { max, arg } = maxPoolArgmax(io.read(x), info);
    if (!a.includeBatchInIndex) {
      const perBatch = info.inHeight * info.inWidth * info.inChannels;
      for (let o = 0; o < arg.length; o++) arg[o] = arg[o]! % perBatch;
    }
    const outShape = [info.batchSize, info.outHeight, info.outWidth, info.inChannels];
    return [io.output(outShape, 'float32', max), io.output(outShape, 'int32', arg)];
  });
}
