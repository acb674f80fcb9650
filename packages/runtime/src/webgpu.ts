/**
 * Starting tfjs's WebGPU backend in Node through the `webgpu` package (Dawn). Both
 * packages are optional and loaded only when asked for.
 *
 * Real GPU: Dawn's default backend (Vulkan on Linux). Software (no GPU, for tests): Dawn's
 * OpenGL ES backend on Mesa llvmpipe through EGL, which only offers a compatibility-mode
 * adapter, so every requestAdapter call is given featureLevel 'compatibility'; lavapipe
 * (Mesa's Vulkan) is rejected by Dawn. tfjs-backend-webgpu reads navigator.gpu, which Node
 * lacks, so it is set before the backend package loads. See FINDINGS §4.
 */
import * as fs from 'fs';
import { createRequire } from 'module';
import * as os from 'os';
import * as path from 'path';
import { noteBackendDetails } from './backend_core';

const WEBGPU = 'webgpu';
const TFJS_WEBGPU = '@tensorflow/tfjs-backend-webgpu';

let adapterName: string | undefined;
let started: 'hardware' | 'software' | undefined;

interface GpuLike {
  requestAdapter(options?: Record<string, unknown>): Promise<AdapterLike | null>;
}
interface AdapterLike {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string };
}

/**
 * Loads the ES-module `webgpu` package from CommonJS code: Node's require (Node ≥ 20.19
 * loads ES modules synchronously); where a test runner's CommonJS loader refuses ES
 * modules, its Dawn addon directly (dist/<platform>-<arch>/dawn.node, which is all the
 * package's entry point wraps); else a real dynamic import.
 */
async function loadWebgpuPackage(): Promise<unknown> {
  try {
    return createRequire(__filename)(WEBGPU);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'MODULE_NOT_FOUND') throw e;
    try {
      const dir = path.dirname(require.resolve(`${WEBGPU}/package.json`));
      const arch = process.platform === 'darwin' ? 'universal' : process.arch;
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return require(path.join(dir, 'dist', `${process.platform}-${arch}`, 'dawn.node'));
    } catch {
      const dynamicImport = new Function('m', 'return import(m)') as (m: string) => Promise<unknown>;
      return dynamicImport(WEBGPU);
    }
  }
}

/** The adapter tfjs is running on, once started. */
export function webgpuAdapterName(): string | undefined {
  return adapterName;
}

function describeAdapter(a: AdapterLike): string {
  const i = a.info ?? {};
  return [i.vendor, i.architecture, i.device, i.description].filter((s) => s !== undefined && s !== '').join(' ') || 'unknown adapter';
}

/**
 * On Linux, whether a Vulkan loader is installed (Dawn's hardware path needs it; without it
 * Dawn prints a native warning we cannot silence). Other platforms: assume yes.
 */
function hasVulkanLoader(): boolean {
  if (process.platform !== 'linux') return true;
  const dirs = [
    ...(process.env['LD_LIBRARY_PATH'] ?? '').split(':').filter((d) => d !== ''),
    '/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib/x86_64-linux-gnu', '/usr/local/lib',
  ];
  return dirs.some((d) => fs.existsSync(path.join(d, 'libvulkan.so.1')));
}

/** Prepares navigator.gpu and loads tfjs-backend-webgpu; returns why it cannot, or undefined. */
export async function startWebGpu({ software }: { software: boolean }): Promise<string | undefined> {
  if (started !== undefined) return started === 'software' && !software ? 'WebGPU was already started on the software adapter' : undefined;
  if (!software && !hasVulkanLoader()) return 'no Vulkan loader (libvulkan.so.1) is installed, so there is no GPU adapter';
  let webgpu: { create(flags: string[]): GpuLike; globals: Record<string, unknown> };
  try {
    webgpu = (await loadWebgpuPackage()) as typeof webgpu;
  } catch (e) {
    return `the 'webgpu' package is not installed (${String(e instanceof Error ? e.message : e).split('\n')[0]})`;
  }
  if (software) {
    process.env['EGL_PLATFORM'] ??= 'surfaceless';
    if (process.env['XDG_RUNTIME_DIR'] === undefined) {
      const xdg = fs.mkdtempSync(path.join(os.tmpdir(), 'lets-xdg-'));
      process.env['XDG_RUNTIME_DIR'] = xdg;
      process.once('exit', () => fs.rmSync(xdg, { recursive: true, force: true }));
    }
  }
  Object.assign(globalThis, webgpu.globals);
  const raw = webgpu.create(software ? ['backend=opengles'] : []);
  const r = raw as unknown as { getPreferredCanvasFormat(): string; wgslLanguageFeatures: unknown };
  const gpu: GpuLike = software
    ? {
        requestAdapter: (o = {}) => raw.requestAdapter({ ...o, featureLevel: 'compatibility' }),
        getPreferredCanvasFormat: () => r.getPreferredCanvasFormat(),
        get wgslLanguageFeatures() {
          return r.wgslLanguageFeatures;
        },
      } as GpuLike
    : raw;
  let adapter: AdapterLike | null = null;
  try {
    adapter = await gpu.requestAdapter();
  } catch (e) {
    return `requestAdapter failed (${String(e instanceof Error ? e.message : e).split('\n')[0]})`;
  }
  if (adapter === null) {
    return software
      ? 'no software adapter (Dawn OpenGL ES on Mesa EGL): is libegl-mesa0 installed?'
      : 'no GPU adapter (no Vulkan driver, or only lavapipe, which Dawn rejects)';
  }
  adapterName = describeAdapter(adapter);
  noteBackendDetails({ gpuAdapter: adapterName });
  const g = globalThis as unknown as { navigator?: Record<string, unknown> };
  if (g.navigator === undefined) g.navigator = {};
  try {
    Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  } catch {
    g.navigator['gpu'] = gpu;
  }
  try {
    await import(TFJS_WEBGPU);
  } catch (e) {
    return `the '@tensorflow/tfjs-backend-webgpu' package is not installed (${String(e instanceof Error ? e.message : e).split('\n')[0]})`;
  }
  started = software ? 'software' : 'hardware';
  return undefined;
}
