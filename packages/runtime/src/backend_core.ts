/**
 * What backend choice does on every platform: the names, the error a backend that cannot
 * start throws, starting one (load its package, `tf.setBackend`, silence tfjs's first-use
 * banner), the 'auto' walk down a preference list, and `describeRuntime()`. The platforms differ in
 * which backends exist and how each is loaded: backend.ts (Node: tensorflow, webgpu through
 * Dawn, native, wasm, cpu) and backend_browser.ts (webgpu, webgl, wasm, cpu). Free of Node
 * built-ins.
 */
import * as tf from '@tensorflow/tfjs-core';
import { registerTrainingKernels } from './kernels';

/** Every backend name either platform knows (each platform has its own preference list). */
export type BackendName = 'tensorflow' | 'webgpu' | 'webgl' | 'native' | 'wasm' | 'cpu';

/** A backend this platform can start by name (`initRuntime({ backend })`), with what it is. */
export interface BackendEntry {
  readonly description: string;
}

export interface RuntimeOptions {
  /** Backend to use, or 'auto' (default): in Node `LETS_BACKEND`, else the fastest that starts. */
  readonly backend?: BackendName | 'auto';
  /** Node only: WebGPU without a GPU through Mesa's software OpenGL ES (slow; for tests). */
  readonly webgpu?: { readonly software?: boolean };
}

const ALL_BACKENDS: readonly BackendName[] = ['tensorflow', 'webgpu', 'webgl', 'native', 'wasm', 'cpu'];

/** What `describeRuntime()` reports. */
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

/** One platform's backends: their order for 'auto', how each loads, and what to install. */
export interface Platform {
  /** Where this is ('Node', 'a browser'), for messages. */
  readonly where: string;
  readonly preference: readonly BackendName[];
  readonly install: Readonly<Partial<Record<BackendName, string>>>;
  /** Makes the backend's factory registered (imports its package, checks its device); throws BackendUnavailableError. */
  load(name: BackendName, options: RuntimeOptions, explicit: boolean): Promise<void>;
  /** Registers tfjs's gradients and the twice-differentiable overrides. */
  registerGradients(): void;
  /** The backend asked for by the environment (Node: LETS_BACKEND), if any. */
  readonly envBackend?: () => string | undefined;
  /** After a backend started: why it is unusable for training after all (undefined: usable). */
  readonly verify?: (name: BackendName) => Promise<string | undefined>;
  /** Called for each backend 'auto' skipped. */
  readonly onSkipped?: (name: BackendName, error: unknown) => void;
}

export function firstLine(e: unknown): string {
  return String(e instanceof Error ? e.message : e).split('\n')[0]!.slice(0, 300);
}

export async function quietly<T>(f: () => Promise<T>): Promise<T> {
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

/** What platforms learn while loading a backend, for `describeRuntime()`. */
const details: { gpuAdapter?: string; nativeThreads?: number; native?: string } = {};

/** Records the GPU adapter (webgpu) or the native addon's threads and description. */
export function noteBackendDetails(d: { gpuAdapter?: string; nativeThreads?: number; native?: string }): void {
  Object.assign(details, d);
}

async function start(platform: Platform, name: BackendName, options: RuntimeOptions, explicit: boolean): Promise<void> {
  const remedy = platform.install[name] ?? '';
  if (!platform.preference.includes(name)) {
    throw new BackendUnavailableError(name, `this platform's backends are ${platform.preference.join(', ')}`, remedy);
  }
  await platform.load(name, options, explicit);
  if (tf.findBackendFactory(name) === null) {
    throw new BackendUnavailableError(name, 'no such backend was registered after loading its package', remedy);
  }
  let ok = false;
  let why = 'tf.setBackend returned false';
  try {
    ok = await quietly(() => tf.setBackend(name));
  } catch (e) {
    why = firstLine(e);
  }
  if (!ok) throw new BackendUnavailableError(name, `it failed to initialise (${why})`, remedy);
  await tf.ready();
  const problem = await platform.verify?.(name);
  if (problem !== undefined) throw new BackendUnavailableError(name, problem, remedy);
  // tfjs's cpu backend (and native, built on it) prints an "install tfjs-node" banner on first
  // use; the runtime has already chosen the fastest backend available, so it is only noise.
  const b = tf.backend() as unknown as { firstUse?: boolean };
  if (typeof b.firstUse === 'boolean') b.firstUse = false;
}

function requested(platform: Platform, options: RuntimeOptions): BackendName | 'auto' {
  const env = platform.envBackend?.();
  const name = options.backend ?? (env !== undefined && env !== '' ? env : 'auto');
  if (name !== 'auto' && !(platform.preference as readonly string[]).includes(name)) {
    if ((ALL_BACKENDS as readonly string[]).includes(name)) {
      throw new BackendUnavailableError(
        name,
        `it does not run in ${platform.where}`,
        `Here the backends are ${platform.preference.join(', ')} (or 'auto'); docs/browser.md says what runs where`,
      );
    }
    throw new Error(
      `@lets/runtime: unknown backend '${name}'${options.backend === undefined ? ' (from LETS_BACKEND)' : ''}; ` +
        `expected one of auto, ${platform.preference.join(', ')}`,
    );
  }
  return name as BackendName | 'auto';
}

/** `initRuntime` on a platform: gradients, the backend (asked for, or the first that starts), training kernels. */
export async function initRuntimeOn(platform: Platform, options: RuntimeOptions): Promise<RuntimeInfo> {
  platform.registerGradients();
  const name = requested(platform, options);
  if (name !== 'auto') {
    await start(platform, name, options, true);
  } else {
    const failures: string[] = [];
    let started = false;
    for (const candidate of platform.preference) {
      try {
        await start(platform, candidate, options, false);
        started = true;
        break;
      } catch (e) {
        failures.push(firstLine(e));
        platform.onSkipped?.(candidate, e);
      }
    }
    if (!started) throw new Error(`@lets/runtime: no backend could start:\n${failures.join('\n')}`);
  }
  registerTrainingKernels(tf.getBackend());
  return describeRuntime();
}

/** `availableBackends` on a platform: starts each in turn; leaves the current one set. */
export async function availableBackendsOn(platform: Platform, options: RuntimeOptions): Promise<BackendName[]> {
  const current = tf.getBackend();
  const out: BackendName[] = [];
  for (const name of platform.preference) {
    try {
      await start(platform, name, options, false);
      out.push(name);
    } catch {
      // not available here
    }
  }
  if (current !== undefined && current !== null) await quietly(() => tf.setBackend(current));
  return out;
}

/** The backend in use, tfjs version, wasm SIMD/threads, GPU adapter name, and memory in use. */
export function describeRuntime(): RuntimeInfo {
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
  if (backend === 'native' && details.nativeThreads !== undefined) info.threads = details.nativeThreads;
  if (backend === 'native' && details.native !== undefined) info.native = details.native;
  if (backend === 'webgpu' && details.gpuAdapter !== undefined) info.gpuAdapter = details.gpuAdapter;
  return info;
}
