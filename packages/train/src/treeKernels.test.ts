// @lets/native's fused tree kernels (LetsAxpy, LetsDot, LetsTreeDot, LetsTreeNormalizedAxpy,
// LetsSubScale, LetsTreeDots)
// change no bit of a result: tree's addScaled, vdot, sqNorm, norm and normalizedAxpy, and whole
// SAM and LETS-SAM training steps, give the same
// bytes on 'native' with the kernels registered as with them unregistered (the composed
// Multiply/Add/Sum kernels). Under a gradient tape tree composes the ops, so gradients through
// these functions stay right. Skipped where the native addon is not built.
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@lets/runtime';
import * as T from '@lets/tree';
import { sgd } from '@lets/optim';
import { gam, sam, stableSam } from '@lets/sam';
import { lets } from '@lets/lets';
import { initTrainState, makeTrainStep } from './step';
import { disposeTrainState } from './fit';
import type { TrainableModel } from './types';
import { countedNativeKernels } from './test-util';

const NAMES = [T.AXPY_KERNEL, T.DOT_KERNEL, T.TREE_DOT_KERNEL, T.TREE_NORMALIZED_AXPY_KERNEL, T.SUB_SCALE_KERNEL, T.TREE_DOTS_KERNEL];
let native = false;
const calls: Record<string, number> = {};
let saved: tf.KernelConfig[] = [];

beforeAll(async () => {
  saved = (await countedNativeKernels(NAMES, calls, 'tree kernel tests')) ?? [];
  native = saved.length > 0;
});

/** Runs f with the fused kernels (or those named) unregistered (the composed ops), then registers them again. */
function composed<R>(f: () => R, names: readonly string[] = NAMES): R {
  for (const n of names) tf.unregisterKernel(n, 'native');
  try {
    return f();
  } finally {
    for (const k of saved) if (names.includes(k.kernelName)) tf.registerKernel(k);
  }
}
const reset = (): void => { for (const n of NAMES) calls[n] = 0; };
const bytes = (t: T.Tree | tf.Tensor): Buffer[] =>
  (t instanceof tf.Tensor ? [t] : Object.values(t)).map((x) => Buffer.from((x.dataSync() as Float32Array).slice().buffer));

/** Values spanning 2^-30 .. 2^30, both signs, with zeros. */
function spread(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const u = rng.uniform([n], -1, 1), e = rng.uniform([n], -30, 30);
  const [uv, ev] = [u.dataSync(), e.dataSync()];
  tf.dispose([u, e]);
  return Float32Array.from(uv, (v, i) => (i % 9 === 4 ? 0 : v * 2 ** Math.round(ev[i]!)));
}
const SIZES = [1, 7, 1000, 65537, 270000];
const tree = (seed: number): T.Tree => Object.fromEntries(SIZES.map((n, i) => [`l${i}`, tf.tensor(spread(n, seed * 10 + i))]));

/** normalizedAxpy's outputs as one tree, or where it does not apply the ops it replaces. */
function ascent(g: T.Tree, w: T.Tree): T.Tree {
  const flat = (norm: tf.Tensor, n: T.Tree, p: T.Tree): T.Tree => ({
    norm,
    ...Object.fromEntries(Object.keys(n).map((k) => [`n/${k}`, n[k]!])),
    ...Object.fromEntries(Object.keys(p).map((k) => [`p/${k}`, p[k]!])),
  });
  const r = T.normalizedAxpy(g, 0.05, w, 1e-12);
  if (r !== undefined) return flat(r.norm, r.n, r.p);
  const norm = T.norm(g);
  const n = T.map((v) => tf.div(v, tf.add(norm, 1e-12)))(g);
  return flat(norm, n, T.addScaled(w, 0.05, n));
}

/** The SAM report somewhere in an optimizer state (SAM's own, or inside LETS's). */
function findReport(s: unknown, depth = 0): { gradNorm: tf.Scalar; perturbedLoss: tf.Scalar } | undefined {
  if (s === null || typeof s !== 'object' || s instanceof tf.Tensor || depth > 4) return undefined;
  const o = s as Record<string, unknown>;
  const r = o.report as { gradNorm?: unknown } | undefined;
  if (r !== undefined && r.gradNorm instanceof tf.Tensor) return r as { gradNorm: tf.Scalar; perturbedLoss: tf.Scalar };
  for (const v of Object.values(o)) {
    const f = findReport(v, depth + 1);
    if (f !== undefined) return f;
  }
  return undefined;
}

describe('tree math with the fused kernels on native', () => {
  test('addScaled, vdot, sqNorm and norm: the same bytes as the composed ops, one kernel per leaf', () => {
    if (!native) return;
    const x = tree(1), y = tree(2), s = tf.scalar(-0.37);
    const before = tf.memory().numTensors;
    const cases: Array<[string, () => T.Tree | tf.Tensor, string, number]> = [
      ['addScaled(number)', () => T.addScaled(x, 0.1, y), T.AXPY_KERNEL, SIZES.length],
      ['addScaled(scalar tensor)', () => T.addScaled(x, s, y), T.AXPY_KERNEL, SIZES.length],
      ['vdot', () => T.vdot(x, y), T.TREE_DOT_KERNEL, 1],
      ['sqNorm', () => T.sqNorm(x), T.TREE_DOT_KERNEL, 1],
      ['norm', () => T.norm(y), T.TREE_DOT_KERNEL, 1],
      // SAM's ascent: ‖x‖, x/(‖x‖ + ε), y + ρ·x/(‖x‖ + ε) against tf.sqrt, tf.add, tf.div, addScaled
      ['normalizedAxpy', () => ascent(x, y), T.TREE_NORMALIZED_AXPY_KERNEL, 1],
      // a leaf the tree kernel does not take (it broadcasts): one LetsDot per other leaf
      ['vdot, one leaf broadcasting', () => T.vdot({ ...x, l0: tf.ones([3]) }, { ...y, l0: tf.ones([1]) }), T.DOT_KERNEL, SIZES.length - 1],
    ];
    for (const [what, f, kernel, n] of cases) {
      reset();
      const fused = tf.tidy(() => bytes(f()));
      expect([what, calls[kernel]]).toEqual([what, n]);
      const plain = tf.tidy(() => composed(() => bytes(f())));
      expect([what, fused.every((b, i) => b.equals(plain[i]!))]).toEqual([what, true]);
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([...Object.values(x), ...Object.values(y), s]);
  });

  test('under tf.grad the ops are composed and the gradients are right', () => {
    if (!native) return;
    const x = { a: tf.tensor([1, -2, 3]), b: tf.tensor([[0.5, 4]]) };
    const y = { a: tf.tensor([2, 1, -1]), b: tf.tensor([[3, -1]]) };
    const before = tf.memory().numTensors;
    reset();
    const leaves = (f: (t: T.Tree) => tf.Scalar) => (a: tf.Tensor, b: tf.Tensor) => f({ a, b });
    const g = tf.tidy(() => {
      const dv = tf.grads(leaves((t) => T.vdot(t, y)))([x.a, x.b]);
      const ds = tf.grads(leaves((t) => T.sqNorm(t)))([x.a, x.b]);
      const dn = tf.grads(leaves((t) => T.norm(t)))([x.a, x.b]);
      // d/dy Σ (x + s·y) = s for every element
      const da = tf.grads((a: tf.Tensor, b: tf.Tensor) => T.sum(T.addScaled(x, 0.25, { a, b })))([y.a, y.b]);
      // d/dx Σ (x − y)·4 = 4; d/dx of 2⟨x, y⟩ + ‖x‖² (two entries of vdots) = 2y + 2x
      const dd = tf.grads(leaves((t) => T.sum(T.scaledDifference(t, y, 4))))([x.a, x.b]);
      const dm = tf.grads(leaves((t) => tf.sum(tf.mul(T.vdots([[t, y], [t, t]]), tf.tensor([2, 1])))))([x.a, x.b]);
      return [...dv, ...ds, ...dn, ...da, ...dd, ...dm].map((t) => Array.from(t.dataSync()));
    });
    expect(NAMES.map((n) => calls[n])).toEqual(NAMES.map(() => 0));
    const nx = Math.sqrt(1 + 4 + 9 + 0.25 + 16);
    expect(g.slice(0, 2)).toEqual([[2, 1, -1], [3, -1]]);
    expect(g.slice(2, 4)).toEqual([[2, -4, 6], [1, 8]]);
    [1, -2, 3, 0.5, 4].forEach((v, i) => expect(g[4 + (i < 3 ? 0 : 1)]![i < 3 ? i : i - 3]).toBeCloseTo(v / nx, 6));
    expect(g.slice(6, 8)).toEqual([[0.25, 0.25, 0.25], [0.25, 0.25]]);
    expect(g.slice(8, 10)).toEqual([[4, 4, 4], [4, 4]]);
    expect(g.slice(10, 12)).toEqual([[6, -2, 4], [7, 6]]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([...Object.values(x), ...Object.values(y)]);
  });
});

describe('whole training steps with the fused kernels on native', () => {
  // tools/lib/bench-mlp.mjs's model (784-256-256-10 ReLU, He init, seed 1), in tfjs ops.
  const dims = [784, 256, 256, 10];
  const setup = () => {
    const rng = new Rng(1);
    const params0: Record<string, tf.Tensor> = {};
    for (let i = 0; i < 3; i++) {
      params0[`l${i}/w`] = rng.normal([dims[i]!, dims[i + 1]!], 0, Math.sqrt(2 / dims[i]!));
      params0[`l${i}/b`] = tf.zeros([dims[i + 1]!]);
    }
    const model: TrainableModel = {
      init: () => ({ params: T.clone(params0), state: {} }),
      apply: (p, _s, x) => tf.tidy(() => {
        let h = x as tf.Tensor;
        for (let i = 0; i < 3; i++) {
          h = tf.add(tf.matMul(h as tf.Tensor2D, p[`l${i}/w`] as tf.Tensor2D), p[`l${i}/b`]!);
          if (i < 2) h = tf.relu(h);
        }
        return { logits: h, state: {} };
      }),
    };
    const batch = () => ({ x: rng.normal([128, 784]), y: tf.tidy(() => tf.cast(tf.oneHot(rng.randint([128], 10), 10), 'float32')) });
    return { params0, model, train: batch(), val: batch() };
  };

  const run = (make: () => ReturnType<typeof sam>, steps: number): Buffer[] => {
    const { params0, model, train, val } = setup();
    const optimizer = make();
    const step = makeTrainStep({ model, optimizer });
    let state = initTrainState(model, optimizer, 0);
    for (let k = 0; k < steps; k++) state = step(state, train, val).state;
    const out = bytes(state.params);
    disposeTrainState(state);
    tf.dispose([...Object.values(params0), train.x, train.y, val.x, val.y]);
    return out;
  };

  test.each([
    ['SAM', () => sam(sgd(0.1, { momentum: 0.9 }), { rho: 0.05 }), 10],
    ['LETS-SAM', () => lets(sam(sgd(0.1, { momentum: 0.9 }), { rho: 0.05 })), 30],
  ] as const)('%s: every parameter byte-identical after the steps, with and without the kernels', (_name, make, steps) => {
    if (!native) return;
    const before = tf.memory().numTensors;
    reset();
    const fused = run(make as () => ReturnType<typeof sam>, steps);
    expect(calls[T.AXPY_KERNEL]).toBeGreaterThan(0);
    // SAM's ‖g‖ is in its fused ascent; LETS's dots are LetsTreeDot
    expect(calls[T.TREE_NORMALIZED_AXPY_KERNEL]).toBe(steps);
    if (_name === 'LETS-SAM') {
      // The ρ update's ⟨∇L_vl, τ⟩ is one LetsTreeDot; the HVP's difference step (‖x‖, ‖n‖) and the
      // projection are LetsTreeDots (two a tangent), the HVP's difference quotient LetsSubScale (one
      // a leaf). SGD with momentum declares gradientScale, so the outer map's tangent is one scaling:
      // no norm pair and no second difference quotient (three and 2·6 before it).
      expect(calls[T.TREE_DOT_KERNEL]).toBeGreaterThan(0);
      const tangents = Math.floor(steps / 5);
      expect(calls[T.TREE_DOTS_KERNEL]).toBe(2 * tangents);
      expect(calls[T.SUB_SCALE_KERNEL]).toBe(6 * tangents);
    }
    const plain = composed(() => run(make as () => ReturnType<typeof sam>, steps));
    expect(fused.length).toBe(6);
    expect(fused.map((b, i) => b.equals(plain[i]!))).toEqual(new Array(6).fill(true));
    expect(tf.memory().numTensors).toBe(before);
  });

  // SAM's fused ascent alone on and off (the other kernels on, as in a real run): the params, the
  // reported ‖g‖ and the perturbed loss of every step, byte for byte; one kernel call a step.
  test.each([
    ['SAM', () => sam(sgd(0.1, { momentum: 0.9 }), { rho: 0.05 }), 10, 10],
    ['SAM, ρ scheduled and once 0', () => sam(sgd(0.1), { rho: (t: number) => (t === 3 ? 0 : 0.05 / (1 + t)) }), 10, 9],
    ['StableSAM', () => stableSam(sgd(0.1, { momentum: 0.9 }), { rho: 0.05 }), 10, 10],
    ['GAM', () => gam(sgd(0.1), { rho: 0.05 }), 4, 4],
    ['LETS-SAM', () => lets(sam(sgd(0.1, { momentum: 0.9 }), { rho: 0.05 })), 12, 12],
  ] as const)('%s: LetsTreeNormalizedAxpy on and off give the same bytes, every step', (_name, make, steps, kernelCalls) => {
    if (!native) return;
    const trace = (): Buffer[] => {
      const { params0, model, train, val } = setup();
      const optimizer = (make as () => ReturnType<typeof sam>)();
      const step = makeTrainStep({ model, optimizer });
      let state = initTrainState(model, optimizer, 0);
      const out: Buffer[] = [];
      for (let k = 0; k < steps; k++) {
        const r = step(state, train, val);
        state = r.state;
        const report = findReport(state.optState);
        expect(report).toBeDefined();
        out.push(...bytes(state.params), ...bytes(report!.gradNorm), ...bytes(report!.perturbedLoss));
      }
      disposeTrainState(state);
      tf.dispose([...Object.values(params0), train.x, train.y, val.x, val.y]);
      return out;
    };
    const before = tf.memory().numTensors;
    reset();
    const fused = trace();
    expect(calls[T.TREE_NORMALIZED_AXPY_KERNEL]).toBe(kernelCalls);
    expect(tf.memory().numTensors).toBe(before);
    reset();
    const plain = composed(trace, [T.TREE_NORMALIZED_AXPY_KERNEL]);
    expect(calls[T.TREE_NORMALIZED_AXPY_KERNEL]).toBe(0);
    expect(fused.length).toBe(plain.length);
    expect(fused.length).toBe(8 * steps);
    expect(fused.filter((b, i) => !b.equals(plain[i]!)).length).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
  });
});
