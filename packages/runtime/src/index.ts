export { registerGradients } from './gradients';
export { initRuntime, describe, availableBackends, BACKEND_PREFERENCE, BackendUnavailableError } from './backend';
export type { BackendName, RuntimeOptions, RuntimeInfo } from './backend';
export { softmaxCrossEntropy, logSoftmax } from './losses';
export { batchNorm } from './batch_norm';
export { hvp, assertTwiceDifferentiable } from './hvp';
export type { TensorTree } from './hvp';
export { Rng } from './rng';
export type { RngState } from './rng';
