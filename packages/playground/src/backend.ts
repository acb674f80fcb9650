/**
 * The page's tfjs backend, started by @lets/runtime's browser entry (`initRuntime`: gradients,
 * the twice-differentiable overrides, the backend, the training kernels). With 'auto' the runtime
 * takes the first of webgpu (when the browser has `navigator.gpu` and a synchronous read-back
 * works there), webgl, wasm, cpu that starts; the page imports the webgl, webgpu and wasm
 * backend packages so that all four are there to choose from.
 */
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { initRuntime, type RuntimeInfo } from '@lets/runtime';

export const BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];
export type BackendChoice = BackendName | 'auto';

export const isBackendChoice = (v: string): v is BackendChoice => v === 'auto' || (BACKENDS as readonly string[]).includes(v);

/**
 * Starts the backend and returns what the runtime reports; `wasmDir` is where the wasm binaries
 * are served (beside the bundle). A backend that cannot start fails with the runtime's
 * message (what is missing, and what to do).
 */
export async function chooseBackend(choice: BackendChoice, wasmDir: string): Promise<RuntimeInfo & { backend: BackendName }> {
  setWasmPaths(wasmDir);
  const info = await initRuntime({ backend: choice });
  if (!isBackendChoice(info.backend) || info.backend === 'auto') throw new Error(`the runtime started '${info.backend}', expected one of ${BACKENDS.join(', ')}`);
  return { ...info, backend: info.backend };
}
