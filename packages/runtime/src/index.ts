/**
 * @lets/runtime — backends (auto choice), training kernels for wasm/cpu, exact second-order
 * gradients and Hessian-vector products, memory scopes and leak detection, seeded RNG, and
 * atomic checksummed checkpoints for TensorFlow.js 4.22 in Node. Guide: docs/runtime.md.
 * @packageDocumentation
 */
export { registerGradients } from './gradients';
export { registerTrainingKernels } from './kernels';
export { registerSecondOrderGradients } from './grads';
export { initRuntime, describe, describe as describeRuntime, availableBackends, BACKEND_PREFERENCE, BackendUnavailableError } from './backend';
export type { BackendName, RuntimeOptions, RuntimeInfo } from './backend';
export { softmaxCrossEntropy, logSoftmax } from './losses';
export { batchNorm } from './batch_norm';
export { hvp, valueGradHvp, assertTwiceDifferentiable } from './hvp';
export type { TensorTree, ValueGradHvp } from './hvp';
export { Rng } from './rng';
export type { RngState } from './rng';
export * as random from './keys';
export type { Key } from './keys';
export { stepScope, stepScopeSync, tensorsIn, countLeaks, expectNoLeak } from './memory';
export type { StepScopeOptions, LeakReport } from './memory';
export { saveCheckpoint, loadCheckpoint, encodeCheckpoint, decodeCheckpoint, writeFileAtomic, writeFileAtomicSync } from './checkpoint';
export type { AtomicWriteHooks } from './checkpoint';
