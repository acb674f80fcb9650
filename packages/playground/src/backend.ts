/**
 * The page's tfjs backend: the one asked for, or with 'auto' the first of webgpu (when the browser
 * has `navigator.gpu`), webgl, wasm, cpu that initializes. tfjs-core's gradients are registered
 * here (its browser build registers none by itself).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

export const BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];
export type BackendChoice = BackendName | 'auto';

export const isBackendChoice = (v: string): v is BackendChoice => v === 'auto' || (BACKENDS as readonly string[]).includes(v);

/** The order 'auto' tries. */
export function autoOrder(hasWebGpu: boolean): BackendName[] {
  return BACKENDS.filter((b) => b !== 'webgpu' || hasWebGpu);
}

/**
 * Whether the current backend reads a value back synchronously and keeps working afterwards.
 * SAM's and LETS's updates read a few scalars with `dataSync`; on tfjs's webgpu backend that goes
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

/**
 * Sets the backend and returns its name; `wasmDir` is where the wasm binaries are served (beside
 * the bundle). Fails naming the backends tried when none initializes.
 */
export async function chooseBackend(choice: BackendChoice, wasmDir: string): Promise<BackendName> {
  setWasmPaths(wasmDir);
  const hasWebGpu = typeof navigator !== 'undefined' && 'gpu' in navigator && !!(navigator as { gpu?: unknown }).gpu;
  const order = choice === 'auto' ? autoOrder(hasWebGpu) : [choice];
  const failed: string[] = [];
  for (const name of order) {
    let ok = false;
    try {
      ok = await tf.setBackend(name);
      if (ok) await tf.ready();
    } catch {
      ok = false;
    }
    if (ok && tf.getBackend() === name) {
      if (name !== 'webgpu' || (await readsBack())) return name;
      failed.push(`${name}: initialized, but a synchronous read-back (dataSync, which SAM's update uses) failed`);
      continue;
    }
    failed.push(`${name}: did not initialize`);
  }
  throw new Error(
    choice === 'auto'
      ? `no tfjs backend is usable in this browser (${failed.join('; ')})`
      : `backend ${failed[0]}; try ?backend=auto`,
  );
}
