import * as tf from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../addon';
import { alloc, allocZeros, BACKEND_NAME, biasAndActivation, f32, geometry, KernelArgs, NativeKernelSpec, output } from './util';

type Pad = tf.backend_util.ExplicitPadding | 'valid' | 'same' | number;
type Rounding = 'floor' | 'round' | 'ceil' | undefined;

function info(
  xShape: number[], filterShape: number[], attrs: Record<string, unknown>, dilations: unknown,
): tf.backend_util.Conv2DInfo | undefined {
  const dataFormat = (attrs.dataFormat as 'NHWC' | 'NCHW' | undefined) ?? 'NHWC';
  if (dataFormat !== 'NHWC') return undefined;
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number], filterShape as [number, number, number, number],
    attrs.strides as number | [number, number], (dilations ?? 1) as number | [number, number],
    attrs.pad as Pad, attrs.dimRoundingMode as Rounding, false, 'channelsLast');
}

/**
 * Conv2D (NHWC): y[b,i,j,o] = Σ_{r,s,c} x[b, i·sh − pt + r·dh, j·sw − pl + s·dw, c] · w[r,s,c,o],
 * as im2col + OpenBLAS sgemm, chunked over the batch. NCHW goes to the cpu kernel.
 */
export function nativeConv2D(addon: NativeAddon, args: KernelArgs): tf.TensorInfo | undefined {
  const { backend } = args;
  const x = args.inputs.x!, filter = args.inputs.filter!;
  const xv = f32(backend, x), wv = f32(backend, filter);
  const attrs = args.attrs ?? {};
  const ci = info(x.shape, filter.shape, attrs, attrs.dilations);
  if (xv === undefined || wv === undefined || ci === undefined) return undefined;
  const y = alloc(backend, tf.util.sizeFromShape(ci.outShape));
  if (y.length > 0) addon.conv2d(xv, wv, y, geometry(ci));
  return output(backend, ci.outShape, y);
}

export const conv2DSpec: NativeKernelSpec = {
  kernelName: 'Conv2D',
  make: (addon) => (args, fallback) => nativeConv2D(addon, args) ?? fallback(args as never),
};

/** _FusedConv2D: act(conv2d(x, w) + bias), NHWC natively, bias and relu in place. */
export const fusedConv2DSpec: NativeKernelSpec = {
  kernelName: 'FusedConv2D',
  make: (addon) => (args, fallback) => {
    const y = nativeConv2D(addon, { ...args, inputs: { x: args.inputs.x, filter: args.inputs.filter } });
    if (y === undefined) return fallback(args as never);
    const at = args.attrs ?? {};
    return biasAndActivation(addon, BACKEND_NAME, args.backend, y, y.shape[3]!, args.inputs.bias,
      at.activation as string | undefined, args.inputs.preluActivationWeights, at.leakyreluAlpha as number | undefined);
  },
};

/**
 * Conv2DBackpropInput: dx = the adjoint of Conv2D in x, dx[b,p,q,c] = Σ dy[b,i,j,o]·w[r,s,c,o] over
 * the (i,j,r,s) that read (p,q): sgemm dcol = dy·W^T, then col2im scatter-add.
 */
export const conv2DBackpropInputSpec: NativeKernelSpec = {
  kernelName: 'Conv2DBackpropInput',
  make: (addon) => (args, fallback) => {
    const { backend } = args;
    const dy = args.inputs.dy!, filter = args.inputs.filter!;
    const dyv = f32(backend, dy), wv = f32(backend, filter);
    const attrs = args.attrs ?? {};
    const ci = info(attrs.inputShape as number[], filter.shape, attrs, 1);
    if (dyv === undefined || wv === undefined || ci === undefined) return fallback(args as never);
    const dx = alloc(backend, tf.util.sizeFromShape(ci.inShape));
    if (dx.length > 0) addon.conv2dBackpropInput(dyv, wv, dx, geometry(ci));
    return output(backend, ci.inShape, dx);
  },
};

/** Conv2DBackpropFilter: dw[r,s,c,o] = Σ_{b,i,j} x[b, i·sh − pt + r, j·sw − pl + s, c]·dy[b,i,j,o] = col^T·dy. */
export const conv2DBackpropFilterSpec: NativeKernelSpec = {
  kernelName: 'Conv2DBackpropFilter',
  make: (addon) => (args, fallback) => {
    const { backend } = args;
    const x = args.inputs.x!, dy = args.inputs.dy!;
    const xv = f32(backend, x), dyv = f32(backend, dy);
    const attrs = args.attrs ?? {};
    const ci = info(x.shape, attrs.filterShape as number[], attrs, 1);
    if (xv === undefined || dyv === undefined || ci === undefined) return fallback(args as never);
    const dw = (x.shape[0]! > 0 ? alloc : allocZeros)(backend, tf.util.sizeFromShape(ci.filterShape));
    if (dw.length > 0 && x.shape[0]! > 0) addon.conv2dBackpropFilter(xv, dyv, dw, geometry(ci));
    return output(backend, ci.filterShape, dw);
  },
};
