import * as tf from '@tensorflow/tfjs-core';
import { transformer, TransformerOptions } from './transformer';
import { disposeTree, evalLoss, tensorGrowth, trainSgd, useCpu } from './test-util';

beforeAll(useCpu);

const small: Partial<TransformerOptions> = { vocabSize: 8, seqLen: 6, dModel: 8, numHeads: 2, numLayers: 1, dFF: 16, numClasses: 2 };

/** Label 1 iff token 7 occurs in the sequence (tokens 1..7; 0 is reserved for padding). */
const presenceTask = (n: number): { x: tf.Tensor2D; y: tf.Tensor1D } => {
  let s = 99;
  const rand = (k: number): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) % k);
  const xs: number[][] = [];
  const ys: number[] = [];
  for (let i = 0; i < n; i++) {
    const row = Array.from({ length: 6 }, () => 1 + rand(6)); // tokens 1..6
    if (i % 2 === 1) row[rand(6)] = 7;
    xs.push(row);
    ys.push(i % 2);
  }
  return { x: tf.tensor2d(xs, [n, 6], 'int32'), y: tf.tensor1d(ys, 'int32') };
};

describe('transformer', () => {
  it.each(['mean', 'cls'] as const)('%s pooling gives [batch, classes] logits', (pooling) => {
    const m = transformer({ ...small, pooling });
    const { params, state } = m.init(0);
    const x = tf.tensor2d([[1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1], [0, 0, 1, 1, 7, 7]], [3, 6], 'int32');
    const r = m.apply(params, state, x, { training: false });
    expect(r.logits.shape).toEqual([3, 2]);
    r.logits.dispose();
    x.dispose();
    disposeTree(params);
  });

  it.each(['mean', 'cls'] as const)('trains on a token-presence task (%s pooling)', (pooling) => {
    const m = transformer({ ...small, pooling });
    const { params, state } = m.init(5);
    const { x, y } = presenceTask(16);
    const out = trainSgd(m, params, state, x, y, { steps: 40, lr: 0.5 });
    // Start ≈ ln 2 ≈ 0.69; require the loss to at least halve.
    expect(evalLoss(m, out.params, out.state, x, y)).toBeLessThan(0.5 * (out.losses[0] as number));
    disposeTree(out.params);
    disposeTree(params);
    [x, y].forEach((t) => t.dispose());
  });

  it("'gather' and 'onehot' embeddings give the same logits and the same gradients", () => {
    const a = transformer({ ...small, embedding: 'gather' });
    const b = transformer({ ...small, embedding: 'onehot' });
    const { params, state } = a.init(1);
    const x = tf.tensor2d([[1, 2, 3, 1, 2, 3], [7, 7, 1, 2, 2, 3]], [2, 6], 'int32');
    const keys = Object.keys(params);
    const gradsOf = (m: typeof a): tf.Tensor[] =>
      tf.grads((...ws: tf.Tensor[]) =>
        tf.sum(tf.square(m.apply(Object.fromEntries(keys.map((k, i) => [k, ws[i]!])), state, x, { training: true }).logits)) as tf.Scalar,
      )(keys.map((k) => params[k]!));
    const ga = gradsOf(a);
    const gb = gradsOf(b);
    // Both are exact sums of the same products in float32; 1e-5 absolute covers reordering.
    ga.forEach((g, i) => {
      const d = tf.max(tf.abs(tf.sub(g, gb[i]!))).dataSync()[0] as number;
      expect(d).toBeLessThan(1e-5);
    });
    // The table gradient is non-zero exactly on the rows of the tokens used (1, 2, 3, 7).
    const rows = tf.sum(tf.abs(ga[keys.indexOf('embed/tokens')]!), 1).dataSync();
    const used = new Set([1, 2, 3, 7]);
    rows.forEach((v, r) => expect(v > 0).toBe(used.has(r)));
    [...ga, ...gb, x].forEach((t) => t.dispose());
    disposeTree(params);
  });

  it.each(['mean', 'cls'] as const)('with padId, tokens at padded positions do not change the logits (%s)', (pooling) => {
    const m = transformer({ ...small, vocabSize: 9, pooling, padId: 8 });
    const { params, state } = m.init(2);
    // x1 is [1, 2, 3] padded with 8s; x2 has real tokens where x1 has pads.
    const x1 = tf.tensor2d([[1, 2, 3, 8, 8, 8]], [1, 6], 'int32');
    const x2 = tf.tensor2d([[1, 2, 3, 4, 5, 6]], [1, 6], 'int32');
    const padded = m.apply(params, state, x1, { training: false });
    // Reference: the same model without masking on a length-3 input gives the same logits iff
    // pads are ignored everywhere (attention keys and mean pooling).
    const m3 = transformer({ ...small, vocabSize: 9, pooling, seqLen: 3 });
    const p3 = { ...params, 'embed/positions': tf.slice(params['embed/positions']!, [0, 0], [pooling === 'cls' ? 4 : 3, 8]) };
    const x3 = tf.tensor2d([[1, 2, 3]], [1, 3], 'int32');
    const short = m3.apply(p3, state, x3, { training: false });
    // Masked logits use exp(−1e9) = 0 exactly, so only summation order differs: 1e-5.
    const d = tf.max(tf.abs(tf.sub(padded.logits, short.logits))).dataSync()[0] as number;
    expect(d).toBeLessThan(1e-5);
    const unpadded = m.apply(params, state, x2, { training: false });
    expect(tf.max(tf.abs(tf.sub(padded.logits, unpadded.logits))).dataSync()[0]).toBeGreaterThan(1e-6);
    [x1, x2, x3, padded.logits, short.logits, unpadded.logits, p3['embed/positions']].forEach((t) => t.dispose());
    disposeTree(params);
  });

  it('rejects float inputs, wrong lengths and heads that do not divide dModel', () => {
    const m = transformer(small);
    const { params, state } = m.init(0);
    const xf = tf.zeros([1, 6]);
    expect(() => m.apply(params, state, xf, { training: false })).toThrow(/dtype float32, expected int32/);
    const xl = tf.zeros([1, 5], 'int32');
    expect(() => m.apply(params, state, xl, { training: false })).toThrow(/expected \[batch, 6\]/);
    expect(() => transformer({ dModel: 10, numHeads: 4 })).toThrow(/'numHeads' \(4\) must divide 'dModel' \(10\)/);
    [xf, xl].forEach((t) => t.dispose());
    disposeTree(params);
  });

  it('leaks nothing (dropout on, padding mask on)', () => {
    const m = transformer({ ...small, dropout: 0.1, padId: 0, pooling: 'cls' });
    const { params, state } = m.init(0);
    const x = tf.tensor2d([[1, 2, 0, 0, 0, 0], [3, 4, 5, 6, 7, 0]], [2, 6], 'int32');
    expect(tensorGrowth(m, params, state, x)).toBe(0);
    x.dispose();
    disposeTree(params);
  });
});
