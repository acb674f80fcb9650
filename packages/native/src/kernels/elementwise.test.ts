import * as tf from '@tensorflow/tfjs-core';
import { broadcastLayout } from './elementwise';
import { maxRelErr, on, rand, setupNative } from '../test-util';

// float32: one rounding per element for the binary and unary ops (bit-identical to the cpu
// kernel, which rounds the same IEEE operation); sums accumulate in double on both sides and
// differ only by summation order (≤ 1e-7 relative here). 1e-6 leaves margin.
const TOL = 1e-6;

let skip: string | undefined;
beforeAll(() => {
  skip = setupNative();
});

describe('broadcastLayout', () => {
  test('a bias add merges the leading axes into one row dimension', () => {
    // [2,3,4,5] + [5]: rows of 5, b repeated: dims [1, 24, 5], a strides [0, 5, 1], b [0, 0, 1].
    expect(Array.from(broadcastLayout([2, 3, 4, 5], [5], [2, 3, 4, 5])!)).toEqual([1, 24, 5, 0, 5, 1, 0, 0, 1]);
  });
  test('a per-row scale broadcasts b along the last axis', () => {
    expect(Array.from(broadcastLayout([4, 6], [4, 1], [4, 6])!)).toEqual([1, 4, 6, 0, 6, 1, 0, 1, 0]);
  });
  test('alternating broadcasts beyond three blocks are left to the cpu kernel', () => {
    expect(broadcastLayout([2, 1, 3, 1], [1, 4, 1, 5], [2, 4, 3, 5])).toBeUndefined();
  });
});

describe('elementwise kernels on native vs the stock cpu kernels', () => {
  const pairs: Array<[string, number[], number[]]> = [
    ['same shape', [3, 4, 5], [3, 4, 5]],
    ['bias add', [2, 3, 3, 4], [4]],
    ['per-row', [6, 5], [6, 1]],
    ['scalar', [7, 3], []],
    ['scalar first', [], [2, 5]],
    ['outer product', [4, 1], [1, 6]],
    ['middle broadcast', [2, 3, 4], [2, 1, 4]],
    ['four blocks (cpu fallback)', [2, 1, 3, 1], [1, 4, 1, 5]],
  ];
  test.each(pairs)('%s', async (_n, aShape, bShape) => {
    if (skip) return;
    const before = tf.memory().numTensors;
    const f = () => {
      const a = rand(aShape, 51), b = tf.add(rand(bShape, 52), 2); // b in [1,3): safe divisor
      return [tf.add(a, b), tf.sub(a, b), tf.mul(a, b), tf.div(a, b), tf.squaredDifference(a, b)];
    };
    const n = await on('native', f);
    const c = await on('cpu', f);
    for (let i = 0; i < 5; i++) expect(maxRelErr(n[i]!, c[i]!)).toBeLessThan(TOL);
    expect(tf.memory().numTensors).toBe(before);
  });

  test('Sum and Mean of an empty tensor give what the cpu kernels give (0, or an empty result), not an error', async () => {
    if (skip) return;
    const f = () => {
      const x = tf.zeros([0, 3]);
      return [tf.sum(x), tf.sum(x, 0), tf.sum(x, 1), tf.mean(x, 0), tf.sum(tf.zeros([0]))];
    };
    const n = await on('native', f);
    const c = await on('cpu', f);
    expect(n.map((a) => Array.from(a!))).toEqual(c.map((a) => Array.from(a!)));
    expect(Array.from(n[0]!)).toEqual([0]);
    expect(Array.from(n[1]!)).toEqual([0, 0, 0]);
  });

  test('relu and step, NaN kept', async () => {
    if (skip) return;
    const f = () => {
      const x = tf.tensor1d([-2, -0.5, 0, 0.5, 3, NaN]);
      return [tf.relu(x), tf.step(x), tf.step(x, 0.25)];
    };
    const [relu, step, stepA] = await on('native', f);
    expect(Array.from(relu!)).toEqual([0, 0, 0, 0.5, 3, NaN]);
    expect(Array.from(step!)).toEqual([0, 0, 0, 1, 1, NaN]);
    expect(Array.from(stepA!)).toEqual([0.25, 0.25, 0.25, 1, 1, NaN]);
  });

  test('sums and means over leading, trailing and middle axes, with keepDims', async () => {
    if (skip) return;
    const f = () => {
      const x = rand([3, 4, 5, 6], 61);
      return [tf.sum(x, [0, 1, 2]), tf.sum(x, -1), tf.sum(x, [2, 3], true), tf.sum(x), tf.sum(x, 1), tf.sum(x, [0, 1, 2], true),
        tf.mean(x, [0, 1, 2]), tf.mean(x, -1, true), tf.mean(x), tf.mean(x, 2), tf.moments(x, [0, 1, 2]).variance];
    };
    const n = await on('native', f);
    const c = await on('cpu', f);
    for (let i = 0; i < n.length; i++) expect(maxRelErr(n[i]!, c[i]!)).toBeLessThan(TOL);
  });

  test('hand-computed moments', async () => {
    if (skip) return;
    // Per column of [[1, 2], [3, 6]]: mean [2, 4], variance [1, 4].
    const [m, v] = await on('native', () => { const r = tf.moments(tf.tensor2d([[1, 2], [3, 6]]), 0); return [r.mean, r.variance]; });
    expect(Array.from(m!)).toEqual([2, 4]);
    expect(Array.from(v!)).toEqual([1, 4]);
  });

  test('a hand-computed bias gradient: column sums', async () => {
    if (skip) return;
    const [s] = await on('native', () => tf.sum(tf.tensor3d([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2]), [0, 1]));
    expect(Array.from(s!)).toEqual([16, 20]);
  });
});

describe('UnsortedSegmentSum (gather gradient) on native', () => {
  test('matches the cpu kernel, ids out of range dropped', async () => {
    if (skip) return;
    const f = () => [tf.unsortedSegmentSum(rand([7, 3, 2], 71), tf.tensor1d([2, 0, 2, 5, 1, -1, 0], 'int32'), 4)];
    const [n] = await on('native', f);
    const [c] = await on('cpu', f);
    expect(maxRelErr(n!, c!)).toBeLessThan(TOL);
  });

  test('the gradient of gather: row counts of each index', async () => {
    if (skip) return;
    // d/dtable Σ gather(table, idx) adds 1 to row r once per occurrence of r in idx.
    const [g] = await on('native', () => tf.grad((t: tf.Tensor) => tf.sum(tf.gather(t, tf.tensor1d([1, 3, 1, 1], 'int32'))))(tf.zeros([4, 2])));
    expect(Array.from(g!)).toEqual([0, 0, 3, 3, 0, 0, 1, 1]);
  });
});
