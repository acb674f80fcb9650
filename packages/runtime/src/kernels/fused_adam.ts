/**
 * The fused Adam step as a tfjs kernel, `LetsFusedAdam`: one pass that reads g, m, v and writes
 * m′, v′, u for float32 leaves, in float64 arithmetic, rounding each output once. @lets/optim's
 * `scaleByAdam` reaches it through tfjs's kernel registry (`tf.getKernel` / `runKernel` by this
 * name), never by an import, so optim stays pure math on tensors; runtime registers it for every
 * backend that can run it (`registerTrainingKernels`: cpu, wasm and native).
 *
 * The contract (name, inputs, attributes) is declared on both sides: here and in
 * packages/optim/src/ops/fusedAdam.ts; packages/runtime/src/kernels/fused_adam.test.ts runs it
 * through optim.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Kernel name of the fused Adam step. */
export const FUSED_ADAM = 'LetsFusedAdam';

/**
 * Attributes of the fused Adam step, for t the 1-based step, c1 = 1 − b1ᵗ, c2 = 1 − b2ᵗ,
 * r = √c2: `cm` = r/c1 and `cg` = 0 (Adam) or `cm` = b1·r/(1 − b1ᵗ⁺¹) and `cg` = (1 − b1)·r/c1
 * (NAdam); `er` = c2·epsRoot; `ee` = r·eps. Inputs `{g, m, v}`, outputs `[m′, v′, u]`.
 */
export interface FusedAdamAttrs {
  readonly b1: number;
  readonly b2: number;
  readonly cm: number;
  readonly cg: number;
  readonly er: number;
  readonly ee: number;
}

type Arr = Float32Array;

/**
 * One pass over the elements, in float64 arithmetic, rounding each output once:
 *   m′ = b1·m + (1 − b1)·g,  v′ = b2·v + (1 − b2)·g²,  u = (cm·m′ + cg·g) / (√(v′ + er) + ee).
 * Reads g, m, v and writes m′, v′, u: 24 bytes per float32 element.
 */
const adamLoop = (g: Arr, m: Arr, v: Arr, mo: Arr, vo: Arr, uo: Arr, a: FusedAdamAttrs): void => {
  const { b1, b2, cm, cg, er, ee } = a;
  const d1 = 1 - b1;
  const d2 = 1 - b2;
  const n = g.length;
  for (let i = 0; i < n; i++) {
    const gi = g[i] as number;
    const mi = b1 * (m[i] as number) + d1 * gi;
    const vi = b2 * (v[i] as number) + d2 * gi * gi;
    mo[i] = mi;
    vo[i] = vi;
    uo[i] = (cm * mi + cg * gi) / (Math.sqrt(vi + er) + ee);
  }
};

interface CpuLike {
  readSync(dataId: object): unknown;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: unknown): tf.TensorInfo;
}
interface WasmLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): unknown;
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };
const parts = (args: KernelArgs): [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo, FusedAdamAttrs] => {
  const { g, m, v } = args.inputs as { g: tf.TensorInfo; m: tf.TensorInfo; v: tf.TensorInfo };
  return [g, m, v, args.attrs as unknown as FusedAdamAttrs];
};

/** The kernel for backends that keep values in host typed arrays (the cpu backend and native, which shares its storage). */
const cpuKernel = (args: KernelArgs): tf.TensorInfo[] => {
  const [g, m, v, attrs] = parts(args);
  const b = args.backend as CpuLike;
  const n = tf.util.sizeFromShape(g.shape);
  const [mo, vo, uo] = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
  adamLoop(b.readSync(g.dataId) as Arr, b.readSync(m.dataId) as Arr, b.readSync(v.dataId) as Arr, mo, vo, uo, attrs);
  return [mo, vo, uo].map((x) => b.makeTensorInfo(g.shape.slice(), 'float32', x));
};

/** The wasm backend's kernel: works on views of the wasm heap (taken after every allocation). */
const wasmKernel = (args: KernelArgs): tf.TensorInfo[] => {
  const [g, m, v, attrs] = parts(args);
  const b = args.backend as WasmLike;
  const outs = [0, 1, 2].map(() => b.makeOutput(g.shape.slice(), 'float32'));
  // Heap growth detaches earlier views, so every view is taken after the last allocation.
  const view = (t: tf.TensorInfo) => b.typedArrayFromHeap(t) as Arr;
  const [mo, vo, uo] = outs.map(view) as [Arr, Arr, Arr];
  adamLoop(view(g), view(m), view(v), mo, vo, uo, attrs);
  return outs;
};

const kinds = { cpu: cpuKernel, wasm: wasmKernel } as const;

/**
 * Registers the fused Adam kernel for a backend, as the cpu backend's (`'cpu'`: values in host
 * typed arrays, read with `readSync`) or the wasm backend's (`'wasm'`: values on the wasm heap).
 * `registerTrainingKernels` (called by `initRuntime`) does this for cpu, wasm and native; a
 * backend of your own built on either storage can opt in with this. Idempotent.
 */
export const registerFusedAdamKernel = (backendName: string, like: 'cpu' | 'wasm'): void => {
  if (like !== 'cpu' && like !== 'wasm') throw new Error(`registerFusedAdamKernel: like must be 'cpu' or 'wasm', got ${String(like)}`);
  if (tf.getKernel(FUSED_ADAM, backendName) !== undefined) return;
  tf.registerKernel({ kernelName: FUSED_ADAM, backendName, kernelFunc: kinds[like] as unknown as tf.KernelFunc });
};
