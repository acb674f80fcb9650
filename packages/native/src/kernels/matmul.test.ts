import * as tf from '@tensorflow/tfjs-core';
import { maxRelErr, on, rand, setupNative } from '../test-util';

// float32 tolerance: sgemm sums in a different order (blocked, FMA) from the cpu kernel's
// sequential loop; for K <= 64 products of values in [-1,1) the two roundings differ by at most
// ~K·2^-24·Σ|a||b| ≈ 1e-5 relative to (1 + |c|). 1e-5 leaves margin; a wrong index gives O(1).
const TOL = 1e-5;

let skip: string | undefined;
beforeAll(() => {
  skip = setupNative();
});

describe('BatchMatMul on native vs the stock cpu kernel', () => {
  const cases: Array<[string, number[], number[], boolean, boolean]> = [
    ['2-D', [5, 7], [7, 3], false, false],
    ['transposeA', [7, 5], [7, 3], true, false],
    ['transposeB', [5, 7], [3, 7], false, true],
    ['both transposed', [7, 5], [3, 7], true, true],
    ['batched', [4, 5, 7], [4, 7, 3], false, false],
    ['batched, b broadcast', [2, 3, 5, 7], [7, 6], false, false],
    ['batched, a broadcast, transposed', [1, 7, 5], [4, 6, 7], true, true],
    ['vector-like', [1, 64], [64, 1], false, false],
  ];
  test.each(cases)('%s', async (_name, aShape, bShape, ta, tb) => {
    if (skip) return;
    const before = tf.memory().numTensors;
    const f = () => tf.matMul(rand(aShape, 1), rand(bShape, 2), ta, tb);
    const [n] = await on('native', f);
    const [c] = await on('cpu', f);
    expect(maxRelErr(n!, c!)).toBeLessThan(TOL);
    expect(tf.memory().numTensors).toBe(before);
  });

  test('a hand-computed product', async () => {
    if (skip) return;
    // [[1,2],[3,4]]·[[5,6],[7,8]] = [[19,22],[43,50]]
    const [n] = await on('native', () => tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5, 6], [7, 8]])));
    expect(Array.from(n!)).toEqual([19, 22, 43, 50]);
  });

  test('mismatched inner sizes fail naming the shapes', async () => {
    if (skip) return;
    await tf.setBackend('native');
    expect(() => tf.matMul(tf.zeros([2, 3]), tf.zeros([4, 2]))).toThrow(/inner shapes \(3\) and \(4\)/);
  });

  test('fused matMul with bias and relu', async () => {
    if (skip) return;
    const f = () => tf.fused.matMul({ a: rand([6, 5], 3), b: rand([5, 4], 4), bias: rand([4], 5), activation: 'relu' });
    const [n] = await on('native', f);
    const [c] = await on('cpu', f);
    expect(maxRelErr(n!, c!)).toBeLessThan(TOL);
  });

  test('int32 operands fall back to the cpu kernel', async () => {
    if (skip) return;
    const [n] = await on('native', () => tf.matMul(tf.tensor2d([[1, 2]], [1, 2], 'int32'), tf.tensor2d([[3], [4]], [2, 1], 'int32')));
    expect(Array.from(n!)).toEqual([11]);
  });
});
