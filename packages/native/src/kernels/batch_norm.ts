import { alloc, f32, NativeKernelSpec, output } from './util';

/**
 * FusedBatchNorm: y = offset + (x − mean)·scale/√(variance + ε), each parameter indexed cyclically
 * over the flat x (element i uses mean[i mod |mean|]), exactly as the cpu kernel broadcasts.
 */
export const batchNormSpec: NativeKernelSpec = {
  kernelName: 'FusedBatchNorm',
  make: (addon) => (args, fallback) => {
    const { backend } = args;
    const { x, mean, variance, offset, scale } = args.inputs;
    const xv = f32(backend, x!), mv = f32(backend, mean!), vv = f32(backend, variance!);
    const ov = offset === undefined ? null : f32(backend, offset);
    const sv = scale === undefined ? null : f32(backend, scale);
    if (xv === undefined || mv === undefined || vv === undefined || ov === undefined || sv === undefined ||
      mv.length === 0 || vv.length === 0 || ov?.length === 0 || sv?.length === 0) {
      return fallback(args as never);
    }
    const eps = (args.attrs?.varianceEpsilon as number | undefined) ?? 0.001;
    const y = alloc(backend, xv.length);
    addon.batchNorm(xv, mv, vv, ov, sv, eps, y);
    return output(backend, x!.shape, y);
  },
};

