import * as tf from '@tensorflow/tfjs-core';
import { nativeInfo, setNativeThreads } from '../backend';
import { maxRelErr, on, rand, randomValues, setupNative } from '../test-util';

// The native kernel takes the cpu kernel's steps (max, subtract, exp, sum in double, divide)
// with a polynomial exp within 1 ulp of the correctly rounded one, so outputs differ from the
// cpu kernel's by a few float32 ulps (measured ≤ 3e-7 relative); 1e-6 leaves margin and is far
// below what a wrong formula (a missing max subtraction, a wrong sum) gives.
const TOL = 1e-6;
// Gradients: tfjs's dy·y − y·Σ(dy·y) from the same ops on both backends; the row sums differ
// only in summation order.
const GRAD_TOL = 1e-5;

let skip: string | undefined;
beforeAll(() => {
  skip = setupNative();
});

/** Same NaN positions, and max relative error elsewhere below tol (maxRelErr fails on NaN). */
function expectClose(a: Float32Array, b: Float32Array, tol: number): void {
  expect(a.length).toBe(b.length);
  expect(Array.from(a, Number.isNaN)).toEqual(Array.from(b, Number.isNaN));
  const keep = (v: Float32Array) => v.filter((_, i) => !Number.isNaN(a[i]!) && !Number.isNaN(b[i]!));
  expect(maxRelErr(keep(a), keep(b))).toBeLessThan(tol);
}

/** softmax of each row of x [R, C] in float64 (independent of tfjs). */
function softmax64(x: Float32Array, C: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r < x.length / C; r++) {
    let m = -Infinity;
    for (let k = 0; k < C; k++) m = Math.max(m, x[r * C + k]!);
    let s = 0;
    for (let k = 0; k < C; k++) s += Math.exp(x[r * C + k]! - m);
    for (let k = 0; k < C; k++) y[r * C + k] = Math.exp(x[r * C + k]! - m) / s;
  }
  return y;
}

function maxErr64(a: Float32Array, b: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!) / (1 + Math.abs(b[i]!)));
  return m;
}

describe('Softmax on native vs the stock cpu kernel', () => {
  const shapes: Array<[string, number[], number]> = [
    ['rank 1, 17', [17], 3],
    ['rows of length 1', [5, 1], 3],
    ['rank 2, rows of 3', [7, 3], 4],
    ['rank 3, rows of 17', [2, 5, 17], 5],
    ['rank 4, rows of 128 (attention scores)', [2, 4, 9, 128], 8],
    ['rows of 1000', [3, 1000], 6],
    ['rank 4, odd', [3, 1, 5, 7], 2],
    ['enough rows for both threads', [64, 4, 33, 17], 4],
  ];
  test.each(shapes)('%s', async (_n, shape, scale) => {
    if (skip) return;
    const before = tf.memory().numTensors;
    const f = () => [tf.softmax(tf.mul(rand(shape, 11), scale))];
    const [n] = await on('native', f);
    const [c] = await on('cpu', f);
    expect(maxRelErr(n!, c!)).toBeLessThan(TOL);
    const x = randomValues(n!.length, 11).map((v) => Math.fround(v * scale));
    expect(maxErr64(n!, softmax64(x, shape[shape.length - 1]!))).toBeLessThan(TOL);
    expect(tf.memory().numTensors).toBe(before);
  });

  test('large, very negative, infinite and NaN logits behave as on cpu', async () => {
    if (skip) return;
    const rows = [
      [1e30, -1e30, 3e29, 0],        // huge spread: one-hot up to rounding
      [88, 89, 90, 91],              // exp would overflow without the max subtraction
      [-1e4, -1e4 + 1, -1e4 + 2, -1e4 + 3],
      [-Infinity, 0, 1, -Infinity],  // -Infinity entries get 0
      [-Infinity, -Infinity, -Infinity, -Infinity], // all -Infinity: NaN (−∞ − −∞), as cpu
      [Infinity, 0, 1, 2],           // +Infinity: NaN row, as cpu
      [0, NaN, 1, 2],                // NaN: the whole row NaN, as cpu's Max
      [NaN, 5, -5, 0],
      [-0, 0, -0, 0],
    ];
    const f = () => [tf.softmax(tf.tensor2d(rows))];
    const [n] = await on('native', f);
    const [c] = await on('cpu', f);
    expectClose(n!, c!, TOL);
    // Hand values: row 0 is [1, 0, 0, 0]; row 3 is [0, 1, e, 0] / (1 + e).
    expect(Array.from(n!.subarray(0, 4))).toEqual([1, 0, 0, 0]);
    const e = Math.E;
    expect(maxErr64(n!.subarray(12, 16), Float64Array.from([0, 1 / (1 + e), e / (1 + e), 0]))).toBeLessThan(TOL);
    expect(Array.from(n!.subarray(16, 28)).every(Number.isNaN)).toBe(true);
    expect(Array.from(n!.subarray(32, 36))).toEqual([0.25, 0.25, 0.25, 0.25]);
  });

  test('relative accuracy over the whole range of exp, denormals and underflow included', async () => {
    if (skip) return;
    // softmax([0, −t]) = [1, e^−t] / (1 + e^−t) for t = 0 … 110: the small entry is exp itself.
    const ts = Array.from({ length: 2201 }, (_, i) => Math.fround(i * 0.05));
    const [n] = await on('native', () => [tf.softmax(tf.tensor2d(ts.flatMap((t) => [0, -t]), [ts.length, 2]))]);
    let worst = 0;
    ts.forEach((t, i) => {
      const small = Math.exp(-t) / (1 + Math.exp(-t)), got = n![2 * i + 1]!;
      expect(n![2 * i]! + got).toBeCloseTo(1, 6);
      if (small > 1.2e-38) worst = Math.max(worst, Math.abs(got - small) / small);
      else if (small > 1e-45) expect(Math.abs(got - small)).toBeLessThanOrEqual(2 ** -148); // denormal: within 2 of its ulps
      else if (t > 104) expect(got).toBe(0);
    });
    expect(worst).toBeLessThan(TOL);
  });

  test('gradients through softmax match cpu and a float64 reference', async () => {
    if (skip) return;
    const before = tf.memory().numTensors;
    const shape = [2, 3, 7, 19];
    const f = () => {
      const x = tf.mul(rand(shape, 21), 3), w = rand(shape, 22);
      // (Double back-propagation through tfjs's Softmax gradient fails on cpu too: its saved
      // output is not on the outer tape, so only first derivatives are compared.)
      return [tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.softmax(t), w)))(x)];
    };
    const [n] = await on('native', f);
    const [c] = await on('cpu', f);
    expect(maxRelErr(n!, c!)).toBeLessThan(GRAD_TOL);
    // d/dx_i Σ_k y_k w_k = y_i (w_i − Σ_k y_k w_k).
    const C = shape[3]!;
    const x = randomValues(n!.length, 21).map((v) => Math.fround(Math.fround(v) * 3));
    const w = randomValues(n!.length, 22);
    const y = softmax64(x, C);
    const ref = new Float64Array(x.length);
    for (let r = 0; r < x.length / C; r++) {
      let yw = 0;
      for (let k = 0; k < C; k++) yw += y[r * C + k]! * w[r * C + k]!;
      for (let k = 0; k < C; k++) ref[r * C + k] = y[r * C + k]! * (w[r * C + k]! - yw);
    }
    expect(maxErr64(n!, ref)).toBeLessThan(GRAD_TOL);
    expect(tf.memory().numTensors).toBe(before);
  });

  test('dim: the last axis by -1 or rank - 1; any other dim is refused as on cpu', async () => {
    if (skip) return;
    const x = () => rand([3, 4, 5], 31);
    const run = (dim: number) => () => tf.engine().runKernel('Softmax', { logits: x() }, { dim }) as tf.Tensor;
    const [a] = await on('native', run(-1));
    const [b] = await on('native', run(2));
    const [c] = await on('cpu', run(2));
    expect(Array.from(a!)).toEqual(Array.from(b!));
    expect(maxRelErr(b!, c!)).toBeLessThan(TOL);
    const message = async (backend: string): Promise<string> => {
      try {
        await on(backend, run(1));
      } catch (e) {
        return (e as Error).message;
      }
      return 'no error';
    };
    const cpuMessage = await message('cpu');
    expect(cpuMessage).toMatch(/Softmax along a non-last dimension is not yet supported/);
    expect(await message('native')).toBe(cpuMessage);
    await expect(on('native', () => tf.softmax(x(), 0))).rejects.toThrow(/non-last dimension/);
  });

  test('bit-identical across runs and thread counts (each row is one fixed-order loop on one thread)', async () => {
    if (skip) return;
    const threads = nativeInfo().threads ?? 2;
    const f = () => [tf.softmax(tf.mul(rand([32, 4, 16, 128], 41), 6))];
    try {
      setNativeThreads(2);
      const [a] = await on('native', f);
      const [b] = await on('native', f);
      setNativeThreads(1);
      const [c] = await on('native', f);
      expect(Buffer.from(a!.buffer).equals(Buffer.from(b!.buffer))).toBe(true);
      expect(Buffer.from(a!.buffer).equals(Buffer.from(c!.buffer))).toBe(true);
    } finally {
      setNativeThreads(threads);
    }
  });
});
