/**
 * Backend choice in Node: starts a tfjs backend, fastest available first, and prepares it for
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
import {
  availableBackendsOn,
  BackendUnavailableError,
  firstLine,
  initRuntimeOn,
  noteBackendDetails,
  type BackendEntry,
  type BackendName,
  type Platform,
  type RuntimeInfo,
  type RuntimeOptions,
} from './backend_core';
import { registerGradients } from './gradients';
import { registerTrainingKernels } from './kernels';
import { startWebGpu } from './webgpu';

export { BackendUnavailableError, describeRuntime } from './backend_core';
export type { BackendName, BackendEntry, RuntimeInfo, RuntimeOptions } from './backend_core';

/** Backends in the order 'auto' tries them in Node. */
export const BACKEND_PREFERENCE: readonly BackendName[] = ['tensorflow', 'webgpu', 'native', 'wasm', 'cpu'];

/** What `initRuntime({ backend })` accepts in Node, slowest first ('auto': the fastest that starts). */
export const BACKENDS = {
  auto: { description: 'LETS_BACKEND if set, else the fastest that starts: tensorflow, webgpu, native, wasm, cpu' },
  cpu: { description: "tfjs's plain JavaScript backend" },
  wasm: { description: "tfjs's WebAssembly backend with the runtime's kernel patches" },
  native: { description: 'the C++ CPU backend of @lets/native (its addon must be built)' },
  webgpu: { description: 'WebGPU through the webgpu npm package (Dawn)' },
  tensorflow: { description: 'tfjs-node (libtensorflow)' },
} as const satisfies Readonly<Partial<Record<BackendName | 'auto', BackendEntry>>>;

const INSTALL: Partial<Record<BackendName, string>> = {
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
        throw new BackendUnavailableError('cpu', `@tensorflow/tfjs-backend-cpu does not load (${firstLine(e)})`, INSTALL.cpu!);
      }
      return;
    case 'wasm':
      try {
        await import('@tensorflow/tfjs-backend-wasm');
      } catch (e) {
        throw new BackendUnavailableError('wasm', `@tensorflow/tfjs-backend-wasm does not load (${firstLine(e)})`, INSTALL.wasm!);
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
        throw new BackendUnavailableError('native', missing ? NATIVE_NOT_INSTALLED : `@lets/native does not load (${firstLine(e)})`, INSTALL.native!);
      }
      if (!native.registerNativeBackend()) {
        throw new BackendUnavailableError('native', native.nativeInfo().reason ?? 'the addon is not built', INSTALL.native!);
      }
      noteBackendDetails({ nativeThreads: native.nativeInfo().threads, native: native.describeNative() });
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
      throw new BackendUnavailableError('tensorflow', errors.join('; '), INSTALL.tensorflow!);
    }
    case 'webgpu': {
      // the software adapter is never picked automatically: it is far slower than wasm
      const software = options.webgpu?.software ?? (explicit && process.env['LETS_WEBGPU_SOFTWARE'] === '1');
      const problem = await startWebGpu({ software });
      if (problem !== undefined) throw new BackendUnavailableError('webgpu', problem, INSTALL.webgpu!);
      return;
    }
    default:
      throw new BackendUnavailableError(name, `it runs in browsers only; in Node the backends are ${BACKEND_PREFERENCE.join(', ')}`, '');
  }
}

/** Node: the backends above, gradients from the generated bundle, LETS_BACKEND, a notice when native is missing. */
export const NODE_PLATFORM: Platform = {
  where: 'Node',
  preference: BACKEND_PREFERENCE,
  install: INSTALL,
  load,
  registerGradients,
  envBackend: () => process.env['LETS_BACKEND'],
  onSkipped: (candidate, e) => {
    // the one fallback a user should hear about: the fast CPU path is missing
    // (installed but not built); a user who did not install @lets/native chose wasm
    if (candidate === 'native') {
      const reason = e instanceof BackendUnavailableError ? e.reason : firstLine(e);
      if (reason !== NATIVE_NOT_INSTALLED) {
        console.warn(`lets: native backend unavailable (${reason}); falling back to wasm. Build it with \`npx lets-native build\``);
      }
    }
  },
};

/**
 * Registers gradients (with the twice-differentiable overrides), starts the backend and
 * registers the runtime's training kernels for it. Safe to call more than once (e.g. to
 * switch backends). Returns `describeRuntime()`.
 */
export function initRuntime(options: RuntimeOptions = {}): Promise<RuntimeInfo> {
  return initRuntimeOn(NODE_PLATFORM, options);
}

/** Which backends can start here, in preference order (starts each; leaves the current one set). */
export function availableBackends(options: RuntimeOptions = {}): Promise<BackendName[]> {
  return availableBackendsOn(NODE_PLATFORM, options);
}
