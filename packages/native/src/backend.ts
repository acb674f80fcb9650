import * as os from 'os';
import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { loadAddon } from './addon';
import { BACKEND_NAME, nativeKernelSpecs } from './kernels';
import { fusedKernelConfigs, registerFusedGradients } from './kernels/fused';
import { treeKernelConfigs } from './kernels/tree_ops';
import type { KernelArgs } from './kernels/util';

/** Most memory the output-buffer pool keeps (bytes); `LETS_NATIVE_POOL_MB` overrides. */
const DEFAULT_POOL_BYTES = 512 * 1024 * 1024;
/** Most buffers of one length the pool keeps. */
const MAX_PER_LENGTH = 16;

type Values = tf.backend_util.BackendValues;

/**
 * The 'native' backend object: tfjs-backend-cpu's MathBackendCPU (tensors live in JS typed arrays,
 * which the addon reads and writes in place), so every kernel of the cpu backend runs on it as is
 * and only the heavy ones are replaced.
 *
 * It adds a pool of output buffers. A fresh multi-megabyte Float32Array costs a page fault per
 * 4 KiB on first write, which on a loaded machine costs more than the kernel itself, so the
 * native kernels' outputs are recycled when their tensor is disposed. A buffer is recycled only
 * while it is provably private: allocated by a native kernel, attached to exactly one tensor,
 * never returned by readSync/read (dataSync, data), never passed to write/move/makeTensorInfo
 * again, and with no view of it handed out (a cpu kernel that returns a subarray of it disowns
 * it). Pooled buffers hold stale values; every native kernel writes its whole output.
 */
export class NativeBackend extends MathBackendCPU {
  private readonly pool = new Map<number, Float32Array[]>();
  private pooledBytes = 0;
  private readonly maxPoolBytes: number;
  /** Buffers (by their ArrayBuffer) that are private to one tensor and may be recycled. */
  private readonly owned = new WeakSet<ArrayBufferLike>();
  private adopting = false;

  constructor() {
    super();
    // MathBackendCPU warns on first use in Node that a faster backend exists; this is it.
    (this as unknown as { firstUse: boolean }).firstUse = false;
    const mb = Number(process.env.LETS_NATIVE_POOL_MB);
    this.maxPoolBytes = Number.isFinite(mb) && mb >= 0 ? mb * 1024 * 1024 : DEFAULT_POOL_BYTES;
  }

  /** A float32 buffer of length n for a kernel output: recycled (stale contents) or new (zeros). */
  allocFloat32(n: number): Float32Array {
    const a = this.pool.get(n)?.pop();
    if (a !== undefined) {
      this.pooledBytes -= a.byteLength;
      return a;
    }
    return new Float32Array(n);
  }

  /** Wraps a buffer from allocFloat32 as a tensor that owns it privately. */
  adoptFloat32(shape: number[], values: Float32Array): tf.TensorInfo {
    this.adopting = true;
    try {
      const info = super.makeTensorInfo(shape, 'float32', values);
      if (values.byteOffset === 0 && values.byteLength === values.buffer.byteLength) this.owned.add(values.buffer);
      return info;
    } finally {
      this.adopting = false;
    }
  }

  /** Pool statistics (for tests and tuning). */
  poolStats(): { buffers: number; bytes: number } {
    let buffers = 0;
    for (const l of this.pool.values()) buffers += l.length;
    return { buffers, bytes: this.pooledBytes };
  }

  private disown(values: Values | undefined | null): void {
    if (values !== undefined && values !== null && ArrayBuffer.isView(values)) this.owned.delete(values.buffer);
  }

  override write(values: Values, shape: number[], dtype: tf.DataType): tf.DataId {
    if (!this.adopting) this.disown(values);
    return super.write(values, shape, dtype);
  }

  override move(dataId: tf.DataId, values: Values, shape: number[], dtype: tf.DataType, refCount: number): void {
    this.disown(values);
    super.move(dataId, values, shape, dtype, refCount);
  }

  override readSync(dataId: tf.DataId): Values {
    const v = super.readSync(dataId);
    this.disown(v);
    return v;
  }

  override disposeData(dataId: tf.DataId, force = false): boolean {
    const entry = this.data.has(dataId) ? this.data.get(dataId) : undefined;
    const done = super.disposeData(dataId, force);
    const v = entry?.values;
    if (done && v instanceof Float32Array && !this.data.has(dataId) && this.owned.has(v.buffer)) {
      this.owned.delete(v.buffer);
      this.recycle(v);
    }
    return done;
  }

  override dispose(): void {
    this.pool.clear();
    this.pooledBytes = 0;
    super.dispose();
  }

  private recycle(v: Float32Array): void {
    if (v.length === 0 || this.pooledBytes + v.byteLength > this.maxPoolBytes) return;
    let list = this.pool.get(v.length);
    if (list === undefined) {
      list = [];
      this.pool.set(v.length, list);
    }
    if (list.length >= MAX_PER_LENGTH) return;
    list.push(v);
    this.pooledBytes += v.byteLength;
  }
}

export interface NativeOptions {
  /**
   * Threads for the GEMM (and OpenBLAS) and the OpenMP loops. Default: `LETS_NATIVE_THREADS`, else
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
  /** OpenBLAS's configuration string when it is loaded ("OpenBLAS 0.3.21 ... SkylakeX ..."), else "builtin". */
  readonly blas?: string;
  /** The CPU as cpuid reports it, e.g. "Intel(R) Xeon(R) Processor (GenuineIntel family 6 model 207)". */
  readonly cpu?: string;
  /** The CPU's vector ISA ("avx512", "avx2+fma", "portable") and the micro-kernel level in use. */
  readonly isa?: string;
  readonly kernelIsa?: string;
  /** The GEMM path actually used, e.g. "builtin avx512 (12x32 micro-kernel)". */
  readonly gemm?: string;
  /** OpenBLAS's core in use and the one it detected itself, when it is loaded. */
  readonly openblasCore?: string;
  readonly openblasCoreDetected?: string;
  /** What was done about OpenBLAS, or why it is not used. */
  readonly note?: string;
  /**
   * How waiting OpenMP threads wait, e.g. "spin 100 µs then sleep (GOMP_SPINCOUNT=9524, 10.5 ns
   * a spin)", "sleep at once (OMP_WAIT_POLICY=PASSIVE; no spin probe)" or "as set: …" (the user's).
   */
  readonly waitPolicy?: string;
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
  const optional = (v: string): string | undefined => (v === '' ? undefined : v);
  return {
    available: true, threads: i.threads, blas: i.blas, cpu: i.cpu, isa: i.isa, kernelIsa: i.kernelIsa, gemm: i.gemm,
    ...(i.openblas ? { openblasCore: i.openblasCore, openblasCoreDetected: i.openblasCoreDetected } : {}),
    ...(optional(i.note) !== undefined ? { note: i.note } : {}),
    waitPolicy: load.waitPolicy,
    nativeKernels,
  };
}

/**
 * One line for logs and benchmarks: CPU, ISA, GEMM path, threads, e.g. "Intel(R) Xeon(R)
 * Processor (GenuineIntel family 6 model 207), ISA avx512, GEMM builtin avx512 (12x32
 * micro-kernel), 2 threads; waiting threads spin 100 µs then sleep (GOMP_SPINCOUNT=9524, 10.5 ns
 * a spin)", or why the backend is unavailable.
 */
export function describeNative(): string {
  const i = nativeInfo();
  if (!i.available) return `native unavailable (${i.reason ?? 'unknown'})`;
  const isa = i.kernelIsa !== i.isa ? `ISA ${i.isa} (kernels at ${i.kernelIsa})` : `ISA ${i.isa}`;
  const wait = i.waitPolicy !== undefined ? `; waiting threads ${i.waitPolicy}` : '';
  return `${i.cpu}, ${isa}, GEMM ${i.gemm}, ${i.threads} threads${i.note !== undefined ? ` (${i.note})` : ''}${wait}`;
}

/** Sets the thread count of the GEMM (and OpenBLAS) and the addon's loops (1..1024). */
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
  // The fused dense, softmax cross-entropy and tree (axpy, dot) kernels (no cpu counterpart;
  // their ops fall back to tfjs ops on other backends).
  for (const config of [...fusedKernelConfigs(addon), ...treeKernelConfigs(addon)]) {
    if (tf.getKernel(config.kernelName, BACKEND_NAME) === undefined) tf.registerKernel(config);
  }
  registerFusedGradients();
  tf.registerBackend(BACKEND_NAME, () => new NativeBackend(), options.priority ?? 3);
  registered = true;
  return true;
}
