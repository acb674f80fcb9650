import * as tf from '@tensorflow/tfjs-core';
import { NativeBackend, nativeInfo, setNativeThreads } from '../backend';
import type { NativeAddon } from '../addon';
import { on, rand, randomValues, setupNative } from '../test-util';
import { softmaxSpec } from './softmax';
import { transposeSpec } from './transpose';
import type { KernelArgs } from './util';

// A transpose is a copy: native must equal the cpu kernel bit for bit.

let skip: string | undefined;
beforeAll(() => {
  skip = setupNative();
});

function permutations(n: number): number[][] {
  if (n === 0) return [[]];
  const out: number[][] = [];
  for (const p of permutations(n - 1)) {
    for (let i = 0; i <= p.length; i++) out.push([...p.slice(0, i), n - 1, ...p.slice(i)]);
  }
  return out;
}

/** y[j] = x[i] where j is the output index of x's multi-index i under perm (no tfjs). */
function transposeRef(x: Float32Array, shape: number[], perm: number[]): Float32Array {
  const r = shape.length, outShape = perm.map((p) => shape[p]!);
  const y = new Float32Array(x.length);
  const idx = new Array<number>(r).fill(0);
  for (let i = 0; i < x.length; i++) {
    let rem = i;
    for (let k = r - 1; k >= 0; k--) { idx[k] = rem % shape[k]!; rem = Math.floor(rem / shape[k]!); }
    let j = 0;
    for (let k = 0; k < r; k++) j = j * outShape[k]! + idx[perm[k]!]!;
    y[j] = x[i]!;
  }
  return y;
}

const bits = (a: Float32Array | Int32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

async function expectSameAsCpu(shape: number[], perm: number[], seed: number): Promise<Float32Array> {
  const f = () => [tf.transpose(rand(shape, seed), perm)];
  const [n] = await on('native', f);
  const [c] = await on('cpu', f);
  expect(bits(n!).equals(bits(c!))).toBe(true);
  return n!;
}

/** The float32 pool grows by exactly the output's bytes when a native kernel's output is disposed. */
async function producedNatively(f: (x: tf.Tensor) => tf.Tensor, x: () => tf.Tensor): Promise<boolean> {
  const prev = tf.getBackend();
  await tf.setBackend('native');
  try {
    const be = tf.backend() as NativeBackend;
    const input = x();
    const y = f(input);
    const b1 = be.poolStats().bytes;
    const n = y.size;
    tf.dispose([y, input]);
    return be.poolStats().bytes - b1 === 4 * n;
  } finally {
    await tf.setBackend(prev);
  }
}

describe('Transpose on native vs the stock cpu kernel', () => {
  test.each(permutations(4).map((p) => [p.join(',')]))('rank 4 [3, 5, 2, 7], perm [%s]', async (p) => {
    if (skip) return;
    const perm = p.split(',').map(Number);
    const n = await expectSameAsCpu([3, 5, 2, 7], perm, 1);
    expect(bits(n).equals(bits(transposeRef(randomValues(3 * 5 * 2 * 7, 1), [3, 5, 2, 7], perm)))).toBe(true);
  });

  test('every permutation of a rank-4 shape with a unit axis, and of rank 3', async () => {
    if (skip) return;
    for (const perm of permutations(4)) await expectSameAsCpu([2, 1, 3, 4], perm, 2);
    for (const perm of permutations(3)) await expectSameAsCpu([5, 17, 33], perm, 3);
  });

  test('rank 0, 1, 2 (partial tiles) and 5', async () => {
    if (skip) return;
    await expectSameAsCpu([], [], 4);
    await expectSameAsCpu([9], [0], 4);
    await expectSameAsCpu([37, 53], [1, 0], 5);
    await expectSameAsCpu([1, 40], [1, 0], 5);
    await expectSameAsCpu([16, 16], [1, 0], 5);
    for (const perm of [[4, 2, 0, 3, 1], [0, 1, 2, 4, 3], [1, 0, 2, 3, 4], [3, 4, 0, 1, 2], [4, 3, 2, 1, 0]]) {
      await expectSameAsCpu([2, 3, 1, 4, 5], perm, 6);
      await expectSameAsCpu([3, 2, 4, 2, 5], perm, 7);
    }
  });

  test('attention layouts, large enough for both threads, on 1 and 2 threads', async () => {
    if (skip) return;
    const threads = nativeInfo().threads ?? 2;
    try {
      for (const t of [1, 2]) {
        setNativeThreads(t);
        await expectSameAsCpu([16, 128, 4, 16], [0, 2, 1, 3], 8); // split heads: runs of 16
        await expectSameAsCpu([16, 4, 128, 16], [0, 1, 3, 2], 9); // kᵀ: tiled
        await expectSameAsCpu([300, 257], [1, 0], 10);
      }
    } finally {
      setNativeThreads(threads);
    }
  });

  test('the native kernel produced the outputs (not the cpu fallback)', async () => {
    if (skip) return;
    expect(await producedNatively((x) => tf.transpose(x, [0, 2, 1, 3]), () => rand([3, 5, 2, 7], 1))).toBe(true);
    expect(await producedNatively((x) => tf.transpose(x, [1, 0]), () => rand([37, 53], 1))).toBe(true);
    expect(await producedNatively((x) => tf.softmax(x), () => rand([4, 9], 1))).toBe(true);
    // And the check can fail: a cpu kernel's output is not recycled.
    expect(await producedNatively((x) => tf.exp(x), () => rand([4, 9], 1))).toBe(false);
  });

  test('int32 bits copied exactly; bool falls back to the cpu kernel', async () => {
    if (skip) return;
    const vals = Int32Array.from({ length: 3 * 4 * 5 }, (_, i) => (i * 2654435761) | 0);
    const run = async (backend: string, dtype: 'int32' | 'bool') => {
      const prev = tf.getBackend();
      await tf.setBackend(backend);
      try {
        const x = tf.tensor(dtype === 'bool' ? vals.map((v) => v & 1) : vals, [3, 4, 5], dtype);
        const y = tf.transpose(x, [2, 0, 1]);
        const out = { dtype: y.dtype, shape: y.shape, values: Array.from(await y.data() as Int32Array | Uint8Array) };
        tf.dispose([x, y]);
        return out;
      } finally {
        await tf.setBackend(prev);
      }
    };
    for (const dtype of ['int32', 'bool'] as const) {
      const n = await run('native', dtype), c = await run('cpu', dtype);
      expect(n).toEqual(c);
      expect(n.dtype).toBe(dtype);
      expect(n.shape).toEqual([5, 3, 4]);
    }
  });

  test('gradients through transpose match cpu', async () => {
    if (skip) return;
    const f = () => {
      const x = rand([3, 4, 5, 2], 11), w = rand([5, 3, 2, 4], 12);
      return [tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.square(tf.transpose(t, [2, 0, 3, 1])), w)))(x)];
    };
    const [n] = await on('native', f);
    const [c] = await on('cpu', f);
    expect(bits(n!).equals(bits(c!))).toBe(true);
  });

  test('a perm that is not a permutation is refused with an error naming it', async () => {
    if (skip) return;
    const bad = (perm: number[]) => () => tf.engine().runKernel('Transpose', { x: rand([2, 3], 1) }, { perm }) as tf.Tensor;
    await expect(on('native', bad([0, 0]))).rejects.toThrow(/Transpose perm \[0,0\] is not a permutation of 0\.\.1 for a tensor of shape \[2,3\]/);
    await expect(on('native', bad([0]))).rejects.toThrow(/is not a permutation/);
    await expect(on('native', bad([0, 2]))).rejects.toThrow(/is not a permutation/);
    // A typed-array perm (what a caller of runKernel may pass) is a permutation like any other.
    const typed = () => tf.engine().runKernel('Transpose', { x: rand([2, 3], 1) }, { perm: Int32Array.from([1, 0]) as unknown as number[] }) as tf.Tensor;
    const [n] = await on('native', typed);
    const [c] = await on('cpu', typed);
    expect(bits(n!).equals(bits(c!))).toBe(true);
  });

  test('an addon built before these kernels existed falls back to the cpu kernels', () => {
    const stale = {} as unknown as NativeAddon; // no softmax, no transpose
    const calls: string[] = [];
    const fallback = ((a: { inputs: Record<string, unknown> }) => { calls.push(Object.keys(a.inputs)[0]!); return 'cpu'; }) as unknown as tf.KernelFunc;
    const x = { dataId: {}, shape: [2, 3], dtype: 'float32' } as tf.TensorInfo;
    const backend = {} as KernelArgs['backend'];
    expect(transposeSpec.make(stale)({ inputs: { x }, backend, attrs: { perm: [1, 0] } }, fallback)).toBe('cpu');
    expect(softmaxSpec.make(stale)({ inputs: { logits: x }, backend, attrs: { dim: -1 } }, fallback)).toBe('cpu');
    expect(calls).toEqual(['x', 'logits']);
  });

  test('no tensor leaks', async () => {
    if (skip) return;
    const before = tf.memory().numTensors;
    await expectSameAsCpu([2, 3, 4], [2, 1, 0], 13);
    await on('native', () => [tf.transpose(tf.tensor([1, 2, 3, 4, 5, 6], [2, 3], 'int32'), [1, 0])]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
