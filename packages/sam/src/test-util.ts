/* Helpers shared by this package's tests (not exported from the package). */
import * as tf from '@tensorflow/tfjs-core';
import * as T from '@lets/tree';
import type { Params } from '@lets/tree';
import { gradFnOf } from '@lets/optim';
import type { GradFn } from '@lets/optim';

/** initRuntime on cpu, without the cpu backend's "install tfjs-node" banner. */
export { setupCpu as setup } from '@lets/testing';

/** A host-side (float64) tree: path → flat values. */
export type HostTree = Record<string, number[]>;

export const SHAPES: Record<string, number[]> = { 'dense/kernel': [2, 2], 'dense/bias': [2], 'bn/gamma': [2] };

/** Curvatures a and centres c of the test quadratic L(w) = ½ Σ a (w − c)². */
export const A: HostTree = { 'dense/kernel': [1, 2, 3, 4], 'dense/bias': [0.5, 1.5], 'bn/gamma': [2.5, 0.8] };
export const C: HostTree = { 'dense/kernel': [0.3, -0.2, 0.1, 0.4], 'dense/bias': [-0.5, 0.25], 'bn/gamma': [1, 1.2] };
export const W0: HostTree = { 'dense/kernel': [1.2, -0.7, 0.9, -1.1], 'dense/bias': [0.4, -0.3], 'bn/gamma': [0.6, 1.9] };

export const toTree = (h: HostTree): Params => T.fromEntries(Object.keys(h).map((k) => [k, tf.tensor(h[k] as number[], SHAPES[k] ?? [(h[k] as number[]).length])] as const));
export const toHost = (t: Params): HostTree => {
  const out: HostTree = {};
  for (const k of Object.keys(t)) out[k] = Array.from((t[k] as tf.Tensor).dataSync());
  return out;
};

// float64 tree math for hand formulas
export const hmap = (a: HostTree, f: (x: number, i: number, k: string) => number): HostTree => {
  const out: HostTree = {};
  for (const k of Object.keys(a)) out[k] = (a[k] as number[]).map((x, i) => f(x, i, k));
  return out;
};
export const hzip = (a: HostTree, b: HostTree, f: (x: number, y: number, i: number, k: string) => number): HostTree =>
  hmap(a, (x, i, k) => f(x, (b[k] as number[])[i] as number, i, k));
export const hdot = (a: HostTree, b: HostTree): number =>
  Object.keys(a).reduce((s, k) => s + (a[k] as number[]).reduce((t, x, i) => t + x * ((b[k] as number[])[i] as number), 0), 0);
export const hnorm = (a: HostTree): number => Math.sqrt(hdot(a, a));
export const hscale = (a: HostTree, s: number): HostTree => hmap(a, (x) => x * s);
export const hadd = (a: HostTree, b: HostTree): HostTree => hzip(a, b, (x, y) => x + y);
export const hsub = (a: HostTree, b: HostTree): HostTree => hzip(a, b, (x, y) => x - y);
export const hunit = (a: HostTree): HostTree => hscale(a, 1 / (hnorm(a) + 1e-12));
/** ∇ of the test quadratic: a ⊙ (w − c). */
export const hgrad = (w: HostTree, a: HostTree = A, c: HostTree = C): HostTree =>
  hmap(w, (x, i, k) => ((a[k] as number[])[i] as number) * (x - ((c[k] as number[])[i] as number)));
export const hloss = (w: HostTree): number =>
  Object.keys(w).reduce((s, k) => s + (w[k] as number[]).reduce((t, x, i) => t + 0.5 * ((A[k] as number[])[i] as number) * (x - ((C[k] as number[])[i] as number)) ** 2, 0), 0);

/**
 * Max over elements of |x − y| / (atol + rtol·|y|) ≤ 1, with a readable failure. Float32
 * results against float64 hand values: each op rounds at 2^-24 ≈ 6e-8 relative, and the
 * longest chains here (norms, two passes, an optimizer step) take a few dozen ops, so
 * rtol 1e-5 with atol 1e-6 leaves an order of magnitude of margin.
 */
export const expectClose = (got: Params | HostTree, want: HostTree, rtol = 1e-5, atol = 1e-6): void => {
  const g: HostTree = Object.values(got).every((v) => Array.isArray(v)) ? (got as HostTree) : toHost(got as Params);
  expect(Object.keys(g)).toEqual(Object.keys(want));
  for (const k of Object.keys(want)) {
    const a = g[k] as number[];
    const b = want[k] as number[];
    expect(a.length).toBe(b.length);
    a.forEach((x, i) => {
      const y = b[i] as number;
      if (!(Math.abs(x - y) <= atol + rtol * Math.abs(y))) {
        throw new Error(`${k}[${i}]: got ${x}, expected ${y} (rtol ${rtol}, atol ${atol})`);
      }
    });
  }
};

/** Bit-for-bit equality of two trees (same paths, shapes and float32 values). */
export const expectBitEqual = (a: Params, b: Params): void => {
  expect(Object.keys(a)).toEqual(Object.keys(b));
  for (const k of Object.keys(a)) {
    const x = a[k] as tf.Tensor;
    const y = b[k] as tf.Tensor;
    expect(x.shape).toEqual(y.shape);
    const xv = x.dataSync();
    const yv = y.dataSync();
    for (let i = 0; i < xv.length; i++) {
      if (!Object.is(xv[i], yv[i])) throw new Error(`${k}[${i}]: ${xv[i]} !== ${yv[i]} (expected bit-for-bit equality)`);
    }
  }
};

/** The test quadratic as a GradFn (through tf.valueAndGrads), counting its calls. */
export const quadratic = (ah: HostTree = A, ch: HostTree = C): { gradFn: GradFn; calls: () => number; dispose: () => void } => {
  const a = toTree(ah);
  const c = toTree(ch);
  let n = 0;
  const loss = gradFnOf((p) =>
    tf.mul(tf.addN(Object.keys(p).map((k) => tf.sum(tf.mul(a[k] as tf.Tensor, tf.square(tf.sub(p[k] as tf.Tensor, c[k] as tf.Tensor)))))), 0.5) as tf.Scalar,
  );
  const gradFn: GradFn = (p) => {
    n += 1;
    return loss(p);
  };
  return { gradFn, calls: () => n, dispose: () => { T.dispose(a); T.dispose(c); } };
};

/**
 * Runs `steps` steps of `opt` on `gradFn` from W0 (the caller's loop: clean pass, update,
 * applyUpdates, dispose the old state), returning the float32 params after every step.
 */
export const runSteps = (
  opt: { init: (p: Params) => unknown; update: (g: Params, s: any, p?: Params, e?: any) => readonly [Params, unknown] },
  steps: number,
  gradFn: GradFn,
  extra: Record<string, unknown> = {},
  w0: HostTree = W0,
  shape?: number[],
): Float32Array[][] => {
  let params = shape === undefined ? toTree(w0) : T.fromEntries(Object.keys(w0).map((k) => [k, tf.tensor(w0[k] as number[], shape)] as const));
  let state = opt.init(params);
  const out: Float32Array[][] = [];
  for (let t = 0; t < steps; t++) {
    const clean = gradFn(params);
    const [u, next] = opt.update(clean.grads, state, params, { gradFn, loss: clean.loss, ...extra });
    const p2 = T.fromEntries(Object.keys(params).map((k) => [k, tf.add(params[k] as tf.Tensor, u[k] as tf.Tensor)] as const));
    out.push(Object.keys(p2).map((k) => (p2[k] as tf.Tensor).dataSync() as Float32Array));
    [u, clean.grads, params].forEach(T.dispose);
    clean.loss.dispose();
    T.disposeState(state);
    state = next;
    params = p2;
  }
  T.dispose(params);
  T.disposeState(state);
  return out;
};

/** Throws unless two runs are bit-for-bit identical at every step. */
export const expectSameRun = (a: Float32Array[][], b: Float32Array[][]): void => {
  expect(a.length).toBe(b.length);
  a.forEach((step, t) =>
    step.forEach((leaf, j) =>
      leaf.forEach((x, i) => {
        const y = (b[t] as Float32Array[])[j]![i];
        if (!Object.is(x, y)) throw new Error(`step ${t}, leaf ${j}[${i}]: ${x} !== ${y} (expected bit-for-bit equality)`);
      }),
    ),
  );
};
