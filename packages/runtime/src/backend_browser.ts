/**
 * Backend choice in a browser (or any bundle built for one): the backends are WebGPU, WebGL,
 * wasm and cpu; 'auto' takes the first of them that starts, in that order:
 *
 * - webgpu: only when the page has `navigator.gpu` and an adapter, the app imported
 *   `@tensorflow/tfjs-backend-webgpu` (which registers it), and a synchronous read-back works;
 * - webgl: when the app imported `@tensorflow/tfjs-backend-webgl` and a WebGL context can be made;
 * - wasm: when the app imported `@tensorflow/tfjs-backend-wasm` and serves its .wasm files
 *   (`setWasmPaths` from that package says where);
 * - cpu: always (this entry imports `@tensorflow/tfjs-backend-cpu`, plain JavaScript).
 *
 * The runtime does not import the GPU and wasm backend packages itself: a bundle then holds
 * only the backends the app chose, and a missing optional package is not a build error.
 * There is no `LETS_BACKEND` in a page: pass `{ backend }`.
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import {
  availableBackendsOn,
  BackendUnavailableError,
  initRuntimeOn,
  noteBackendDetails,
  type BackendEntry,
  type BackendName,
  type Platform,
  type RuntimeInfo,
  type RuntimeOptions,
} from './backend_core';
import { registerGradients } from './gradients_browser';

export { BackendUnavailableError, describeRuntime } from './backend_core';
export type { BackendName, BackendEntry, RuntimeInfo, RuntimeOptions } from './backend_core';

/** Backends in the order 'auto' tries them in a browser. */
export const BACKEND_PREFERENCE: readonly BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

/** What `initRuntime({ backend })` accepts in a browser, slowest first ('auto': the fastest that starts). */
export const BACKENDS = {
  auto: { description: 'the fastest that starts: webgpu, webgl, wasm, cpu' },
  cpu: { description: "tfjs's plain JavaScript backend" },
  wasm: { description: "tfjs's WebAssembly backend with the runtime's kernel patches" },
  webgl: { description: "tfjs's WebGL backend" },
  webgpu: { description: "the browser's WebGPU" },
} as const satisfies Readonly<Partial<Record<BackendName | 'auto', BackendEntry>>>;

const importIt = (pkg: string, extra = '') =>
  `Install ${pkg}@^4.22.0 and import it once in your app (\`import '${pkg}';\`)${extra}`;

const INSTALL: Partial<Record<BackendName, string>> = {
  webgpu: importIt('@tensorflow/tfjs-backend-webgpu', ', in a browser with WebGPU (navigator.gpu)'),
  webgl: importIt('@tensorflow/tfjs-backend-webgl', ', in a browser with WebGL'),
  wasm: importIt('@tensorflow/tfjs-backend-wasm', ' and serve its .wasm files (setWasmPaths from that package)'),
  cpu: 'Install it with `npm install @tensorflow/tfjs-backend-cpu@^4.22.0` (a peer dependency of @lets/runtime)',
};

interface GpuAdapterLike {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string };
}
interface NavigatorGpuLike {
  gpu?: { requestAdapter(): Promise<GpuAdapterLike | null> };
}

async function load(name: BackendName): Promise<void> {
  const registered = tf.findBackendFactory(name) !== null;
  switch (name) {
    case 'cpu':
      return;
    case 'webgpu': {
      const nav = (globalThis as { navigator?: NavigatorGpuLike }).navigator;
      if (nav?.gpu === undefined) throw new BackendUnavailableError('webgpu', 'this browser has no navigator.gpu', INSTALL.webgpu!);
      if (!registered) throw new BackendUnavailableError('webgpu', 'the @tensorflow/tfjs-backend-webgpu package was not imported', INSTALL.webgpu!);
      let adapter: GpuAdapterLike | null = null;
      try {
        adapter = await nav.gpu.requestAdapter();
      } catch {
        adapter = null;
      }
      if (adapter === null) throw new BackendUnavailableError('webgpu', 'navigator.gpu gave no adapter', INSTALL.webgpu!);
      const i = adapter.info ?? {};
      const described = [i.vendor, i.architecture, i.device, i.description].filter((s) => s !== undefined && s !== '').join(' ');
      noteBackendDetails({ gpuAdapter: described === '' ? 'unknown adapter' : described });
      return;
    }
    case 'webgl':
    case 'wasm':
      if (!registered) throw new BackendUnavailableError(name, `the @tensorflow/tfjs-backend-${name} package was not imported`, INSTALL[name]!);
      return;
    default:
      throw new BackendUnavailableError(name, `it runs in Node only; in a browser the backends are ${BACKEND_PREFERENCE.join(', ')}`, 'Use @lets/runtime from Node for it');
  }
}

/**
 * Whether the backend reads a value back synchronously and keeps working afterwards. SAM's and
 * LETS's updates read scalars with `dataSync`; on tfjs's webgpu backend that goes through an
 * OffscreenCanvas copy, which loses the device in headless Chromium on SwiftShader ("A valid
 * external Instance reference no longer exists") — found by the playground.
 */
async function readsBack(): Promise<boolean> {
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

/** Browsers: webgpu, webgl, wasm, cpu among the backends the app imported; gradients from tfjs-core's ES modules. */
export const BROWSER_PLATFORM: Platform = {
  where: 'a browser',
  preference: BACKEND_PREFERENCE,
  install: INSTALL,
  load,
  registerGradients,
  verify: async (name) =>
    name === 'webgpu' && !(await readsBack()) ? 'it started, but a synchronous read-back (dataSync, which SAM and LETS use) failed' : undefined,
};

/**
 * Registers gradients (with the twice-differentiable overrides), starts the backend (`'auto'`:
 * webgpu → webgl → wasm → cpu, the first that starts) and registers the runtime's training
 * kernels for it. Safe to call more than once. Returns `describeRuntime()`.
 */
export function initRuntime(options: RuntimeOptions = {}): Promise<RuntimeInfo> {
  return initRuntimeOn(BROWSER_PLATFORM, options);
}

/** Which backends can start in this page, in preference order (starts each; leaves the current one set). */
export function availableBackends(options: RuntimeOptions = {}): Promise<BackendName[]> {
  return availableBackendsOn(BROWSER_PLATFORM, options);
}
