import { registerAvgPoolGrad } from './avg_pool_grad';
import { registerWasmBatchMatMul } from './batch_mat_mul';
import type { KernelBackendName } from './backend_access';
import { registerConv2dBackpropFilter } from './conv2d_backprop_filter';
import { registerWasmConv2dBackpropInput } from './conv2d_backprop_input';
import { registerDepthwiseBackprop } from './depthwise_backprop';
import { registerFusedAdamKernel } from './fused_adam';
import { registerMaxPool } from './max_pool';
import { registerWasmSum } from './sum';
import { registerUnsortedSegmentSum } from './unsorted_segment_sum';

export type { KernelBackendName } from './backend_access';
export { registerFusedAdamKernel, FUSED_ADAM } from './fused_adam';
export type { FusedAdamAttrs } from './fused_adam';

const done = new Set<string>();

/**
 * Registers this package's training kernels for a backend (idempotent):
 * - cpu:  Conv2DBackpropFilter (flat loop), depthwise backprops, UnsortedSegmentSum,
 *   MaxPoolGrad/MaxPoolWithArgmax (flat loops; on wasm they also fix tfjs 4.22's wrong results),
 *   AvgPoolGrad (flat loop);
 * - wasm: the same (absent from tfjs-backend-wasm) with Conv2DBackpropFilter as
 *   im2col + XNNPACK matmul, plus Conv2DBackpropInput as forward convs, BatchMatMul
 *   with explicit transposes and Sum over leading axes in one pass.
 * - cpu, wasm and native (which shares the cpu backend's storage): the fused Adam step
 *   `LetsFusedAdam` that @lets/optim's `scaleByAdam` looks up in the kernel registry.
 * Other backends are left as they are (`scaleByAdam` then composes tfjs ops).
 */
export function registerTrainingKernels(backendName: string): void {
  if (done.has(backendName)) return;
  if (backendName === 'native') {
    registerFusedAdamKernel('native', 'cpu');
    done.add(backendName);
    return;
  }
  if (backendName !== 'cpu' && backendName !== 'wasm') return;
  registerFusedAdamKernel(backendName, backendName);
  const name = backendName as KernelBackendName;
  registerConv2dBackpropFilter(name);
  registerDepthwiseBackprop(name);
  registerUnsortedSegmentSum(name);
  registerMaxPool(name);
  registerAvgPoolGrad(name);
  if (name === 'wasm') {
    registerWasmConv2dBackpropInput();
    registerWasmBatchMatMul();
    registerWasmSum();
  }
  done.add(backendName);
}
