/**
 * @lets/runtime — backends (auto choice), training kernels for wasm/cpu, exact second-order
 * gradients and Hessian-vector products, memory scopes and leak detection, seeded RNG, and
 * checksummed checkpoints for TensorFlow.js 4.22. Guide: docs/runtime.md; what runs in a
 * browser: docs/browser.md.
 *
 * This is the Node entry (the `node` export condition, and `@lets/runtime/node`): the
 * browser-safe core (core.ts) plus Node's backends (tensorflow, webgpu through the `webgpu`
 * package, native, wasm, cpu), gradients from the generated bundle, and checkpoint files
 * written atomically. Bundlers building for a browser get browser.ts instead.
 * @packageDocumentation
 */
export * from './core';
export { registerGradients } from './gradients';
export { initRuntime, availableBackends, BACKEND_PREFERENCE, BACKENDS } from './backend';
export { saveStateFile, loadStateFile, encodeStateFile, decodeStateFile, writeFileAtomic, writeFileAtomicSync } from './checkpoint';
export type { AtomicWriteHooks } from './checkpoint';
