import * as os from 'os';
import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { loadAddon } from './addon';
import { BACKEND_NAME, nativeKernelSpecs } from './kernels';
import type { KernelArgs } from './kernels/util';

/**
 * The 'native' backend object: tfjs-backend-cpu's MathBackendCPU unchanged (tensors live in JS
 * typed arrays, which the addon reads and writes in place), so every kernel of the cpu backend
 * runs on it as is and only the heavy ones are replaced.
 */
export class NativeBackend extends MathBackendCPU {
  constructor() {
    super();
    // MathBackendCPU warns on first use in Node that a faster backend exists; this is it.
    (this as unknown as { firstUse: boolean }).firstUse = false;
  }
}

export interface NativeOptions {
  /**
   * Threads for OpenBLAS and the OpenMP loops. Default: `LETS_NATIVE_THREADS`, else
   * `os.availableParallelism()`.
   */
  readonly threads?: number;
  /** Backend priority for tfjs's automatic choice (default 3, above wasm's 2 and cpu's 1). */
  readonly priority?: number;
}

export interface NativeInfo {
  readonly available: boolean;
  /** Why the backend is unavailable (when it is). */
  readonly reason?: string;
  readonly threads?: number;
  /** The BLAS library's configuration string, e.g. "OpenBLAS 0.3.21 ... Haswell MAX_THREADS=64". */
  readonly blas?: string;
  /** The kernels that run natively; every other kernel is the cpu backend's. */
  readonly nativeKernels: readonly string[];
}

let registered = false;

function defaultThreads(): number {
  const env = Number(process.env.LETS_NATIVE_THREADS);
  if (Number.isInteger(env) && env >= 1) return env;
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

/** Whether the addon is built and loads here (does not register anything). */
export function isNativeAvailable(): boolean {
  return loadAddon().ok;
}

/** Availability, reason, threads and BLAS of the native backend. */
export function nativeInfo(): NativeInfo {
  const load = loadAddon();
  const nativeKernels = nativeKernelSpecs.map((s) => s.kernelName);
  if (!load.ok) return { available: false, reason: load.reason, nativeKernels };
  const i = load.addon.info();
  return { available: true, threads: i.threads, blas: i.blas, nativeKernels };
}

/** Sets the thread count of OpenBLAS and the addon's loops (1..1024). */
export function setNativeThreads(threads: number): void {
  if (!Number.isInteger(threads) || threads < 1 || threads > 1024) {
    throw new Error(`setNativeThreads: threads must be an integer in 1..1024, got ${threads}`);
  }
  const load = loadAddon();
  if (!load.ok) throw new Error(`setNativeThreads: ${load.reason}`);
  load.addon.setThreads(threads);
}

/**
 * Registers the tfjs backend 'native': every kernel of tfjs-backend-cpu is registered for it
 * too, and the heavy ones (`nativeInfo().nativeKernels`) are replaced by the addon's. Returns
 * false, registering nothing, when the addon is not built or does not load (`nativeInfo().reason`
 * says why). Idempotent. Gradients are tfjs's own (registered per kernel name, not per backend),
 * so first and second derivatives are the same functions of the same ops as on 'cpu'.
 */
export function registerNativeBackend(options: NativeOptions = {}): boolean {
  const load = loadAddon();
  if (!load.ok) return false;
  if (options.threads !== undefined) setNativeThreads(options.threads);
  if (registered) return true;
  if (options.threads === undefined) load.addon.setThreads(defaultThreads());
  const addon = load.addon;

  for (const config of tf.getKernelsForBackend('cpu')) {
    if (tf.getKernel(config.kernelName, BACKEND_NAME) === undefined) {
      tf.registerKernel({ ...config, backendName: BACKEND_NAME });
    }
  }
  for (const spec of nativeKernelSpecs) {
    const cpu = tf.getKernel(spec.kernelName, 'cpu');
    if (cpu === undefined) throw new Error(`@lets/native: tfjs-backend-cpu has no kernel ${spec.kernelName}`);
    const fallback = cpu.kernelFunc;
    const body = spec.make(addon);
    if (tf.getKernel(spec.kernelName, BACKEND_NAME) !== undefined) tf.unregisterKernel(spec.kernelName, BACKEND_NAME);
    tf.registerKernel({
      kernelName: spec.kernelName,
      backendName: BACKEND_NAME,
      kernelFunc: ((args: KernelArgs) => body(args, fallback)) as unknown as tf.KernelFunc,
    });
  }
  tf.registerBackend(BACKEND_NAME, () => new NativeBackend(), options.priority ?? 3);
  registered = true;
  return true;
}
