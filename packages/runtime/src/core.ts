/**
 * The exports of @lets/runtime that are the same in Node and in a browser (none of them
 * reaches a Node built-in). The two entries add what differs: index.ts (Node: backends
 * tensorflow/webgpu-through-Dawn/native/wasm/cpu, gradients from the generated bundle,
 * checkpoint files) and browser.ts (webgpu/webgl/wasm/cpu, gradients from tfjs's ES modules).
 * A new browser-safe export goes here, so both entries have it.
 */
export { registerTrainingKernels, registerFusedAdamKernel, FUSED_ADAM } from './kernels';
export type { FusedAdamAttrs } from './kernels';
export { registerSecondOrderGradients } from './grads';
export { describeRuntime, BackendUnavailableError } from './backend_core';
export type { BackendName, BackendEntry, RuntimeOptions, RuntimeInfo } from './backend_core';
export { softmaxCrossEntropy, logSoftmax } from './losses';
export { batchNormOp } from './batch_norm';
export { hvp, valueGradHvp, assertTwiceDifferentiable } from './hvp';
export type { TensorTree, ValueGradHvp } from './hvp';
export { Rng } from './rng';
export type { RngState } from './rng';
export * as random from './keys';
export type { Key } from './keys';
export { stepScope, stepScopeSync, tensorsIn, countLeaks, expectNoLeak } from './memory';
export type { StepScopeOptions, LeakReport } from './memory';
