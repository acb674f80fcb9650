export { registerNativeBackend, isNativeAvailable, nativeInfo, describeNative, setNativeThreads, NativeBackend } from './backend';
export type { NativeOptions, NativeInfo } from './backend';
export { BACKEND_NAME as NATIVE_BACKEND_NAME } from './kernels';
export { fusedBiasRelu, fusedDense, fusedSoftmaxCrossEntropy } from './kernels/fused';
export type { DenseActivation } from './kernels/fused';
