/**
 * @lets/runtime for browsers (the default export condition; `@lets/runtime/browser`): the
 * browser-safe core (core.ts) plus backend choice among webgpu, webgl, wasm and cpu
 * (backend_browser.ts), gradients from tfjs-core's ES modules, and checkpoints as bytes
 * (`encodeStateFile` → `Uint8Array` → `decodeStateFile`) for a page to store. It reaches no
 * Node built-in. What is Node-only (checkpoint files, the native addon, WebGPU through Dawn,
 * tfjs-node): docs/browser.md.
 * @packageDocumentation
 */
export * from './core';
export { registerGradients } from './gradients_browser';
export { initRuntime, availableBackends, BACKEND_PREFERENCE, BACKENDS } from './backend_browser';
export { encodeStateFile, decodeStateFile } from './checkpoint_bytes';
