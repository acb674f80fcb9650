import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@lets/runtime';
import type { Params } from '@lets/tree';
import { landscape1d, landscape2d, linspace, randomDirection } from './landscape';
import { disposeProblem, matVec, quadraticLoss, setupCpu, toTree, withSpectrum } from './test-util';

beforeAll(setupCpu);

const A = withSpectrum([5, 3, 2, 1, 0.5, 0.2, 0.1], [1, 2, -1, 0.5, 1, -2, 0.3]);
const X = [0.3, -0.1, 0.7, 0.2, -0.5, 0.4, 0.1];
const C = [0.1, 0.1, 0.2, 0, -0.3, 0.5, 0];
const D1 = [1, 0, -1, 0.5, 0, 0.2, 0.1];
const D2 = [0, 1, 0.5, -0.5, 0.3, 0, -0.2];
/** ½ (r + αd₁ + βd₂)ᵀ A (r + αd₁ + βd₂), r = x − c, in float64. */
const exact = (a: number, b: number): number => {
  const r = X.map((x, i) => x - (C[i] as number) + a * (D1[i] as number) + b * (D2[i] as number));
  return 0.5 * matVec(A, r).reduce((s, y, i) => s + y * (r[i] as number), 0);
};
const disposeTree = (t: Params): void => Object.values(t).forEach((x) => x.dispose());

describe('loss-landscape slices of a quadratic along known directions', () => {
  const problemOf = () => ({ params: toTree(X), chunks: [{ lossFn: quadraticLoss(A, C), weight: 1 }] });

  it('1-D: f(α) = L(w + α d) at 21 points of [−1, 1]', () => {
    const problem = problemOf();
    const d = toTree(D1);
    const before = tf.memory().numTensors;
    const r = landscape1d(problem, { directions: [d] });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.alphas).toHaveLength(21);
    expect(r.alphas[10]).toBe(0);
    r.alphas.forEach((a, i) => expect(r.losses[i]).toBeCloseTo(exact(a, 0), 4));
    expect(r.center).toBeCloseTo(exact(0, 0), 5);
    disposeTree(d);
    disposeProblem(problem);
  });

  it('2-D: f(α, β) = L(w + α d₁ + β d₂) on a grid', () => {
    const problem = problemOf();
    const ds = [toTree(D1), toTree(D2)];
    const before = tf.memory().numTensors;
    const events: number[] = [];
    const r = landscape2d(problem, { directions: ds, points: 5, range: [-2, 2], onProgress: (e) => events.push(e.done) });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.alphas).toEqual([-2, -1, 0, 1, 2]);
    r.alphas.forEach((a, i) => r.betas.forEach((b, j) => expect(r.losses[i]![j]).toBeCloseTo(exact(a, b), 4)));
    expect(events).toHaveLength(25);
    ds.forEach(disposeTree);
    disposeProblem(problem);
  });

  it('random directions: the same for a seed, other for another seed', () => {
    const problem = problemOf();
    const a = landscape1d(problem, { seed: 4, points: 5, normalization: 'layer' });
    const b = landscape1d(problem, { seed: 4, points: 5, normalization: 'layer' });
    const c = landscape1d(problem, { seed: 5, points: 5, normalization: 'layer' });
    expect(a.losses).toEqual(b.losses);
    expect(c.losses).not.toEqual(a.losses);
    disposeProblem(problem);
  });
});

describe('filter-normalized directions (Li et al. 2018)', () => {
  const params = (): Params => {
    const rng = new Rng(9);
    return { 'conv/kernel': rng.normal([3, 3, 2, 4]), 'conv/bias': rng.normal([4]), 'dense/kernel': rng.normal([5, 3], 0, 3) };
  };
  const norms = (x: tf.Tensor): number[] => {
    const cols = x.shape[x.rank - 1] as number;
    const data = x.dataSync();
    const out = new Array<number>(cols).fill(0);
    data.forEach((v, i) => (out[i % cols]! += v * v));
    return out.map(Math.sqrt);
  };

  it('each filter (last axis) of d has the norm of that filter of w; biases are 0 (or w with biasbn: copy)', () => {
    const w = params();
    const before = tf.memory().numTensors;
    const d = randomDirection(w, new Rng(1));
    expect(tf.memory().numTensors).toBe(before + 3);
    for (const k of ['conv/kernel', 'dense/kernel']) {
      const want = norms(w[k]!);
      norms(d[k]!).forEach((n, j) => expect(n).toBeCloseTo(want[j] as number, 4));
    }
    expect([...d['conv/bias']!.dataSync()]).toEqual([0, 0, 0, 0]);
    const copy = randomDirection(w, new Rng(1), { biasbn: 'copy' });
    expect([...copy['conv/bias']!.dataSync()]).toEqual([...w['conv/bias']!.dataSync()]);
    const layer = randomDirection(w, new Rng(1), { normalization: 'layer' });
    const l2 = (t: tf.Tensor): number => Math.hypot(...t.dataSync());
    for (const k of Object.keys(w)) expect(l2(layer[k]!)).toBeCloseTo(l2(w[k]!), 3);
    [w, d, copy, layer].forEach(disposeTree);
  });

  it('linspace includes both ends', () => {
    expect(linspace(-1, 1, 5)).toEqual([-1, -0.5, 0, 0.5, 1]);
    expect(() => linspace(0, 1, 0)).toThrow(/points must be/);
  });
});
