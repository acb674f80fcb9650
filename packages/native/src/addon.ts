import * as path from 'path';
import * as fs from 'fs';

/**
 * The lets_native addon's functions. Tensors are passed as Float32Array views of the tfjs cpu
 * backend's storage (read and written in place, no copy); convolution and pooling geometry as an
 * Int32Array `[B, H, W, Ci, OH, OW, Co, fh, fw, sh, sw, dh, dw, padTop, padLeft, cm]` (NHWC).
 */
export interface NativeAddon {
  /** c[i] = op(a[i % batchA]) · op(b[i % batchB]), a [M,K] (or [K,M]), b [K,N] (or [N,K]). */
  gemm(a: Float32Array, b: Float32Array, c: Float32Array, batch: number, batchA: number, batchB: number,
    M: number, N: number, K: number, transA: boolean, transB: boolean): void;
  conv2d(x: Float32Array, w: Float32Array, y: Float32Array, geometry: Int32Array): void;
  conv2dBackpropInput(dy: Float32Array, w: Float32Array, dx: Float32Array, geometry: Int32Array): void;
  conv2dBackpropFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, geometry: Int32Array): void;
  depthwiseConv2d(x: Float32Array, w: Float32Array, y: Float32Array, geometry: Int32Array): void;
  depthwiseBackpropInput(dy: Float32Array, w: Float32Array, dx: Float32Array, geometry: Int32Array): void;
  depthwiseBackpropFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, geometry: Int32Array): void;
  pool(x: Float32Array, y: Float32Array, geometry: Int32Array, isMax: boolean): void;
  avgPoolGrad(dy: Float32Array, dx: Float32Array, geometry: Int32Array): void;
  maxPoolGrad(dy: Float32Array, x: Float32Array, dx: Float32Array, geometry: Int32Array): void;
  batchNorm(x: Float32Array, mean: Float32Array, variance: Float32Array, offset: Float32Array | null,
    scale: Float32Array | null, varianceEpsilon: number, y: Float32Array): void;
  /** y[r, c] = act(y[r, c] + bias[c]) in place; act 0 = linear, 1 = relu. */
  biasAct(y: Float32Array, rows: number, C: number, bias: Float32Array | null, act: 0 | 1): void;
  /**
   * out = a (op) b, op 0 add, 1 sub, 2 mul, 3 div, 4 (a − b)², over merged dims with element strides
   * (0 = broadcast): layout [d0, d1, d2, sa0, sa1, sa2, sb0, sb1, sb2].
   */
  binary(op: 0 | 1 | 2 | 3 | 4, a: Float32Array, b: Float32Array, out: Float32Array, layout: Int32Array): void;
  /** y = relu(x) (op 0) or step(x) = x > 0 ? 1 : alpha, NaN kept (op 1). */
  unary(op: 0 | 1, x: Float32Array, y: Float32Array, alpha: number): void;
  /** x [R, C]: out[c] = Σ_r x[r, c] (leading) or out[r] = Σ_c x[r, c]; accumulated in double. */
  sum(x: Float32Array, out: Float32Array, R: number, C: number, leading: boolean): void;
  /** y = relu(x + b) for x, y [R, C], b [C] (absent from addons built before it). */
  biasRelu?(x: Float32Array, b: Float32Array, y: Float32Array, R: number, C: number): void;
  /** dx = dy · step(y), db = Σ_rows dx, in the Sum kernel's order (absent from addons built before it). */
  biasReluGrad?(dy: Float32Array, y: Float32Array, dx: Float32Array, db: Float32Array, R: number, C: number): void;
  /**
   * The built-in GEMM with explicit row strides, on one micro-kernel level (0 portable, 1 AVX2+FMA,
   * 2 AVX-512; lowered to what the CPU has) and thread count: c = op(a)·op(b) + beta·c. For tests.
   */
  gemmBuiltin(a: Float32Array, b: Float32Array, c: Float32Array, M: number, N: number, K: number,
    lda: number, ldb: number, ldc: number, transA: boolean, transB: boolean, beta: number, isa: 0 | 1 | 2, threads: number): void;
  /** y = act(x·w + b), x [M,K], w [K,N], b [N] or null; act 0 linear, 1 relu. */
  denseForward(x: Float32Array, w: Float32Array, b: Float32Array | null, y: Float32Array, M: number, K: number, N: number, act: 0 | 1): void;
  /** dx = (dy ⊙ act'(y))·wᵀ. */
  denseBackpropInput(dy: Float32Array, w: Float32Array, y: Float32Array, dx: Float32Array, M: number, K: number, N: number, act: 0 | 1): void;
  /** dw = xᵀ·g, db = Σ_rows g with g = dy ⊙ act'(y). */
  denseBackpropParams(dy: Float32Array, x: Float32Array, y: Float32Array, dw: Float32Array, db: Float32Array | null,
    M: number, K: number, N: number, act: 0 | 1): void;
  /** mean_b(logΣexp(z_b) − Σ_k y_bk z_bk) for z, y [B, C]. */
  softmaxXent(z: Float32Array, y: Float32Array, B: number, C: number): number;
  /** dz = dl · (softmax(z) − y) / B. */
  softmaxXentGrad(dl: number, z: Float32Array, y: Float32Array, dz: Float32Array, B: number, C: number): void;
  /** y = softmax of each row of x [R, C] (max-subtract, exp, sum in double, divide), as tfjs-cpu. */
  softmax(x: Float32Array, y: Float32Array, R: number, C: number): void;
  /**
   * y = x with its axes permuted (y's axis i is x's axis perm[i]); x and y are both Float32Array
   * or both Int32Array (bits copied), shape and perm have the same length (at most 16).
   */
  transpose(x: Float32Array | Int32Array, y: Float32Array | Int32Array, shape: Int32Array, perm: Int32Array): void;
  /** out = x + fround(s)·y, the product rounded to float32 before the add (no fused multiply-add). */
  axpy(x: Float32Array, y: Float32Array, s: number, out: Float32Array): void;
  /** Σ a·b: the float32 products summed in order in double, rounded once to float32. */
  dot(a: Float32Array, b: Float32Array): number;
  /** n = g / fround(d), p = w + fround(s)·n, each operation rounded to float32 (no fused multiply-add). */
  divAxpy?(g: Float32Array, w: Float32Array, d: number, s: number, n: Float32Array, p: Float32Array): void;
  /** out = (a − b)·fround(s), the difference rounded to float32 before the product. */
  subScale?(a: Float32Array, b: Float32Array, s: number, out: Float32Array): void;
  /**
   * out[j] = Σ a_j·b_j for pairs = [a0, b0, a1, b1, …], each as `dot` gives it (several chains at
   * once and over the threads, none split).
   */
  dots?(pairs: Float32Array[], out: Float32Array): void;
  setThreads(n: number): void;
  /** Column-buffer floats per convolution chunk; 0 restores LETS_NATIVE_CHUNK_FLOATS or 2^17. */
  setChunkFloats(n: number): void;
  info(): AddonInfo;
}

/** What the addon reports about itself. */
export interface AddonInfo {
  readonly threads: number;
  /** OpenBLAS's configuration string when it is loaded, else "builtin". */
  readonly blas: string;
  /** The CPU's brand string, vendor, family and model, from cpuid. */
  readonly cpu: string;
  /** The best vector ISA the CPU and OS support: "avx512", "avx2+fma" or "portable". */
  readonly isa: string;
  /** The micro-kernel level in use (the ISA, or lower with LETS_NATIVE_ISA). */
  readonly kernelIsa: string;
  /** Which GEMM runs for which products. */
  readonly gemm: string;
  /** LETS_NATIVE_BLAS: "auto" (default), "builtin" or "openblas". */
  readonly blasMode: string;
  readonly openblas: boolean;
  /** OpenBLAS's kernel core in use, and the one it chose itself ("" when not loaded). */
  readonly openblasCore: string;
  readonly openblasCoreDetected: string;
  /** Why OpenBLAS is not used, or what the addon did to it. */
  readonly note: string;
}

/**
 * Where the addon is loaded from: `LETS_NATIVE_ADDON`, else the package's build/Release
 * (beside this file's package; when this code is bundled into another file, __dirname is the
 * bundle's folder, so the installed package is found through Node's resolution).
 */
export function addonPath(): string {
  if (process.env.LETS_NATIVE_ADDON !== undefined) return process.env.LETS_NATIVE_ADDON;
  const local = path.join(__dirname, '..', 'build', 'Release', 'lets_native.node');
  if (fs.existsSync(local)) return local;
  try {
    const manifest = '@lets/native/package.json'; // a variable, so bundlers leave it to Node
    return path.join(path.dirname(require.resolve(manifest)), 'build', 'Release', 'lets_native.node');
  } catch {
    return local;
  }
}

export type AddonLoad =
  | { readonly ok: true; readonly addon: NativeAddon; readonly path: string; readonly waitPolicy: string }
  | { readonly ok: false; readonly reason: string };

let cached: AddonLoad | undefined;

/** Where the choice below is kept for child processes: `${OMP_WAIT_POLICY}|${GOMP_SPINCOUNT}|${description}`. */
const WAIT_POLICY_ENV = 'LETS_NATIVE_WAIT_POLICY';

/** How long waiting OpenMP threads spin before they sleep, when neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT is set. */
export const SPIN_TARGET_US = 100;

/**
 * libgomp's GOMP_SPINCOUNT for a spin of `targetUs` microseconds, given the nanoseconds of one
 * iteration of its spin loop (the probe's `spinNs()`); clamped to [1000, 100000] iterations
 * (a probe that misreads the clock stays between a few µs and a few ms). Undefined for a reading
 * that is not a positive finite number.
 */
export function spinCountFor(spinNs: number, targetUs: number = SPIN_TARGET_US): number | undefined {
  if (!Number.isFinite(spinNs) || spinNs <= 0) return undefined;
  return Math.min(100000, Math.max(1000, Math.round((targetUs * 1000) / spinNs)));
}

/** Nanoseconds per iteration of the spin-wait loop, from lets_spin.node beside the addon; undefined when it is absent or fails. */
function probeSpinNs(addonFile: string): number | undefined {
  const probe = path.join(path.dirname(addonFile), 'lets_spin.node');
  if (!fs.existsSync(probe)) return undefined;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ns = (require(probe) as { spinNs(): number }).spinNs();
    return Number.isFinite(ns) && ns > 0 ? ns : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Sets libgomp's waiting policy before libgomp loads (it reads the environment once, when the
 * addon brings it in), unless the user chose one; returns it in words for `nativeInfo()`.
 *
 * OpenMP threads that spin while waiting for work take the cores from the thread that has work
 * whenever the machine is shared (more runnable threads than cores): with libgomp's default spin
 * (300,000 iterations, about 3 ms on a CPU whose `pause` takes 10 ns) a training step became 10x
 * slower in our measurements. Threads that sleep at once (PASSIVE) pay a futex wake at every
 * parallel region instead: a fifth of a small MLP step on an idle 2-core guest. So they spin for
 * about SPIN_TARGET_US (100 µs, the gap between one kernel's region and the next), timed by the
 * probe, then sleep; without the probe, PASSIVE (docs/native.md has the figures).
 */
function chooseWaitPolicy(addonFile: string): string {
  const policy = process.env.OMP_WAIT_POLICY, count = process.env.GOMP_SPINCOUNT;
  // What this function set is in the environment of every process started after it (the CLI's
  // workers, a benchmark's PyTorch): a child says it came from the parent, not from the user.
  const mine = process.env[WAIT_POLICY_ENV];
  if (mine !== undefined && mine.startsWith(`${policy ?? ''}|${count ?? ''}|`)) return `${mine.split('|').slice(2).join('|')}, as the parent process chose`;
  if (policy !== undefined || count !== undefined) {
    return `as set: ${[policy !== undefined ? `OMP_WAIT_POLICY=${policy}` : '', count !== undefined ? `GOMP_SPINCOUNT=${count}` : ''].filter(Boolean).join(', ')}`;
  }
  const ns = probeSpinNs(addonFile);
  const n = ns === undefined ? undefined : spinCountFor(ns);
  let said: string;
  if (ns === undefined || n === undefined) {
    process.env.OMP_WAIT_POLICY = 'PASSIVE';
    said = 'sleep at once (OMP_WAIT_POLICY=PASSIVE; no spin probe)';
  } else {
    process.env.GOMP_SPINCOUNT = String(n);
    said = `spin ${((n * ns) / 1000).toFixed(0)} µs then sleep (GOMP_SPINCOUNT=${n}, ${ns.toFixed(1)} ns a spin)`;
  }
  process.env[WAIT_POLICY_ENV] = `${process.env.OMP_WAIT_POLICY ?? ''}|${process.env.GOMP_SPINCOUNT ?? ''}|${said}`;
  return said;
}

/**
 * Loads the addon once. Never throws: a missing or unloadable addon gives `{ok: false, reason}`
 * naming the file and how to build it.
 */
export function loadAddon(): AddonLoad {
  if (cached !== undefined) return cached;
  const file = addonPath();
  if (!fs.existsSync(file)) {
    cached = {
      ok: false,
      reason: `addon not built (${file} missing; install g++, then run \`npx lets-native build\`)`,
    };
    return cached;
  }
  try {
    const waitPolicy = chooseWaitPolicy(file);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const addon = require(file) as NativeAddon;
    cached = { ok: true, addon, path: file, waitPolicy };
  } catch (e) {
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    cached = { ok: false, reason: `addon at ${file} does not load: ${msg}` };
  }
  return cached;
}
