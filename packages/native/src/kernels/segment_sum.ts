import * as tf from '@tensorflow/tfjs-core';
import { allocZeros, f32, NativeKernelSpec, output } from './util';

/**
 * UnsortedSegmentSum (the gradient of gather, i.e. of embeddings): out[s] = Σ_{i: ids[i] = s} x[i]
 * for 1-D int32 ids, ids outside [0, numSegments) dropped, as in tfjs. One pass over x (the cpu
 * kernel makes numSegments whole-tensor passes: over a minute for a 1000-row table). Plain
 * JavaScript: it is memory-bound and needs no threads.
 */
export const unsortedSegmentSumSpec: NativeKernelSpec = {
  kernelName: 'UnsortedSegmentSum',
  make: () => (args, fallback) => {
    const { backend } = args;
    const x = args.inputs.x!, ids = args.inputs.segmentIds!;
    const xv = f32(backend, x);
    const numSegments = Number(args.attrs?.numSegments);
    if (xv === undefined || ids.dtype !== 'int32' || ids.shape.length !== 1 || x.shape.length < 1 ||
      ids.shape[0] !== x.shape[0] || !Number.isInteger(numSegments) || numSegments < 0) {
      return fallback(args as never);
    }
    const idv = backend.data.get(ids.dataId).values as Int32Array;
    const inner = tf.util.sizeFromShape(x.shape.slice(1));
    const out = allocZeros(backend, numSegments * inner);
    for (let i = 0; i < idv.length; i++) {
      const s = idv[i]!;
      if (s < 0 || s >= numSegments) continue;
      const src = i * inner, dst = s * inner;
      for (let k = 0; k < inner; k++) out[dst + k]! += xv[src + k]!;
    }
    return output(backend, [numSegments, ...x.shape.slice(1)], out);
  },
};
