import type { NativeKernelSpec } from './util';
import { batchMatMulSpec, fusedMatMulSpec } from './matmul';
import { conv2DBackpropFilterSpec, conv2DBackpropInputSpec, conv2DSpec, fusedConv2DSpec } from './conv2d';
import { depthwiseBackpropFilterSpec, depthwiseBackpropInputSpec, depthwiseSpec, fusedDepthwiseSpec } from './depthwise';
import { avgPoolGradSpec, avgPoolSpec, maxPoolGradSpec, maxPoolSpec } from './pool';
import { batchNormSpec } from './batch_norm';
import { unsortedSegmentSumSpec } from './segment_sum';
import { softmaxSpec } from './softmax';
import { transposeSpec } from './transpose';
import { addSpec, meanSpec, multiplySpec, realDivSpec, reluSpec, squaredDifferenceSpec, stepSpec, subSpec, sumSpec } from './elementwise';

/** Every kernel the native backend overrides; the rest are the cpu backend's. */
export const nativeKernelSpecs: readonly NativeKernelSpec[] = [
  batchMatMulSpec, fusedMatMulSpec,
  conv2DSpec, fusedConv2DSpec, conv2DBackpropInputSpec, conv2DBackpropFilterSpec,
  depthwiseSpec, fusedDepthwiseSpec, depthwiseBackpropInputSpec, depthwiseBackpropFilterSpec,
  avgPoolSpec, maxPoolSpec, avgPoolGradSpec, maxPoolGradSpec,
  batchNormSpec,
  addSpec, subSpec, multiplySpec, realDivSpec, squaredDifferenceSpec, reluSpec, stepSpec, sumSpec, meanSpec,
  unsortedSegmentSumSpec,
  softmaxSpec, transposeSpec,
];

export { BACKEND_NAME } from './util';
export type { NativeKernelSpec } from './util';
