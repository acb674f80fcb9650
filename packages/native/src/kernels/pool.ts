import * as tf from '@tensorflow/tfjs-core';
import { alloc, f32, geometry, NativeKernelSpec, output } from './util';

type Pad = tf.backend_util.ExplicitPadding | 'valid' | 'same' | number;
type Rounding = 'floor' | 'round' | 'ceil' | undefined;

function poolInfo(xShape: number[], attrs: Record<string, unknown>): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computePool2DInfo(
    xShape as [number, number, number, number], attrs.filterSize as number | [number, number],
    attrs.strides as number | [number, number], 1, attrs.pad as Pad, attrs.dimRoundingMode as Rounding);
}

function poolSpec(kernelName: 'AvgPool' | 'MaxPool'): NativeKernelSpec {
  const isMax = kernelName === 'MaxPool';
  return {
    kernelName,
    make: (addon) => (args, fallback) => {
      const { backend } = args;
      const x = args.inputs.x!;
      const xv = f32(backend, x);
      if (xv === undefined || x.shape.length !== 4) return fallback(args as never);
      const ci = poolInfo(x.shape, args.attrs ?? {});
      const y = alloc(backend, tf.util.sizeFromShape(ci.outShape));
      if (y.length > 0) addon.pool(xv, y, geometry(ci), isMax);
      return output(backend, ci.outShape, y);
    },
  };
}

/** AvgPool (NHWC): the mean of the in-bounds inputs of each window (padding not counted), as tfjs. */
export const avgPoolSpec = poolSpec('AvgPool');
/** MaxPool (NHWC): the maximum of the in-bounds inputs of each window. */
export const maxPoolSpec = poolSpec('MaxPool');

/**
 * AvgPoolGrad: the exact adjoint of AvgPool, dx[b,p,q,c] = Σ over windows o containing (p,q) of
 * dy[o]/n(o), n(o) = the window's in-image cells. Where no padding cuts a window this is
 * tfjs's dy/(fh·fw); where 'same' padding does, tfjs's cpu and wasm kernels divide by fh·fw and
 * so are not the gradient of their own forward pass (@lets/runtime's kernels correct this too).
 */
export const avgPoolGradSpec: NativeKernelSpec = {
  kernelName: 'AvgPoolGrad',
  make: (addon) => (args, fallback) => {
    const { backend } = args;
    const dy = args.inputs.dy!, x = args.inputs.input!;
    const dyv = f32(backend, dy);
    if (dyv === undefined || x.dtype !== 'float32' || x.shape.length !== 4) return fallback(args as never);
    const ci = poolInfo(x.shape, args.attrs ?? {});
    const dx = alloc(backend, tf.util.sizeFromShape(x.shape));
    if (dx.length > 0) addon.avgPoolGrad(dyv, dx, geometry(ci));
    return output(backend, x.shape, dx);
  },
};

/** MaxPoolGrad: dy routed to the first maximum of each window (the position MaxPool took). */
export const maxPoolGradSpec: NativeKernelSpec = {
  kernelName: 'MaxPoolGrad',
  make: (addon) => (args, fallback) => {
    const { backend } = args;
    const dy = args.inputs.dy!, x = args.inputs.input!;
    const dyv = f32(backend, dy), xv = f32(backend, x);
    if (dyv === undefined || xv === undefined || x.shape.length !== 4) return fallback(args as never);
    const ci = poolInfo(x.shape, args.attrs ?? {});
    const dx = alloc(backend, tf.util.sizeFromShape(x.shape));
    if (dx.length > 0) addon.maxPoolGrad(dyv, xv, dx, geometry(ci));
    return output(backend, x.shape, dx);
  },
};
