import * as tf from '@tensorflow/tfjs-core';
import { registerGradients } from './gradients';
import { registerTrainingKernels } from './kernels';

export type BackendName = 'cpu' | 'wasm' | 'webgpu' | 'tensorflow';

export interface RuntimeOptions {
  /** Backend to use; defaults to the LETS_BACKEND variable, then 'cpu'. */
  readonly backend?: BackendName;
}

export interface RuntimeInfo {
  readonly backend: string;
}

/** Registers gradients and sets the backend. Safe to call more than once. */
export async function initRuntime(options: RuntimeOptions = {}): Promise<RuntimeInfo> {
  registerGradients();
  const name = options.backend ?? (process.env.LETS_BACKEND as BackendName | undefined) ?? 'cpu';
  if (name === 'cpu') await import('@tensorflow/tfjs-backend-cpu');
  else if (name === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
  else throw new Error(`initRuntime: backend '${name}' is not available yet; expected 'cpu' or 'wasm'`);
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`initRuntime: backend '${name}' failed to initialize`);
  await tf.ready();
  registerTrainingKernels(name);
  return { backend: tf.getBackend() };
}
