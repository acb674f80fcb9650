import * as tf from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../addon';
import { alloc, allocZeros, BACKEND_NAME, biasAndActivation, f32, geometry, KernelArgs, NativeKernelSpec, output } from './util';

type Pad = tf.backend_util.ExplicitPadding | 'valid' | 'same' | number;
type Rounding = 'floor' | 'round' | 'ceil' | undefined;

function info(xShape: number[], filterShape: number[], attrs: Record<string, unknown>): tf.backend_util.Conv2DInfo | undefined {
  const dataFormat = (attrs.dataFormat as string | undefined) ?? 'NHWC';
  if (dataFormat !== 'NHWC') return undefined;
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number], filterShape as [number, number, number, number],
    attrs.strides as number | [number, number], (attrs.dilations ?? 1) as number | [number, number],
    attrs.pad as Pad, attrs.dimRoundingMode as Rounding, true, 'channelsLast');
}

/**
 * DepthwiseConv2dNative (NHWC): y[b,i,j,c·m+q] = Σ_{r,s} x[b, i·sh − pt + r·dh, j·sw − pl + s·dw, c]·w[r,s,c,q],
 * a direct loop over output rows on all threads.
 */
export function nativeDepthwise(addon: NativeAddon, args: KernelArgs): tf.TensorInfo | undefined {
  const { backend } = args;
  const x = args.inputs.x!, filter = args.inputs.filter!;
  const xv = f32(backend, x), wv = f32(backend, filter);
  const ci = info(x.shape, filter.shape, args.attrs ?? {});
  if (xv === undefined || wv === undefined || ci === undefined) return undefined;
  const y = alloc(backend, tf.util.sizeFromShape(ci.outShape));
  if (y.length > 0) addon.depthwiseConv2d(xv, wv, y, geometry(ci, filter.shape[3]));
  return output(backend, ci.outShape, y);
}

export const depthwiseSpec: NativeKernelSpec = {
  kernelName: 'DepthwiseConv2dNative',
  make: (addon) => (args, fallback) => nativeDepthwise(addon, args) ?? fallback(args as never),
};

export const fusedDepthwiseSpec: NativeKernelSpec = {
  kernelName: 'FusedDepthwiseConv2D',
  make: (addon) => (args, fallback) => {
    const y = nativeDepthwise(addon, { ...args, inputs: { x: args.inputs.x, filter: args.inputs.filter } });
    if (y === undefined) return fallback(args as never);
    const at = args.attrs ?? {};
    return biasAndActivation(addon, BACKEND_NAME, args.backend, y, y.shape[3]!, args.inputs.bias,
      at.activation as string | undefined, args.inputs.preluActivationWeights, at.leakyreluAlpha as number | undefined);
  },
};

/** DepthwiseConv2dNativeBackpropInput: dx[b,p,q,c] = Σ dy[b,i,j,c·m+k]·w[r,s,c,k] over the windows reading (p,q). */
export const depthwiseBackpropInputSpec: NativeKernelSpec = {
  kernelName: 'DepthwiseConv2dNativeBackpropInput',
  make: (addon) => (args, fallback) => {
    const { backend } = args;
    const dy = args.inputs.dy!, filter = args.inputs.filter!;
    const dyv = f32(backend, dy), wv = f32(backend, filter);
    const attrs = args.attrs ?? {};
    const ci = info(attrs.inputShape as number[], filter.shape, attrs);
    if (dyv === undefined || wv === undefined || ci === undefined) return fallback(args as never);
    const dx = alloc(backend, tf.util.sizeFromShape(ci.inShape));
    if (dx.length > 0) addon.depthwiseBackpropInput(dyv, wv, dx, geometry(ci, filter.shape[3]));
    return output(backend, ci.inShape, dx);
  },
};

/** DepthwiseConv2dNativeBackpropFilter: dw[r,s,c,k] = Σ_{b,i,j} x[b, i·sh − pt + r·dh, j·sw − pl + s·dw, c]·dy[b,i,j,c·m+k]. */
export const depthwiseBackpropFilterSpec: NativeKernelSpec = {
  kernelName: 'DepthwiseConv2dNativeBackpropFilter',
  make: (addon) => (args, fallback) => {
    const { backend } = args;
    const x = args.inputs.x!, dy = args.inputs.dy!;
    const xv = f32(backend, x), dyv = f32(backend, dy);
    const attrs = args.attrs ?? {};
    const filterShape = attrs.filterShape as number[];
    const ci = info(x.shape, filterShape, attrs);
    if (xv === undefined || dyv === undefined || ci === undefined) return fallback(args as never);
    const dw = (x.shape[0]! > 0 ? alloc : allocZeros)(backend, tf.util.sizeFromShape(filterShape));
    if (dw.length > 0 && x.shape[0]! > 0) addon.depthwiseBackpropFilter(xv, dyv, dw, geometry(ci, filterShape[3]));
    return output(backend, filterShape, dw);
  },
};
