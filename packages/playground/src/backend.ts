/**
 * The page's tfjs backend, started by @lets/runtime's browser entry (`initRuntime`: gradients,
 * the twice-differentiable overrides, the backend, the training kernels): the one asked for, or
 * with 'auto' the first of webgpu (when the browser has `navigator.gpu`), webgl, wasm, cpu that
 * starts and — for webgpu — also reads values back (see `readsBack`).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { initRuntime, type RuntimeInfo } from '@lets/runtime';

export const BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];
export type BackendChoice = BackendName | 'auto';

export const isBackendChoice = (v: string): v is BackendChoice => v === 'auto' || (BACKENDS as readonly string[]).includes(v);

/**
 * Whether the current backend reads a value back synchronously and keeps working afterwards.
 * LETS's update reads a few scalars every step with `dataSync` (its guards' loss and cosine, the
 * hypergradient's dot products); on tfjs's webgpu backend that goes
 * through an OffscreenCanvas copy, which loses the device in headless Chromium on SwiftShader
 * ("A valid external Instance reference no longer exists"), so webgpu is checked before use.
 */
export async function readsBack(): Promise<boolean> {
  const made: tf.Tensor[] = [];
  try {
    const a = tf.tensor1d([1, 2, 3, 4]);
    const s = tf.sum(a);
    made.push(a, s);
    const sync = s.dataSync()[0];
    const b = tf.add(a, 1);
    made.push(b);
    const after = await b.data();
    return sync === 10 && after[3] === 5;
  } catch {
    return false;
  } finally {
    tf.dispose(made);
  }
}

const firstLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0]!;

/**
 * Starts the backend and returns what the runtime reports; `wasmDir` is where the wasm binaries
 * are served (beside the bundle). Fails naming each backend tried and why it was not used.
 */
export async function chooseBackend(choice: BackendChoice, wasmDir: string): Promise<RuntimeInfo & { backend: BackendName }> {
  setWasmPaths(wasmDir);
  const hasWebGpu = typeof navigator !== 'undefined' && !!(navigator as { gpu?: unknown }).gpu;
  const order = choice === 'auto' ? BACKENDS.filter((b) => b !== 'webgpu' || hasWebGpu) : [choice];
  const failed: string[] = [];
  for (const name of order) {
    try {
      const info = await initRuntime({ backend: name });
      if (name === 'webgpu' && !(await readsBack())) {
        failed.push(`${name}: it started, but a synchronous read-back (dataSync, which LETS's update uses) failed`);
        continue;
      }
      return { ...info, backend: name };
    } catch (e) {
      failed.push(firstLine(e));
    }
  }
  throw new Error(
    choice === 'auto' ? `no tfjs backend is usable in this browser (${failed.join('; ')})` : `${failed[0]}; try ?backend=auto`,
  );
}
