/**
 * Backend registry: starts a tfjs backend, fastest available first, and prepares it for
 * training (gradients, twice-differentiable overrides, training kernels).
 *
 * Order for 'auto': tensorflow (tfjs-node-gpu / tfjs-node, only if the user installed one)
 * → webgpu (the `webgpu` package + @tensorflow/tfjs-backend-webgpu, with a real GPU
 * adapter) → native (@lets/native: a C++ Node addon with its own GEMM, when it was built) → wasm
 * (SIMD; the default on a fresh machine without the addon) → cpu. `LETS_BACKEND` overrides
 * the choice; asking for a backend that cannot start throws, naming what is missing and how
 * to install it. WebGPU on a machine without a GPU (Dawn's OpenGL ES backend on Mesa
 * llvmpipe) is opt-in: `{ webgpu: { software: true } }`, or `LETS_WEBGPU_SOFTWARE=1` together
 * with an explicit 'webgpu' request; 'auto' never picks it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { registerGradients } from './gradients';
import { registerTrainingKernels } from './kernels';
import { startWebGpu, webgpuAdapterName } from './webgpu';

export type BackendName = 'tensorflow' | 'webgpu' | 'native' | 'wasm' | 'cpu';

/** Backends in the order 'auto' tries them. */
export const BACKEND_PREFERENCE: readonly BackendName[] = ['tensorflow', 'webgpu', 'native', 'wasm', 'cpu'];

export interface RuntimeOptions {
  /** Backend to use, or 'auto' (default): `LETS_BACKEND`, else the fastest that starts. */
  readonly backend?: BackendName | 'auto';
  /** WebGPU without a GPU through Mesa's software OpenGL ES (slow; for tests). */
  readonly webgpu?: { readonly software?: boolean };
}

/** What `describe()` reports. */
export interface RuntimeInfo {
  readonly backend: string;
  readonly tfjsVersion: string;
  readonly simd?: boolean;
  readonly threads?: number;
  readonly gpuAdapter?: string;
  /** On 'native': the CPU model, its ISA and the GEMM path in use (@lets/native's describeNative). */
  readonly native?: string;
  readonly memory: { readonly numTensors: number; readonly numBytes: number };
}

/** A backend that could not start, and why. */
export class BackendUnavailableError extends Error {
  constructor(
    readonly backend: string,
    readonly reason: string,
    readonly remedy: string,
  ) {
    super(`@lets/runtime: backend '${backend}' is not available: ${reason}. ${remedy}`);
    this.name = 'BackendUnavailableError';
  }
}

const INSTALL: Record<BackendName, string> = {
  tensorflow:
    'Install @tensorflow/tfjs-node@4.22.0 (or @tensorflow/tfjs-node-gpu@4.22.0 for CUDA 11.2 + cuDNN 8.1); ' +
    'its install script downloads libtensorflow 2.9.1 from storage.googleapis.com (see docs/runtime.md for mirrors)',
  webgpu:
    'Install the optional packages `webgpu@0.6.2` and `@tensorflow/tfjs-backend-webgpu@4.22.0` and a GPU driver with Vulkan; ' +
    'without a GPU, set LETS_WEBGPU_SOFTWARE=1 with Mesa EGL installed (Debian: libegl-mesa0 libgl1-mesa-dri)',
  native:
    'Install it with `npm install @lets/native` and a C++ compiler (Debian: apt-get install g++; OpenBLAS, ' +
    'libopenblas0-openmp, is optional and used where faster), then build the addon with `npx lets-native build` ' +
    "(@lets/native's install script tries this too, where npm runs it)",
  wasm: 'Install it with `npm install @tensorflow/tfjs-backend-wasm@^4.22.0` (a peer dependency of @lets/runtime)',
  cpu: 'Install it with `npm install @tensorflow/tfjs-backend-cpu@^4.22.0` (a peer dependency of @lets/runtime)',
};

function firstLine(e: unknown): string {
  return String(e instanceof Error ? e.message : e).split('\n')[0]!.slice(0, 300);
}

async function quietly<T>(f: () => Promise<T>): Promise<T> {
  const { warn, error, log } = console;
  console.warn = () => undefined;
  console.error = () => undefined;
  console.log = () => undefined;
  try {
    return await f();
  } finally {
    Object.assign(console, { warn, error, log });
  }
}

let nativeThreads: number | undefined;
let nativeDescription: string | undefined;

// Module names in variables so that bundlers and TypeScript leave optional packages alone.
const TFJS_NODE_GPU = '@tensorflow/tfjs-node-gpu';
const TFJS_NODE = '@tensorflow/tfjs-node';
/** The reason 'native' gives where @lets/native (an optional peer) is not installed: 'auto' then says nothing. */
const NATIVE_NOT_INSTALLED = '@lets/native is not installed';

async function load(name: BackendName, options: RuntimeOptions, explicit: boolean): Promise<void> {
  switch (name) {
    // cpu and wasm are peer dependencies: a project may lack them
    case 'cpu':
      try {
        await import('@tensorflow/tfjs-backend-cpu');
      } catch (e) {
        throw new BackendUnavailableError('cpu', `@tensorflow/tfjs-backend-cpu does not load (${firstLine(e)})`, INSTALL.cpu);
      }
      return;
    case 'wasm':
      try {
        await import('@tensorflow/tfjs-backend-wasm');
      } catch (e) {
        throw new BackendUnavailableError('wasm', `@tensorflow/tfjs-backend-wasm does not load (${firstLine(e)})`, INSTALL.wasm);
      }
      return;
    case 'native': {
      if (tf.findBackendFactory('native') !== null) return;
      // The native backend copies the cpu kernels registered at this moment, so the
      // runtime's cpu training kernels must be in place first.
      await import('@tensorflow/tfjs-backend-cpu');
      registerTrainingKernels('cpu');
      // require, not import(): a dynamic import() stays an ESM import under on-the-fly
      // transpilers (the CLI launcher) and then resolves @lets/native to its unbuilt dist/.
      let native: typeof import('@lets/native');
      try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        native = require('@lets/native') as typeof import('@lets/native');
      } catch (e) {
        const missing = (e as { code?: string }).code === 'MODULE_NOT_FOUND' && /'@lets\/native'/.test(firstLine(e));
        throw new BackendUnavailableError('native', missing ? NATIVE_NOT_INSTALLED : `@lets/native does not load (${firstLine(e)})`, INSTALL.native);
      }
      if (!native.registerNativeBackend()) {
        throw new BackendUnavailableError('native', native.nativeInfo().reason ?? 'the addon is not built', INSTALL.native);
      }
      nativeThreads = native.nativeInfo().threads;
      nativeDescription = native.describeNative();
      return;
    }
    case 'tensorflow': {
      if (tf.findBackendFactory('tensorflow') !== null) return;
      const errors: string[] = [];
      for (const m of [TFJS_NODE_GPU, TFJS_NODE]) {
        try {
          await import(m);
          return;
        } catch (e) {
          errors.push(`${m}: ${firstLine(e)}`);
        }
      }
      throw new BackendUnavailableError('tensorflow', errors.join('; '), INSTALL.tensorflow);
    }
    case 'webgpu': {
      // the software adapter is never picked automatically: it is far slower than wasm
      const software = options.webgpu?.software ?? (explicit && process.env['LETS_WEBGPU_SOFTWARE'] === '1');
      const problem = await startWebGpu({ software });
      if (problem !== undefined) throw new BackendUnavailableError('webgpu', problem, INSTALL.webgpu);
      return;
    }
  }
}

async function start(name: BackendName, options: RuntimeOptions, explicit: boolean): Promise<void> {
  await load(name, options, explicit);
  if (tf.findBackendFactory(name) === null) {
    throw new BackendUnavailableError(name, 'no such backend was registered after loading its package', INSTALL[name]);
  }
  let ok = false;
  let why = 'tf.setBackend returned false';
  try {
    ok = await quietly(() => tf.setBackend(name));
  } catch (e) {
    why = firstLine(e);
  }
  if (!ok) throw new BackendUnavailableError(name, `it failed to initialise (${why})`, INSTALL[name]);
  await tf.ready();
  // tfjs's cpu backend (and native, built on it) prints an "install tfjs-node" banner on first
  // use; the runtime has already chosen the fastest backend available, so it is only noise.
  const b = tf.backend() as unknown as { firstUse?: boolean };
  if (typeof b.firstUse === 'boolean') b.firstUse = false;
}

function requested(options: RuntimeOptions): BackendName | 'auto' {
  const env = process.env['LETS_BACKEND'];
  const name = options.backend ?? (env !== undefined && env !== '' ? env : 'auto');
  if (name !== 'auto' && !(BACKEND_PREFERENCE as readonly string[]).includes(name)) {
    throw new Error(
      `@lets/runtime: unknown backend '${name}'${options.backend === undefined ? ' (from LETS_BACKEND)' : ''}; ` +
        `expected one of auto, ${BACKEND_PREFERENCE.join(', ')}`,
    );
  }
  return name as BackendName | 'auto';
}

/**
 * Registers gradients (with the twice-differentiable overrides), starts the backend and
 * registers the runtime's training kernels for it. Safe to call more than once (e.g. to
 * switch backends). Returns `describe()`.
 */
export async function initRuntime(options: RuntimeOptions = {}): Promise<RuntimeInfo> {
  registerGradients();
  const name = requested(options);
  if (name !== 'auto') {
    await start(name, options, true);
  } else {
    const failures: string[] = [];
    let started = false;
    for (const candidate of BACKEND_PREFERENCE) {
      try {
        await start(candidate, options, false);
        started = true;
        break;
      } catch (e) {
        failures.push(firstLine(e));
        // the one fallback a user should hear about: the fast CPU path is missing
        // (installed but not built); a user who did not install @lets/native chose wasm
        if (candidate === 'native') {
          const reason = e instanceof BackendUnavailableError ? e.reason : firstLine(e);
          if (reason !== NATIVE_NOT_INSTALLED) {
            console.warn(`lets: native backend unavailable (${reason}); falling back to wasm. Build it with \`npx lets-native build\``);
          }
        }
      }
    }
    if (!started) throw new Error(`@lets/runtime: no backend could start:\n${failures.join('\n')}`);
  }
  registerTrainingKernels(tf.getBackend());
  return describe();
}

/** Which backends can start here, in preference order (starts each; leaves the current one set). */
export async function availableBackends(options: RuntimeOptions = {}): Promise<BackendName[]> {
  const current = tf.getBackend();
  const out: BackendName[] = [];
  for (const name of BACKEND_PREFERENCE) {
    try {
      await start(name, options, false);
      out.push(name);
    } catch {
      // not available here
    }
  }
  if (current !== undefined && current !== null) await quietly(() => tf.setBackend(current));
  return out;
}

/** The backend in use, tfjs version, wasm SIMD/threads, GPU adapter name, and memory in use. */
export function describe(): RuntimeInfo {
  const backend = tf.getBackend();
  const mem = tf.memory();
  const info: {
    backend: string; tfjsVersion: string; simd?: boolean; threads?: number; gpuAdapter?: string; native?: string;
    memory: { numTensors: number; numBytes: number };
  } = { backend, tfjsVersion: tf.version_core, memory: { numTensors: mem.numTensors, numBytes: mem.numBytes } };
  if (backend === 'wasm') {
    info.simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
    info.threads = tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT') ? 2 : 1;
  }
  if (backend === 'native' && nativeThreads !== undefined) info.threads = nativeThreads;
  if (backend === 'native' && nativeDescription !== undefined) info.native = nativeDescription;
  if (backend === 'webgpu') {
    const a = webgpuAdapterName();
    if (a !== undefined) info.gpuAdapter = a;
  }
  return info;
}
