export { registerGradients } from './gradients';
export { initRuntime } from './backend';
export type { BackendName, RuntimeOptions, RuntimeInfo } from './backend';
