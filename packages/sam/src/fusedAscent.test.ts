/**
 * SAM's ascent through @lets/tree's `normalizedAxpy` (one `LetsTreeNormalizedAxpy` kernel for ‖g‖,
 * n = g/(‖g‖ + 1e-12) and w + ρn where the backend registers it; @lets/native does). Here a
 * stand-in kernel for 'cpu', float32 arithmetic written out, counts its calls: runs with it and
 * without it are bit for bit the same, its tensors are all released (the point the procedure did
 * not ask for too), and it is used only where the composed ops it replaces would run. On native
 * the real kernel is checked the same way in packages/train/src/treeKernels.test.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as T from '@lets/tree';
import { chain, sgd } from '@lets/optim';
import { sharpnessAware } from './sharpnessAware';
import { normalize } from './normalize';
import { sam, gam, stableSam } from './presets';
import type { Procedure } from './types';
import { expectSameRun, quadratic, runSteps, setup } from './test-util';

beforeAll(setup);

type Args = { inputs: Record<string, tf.TensorInfo>; backend: { data: { get(id: object): { values: Float32Array } } }; attrs: Record<string, unknown> };
let calls = 0;
const register = (): void => {
  const vals = (a: Args, name: string): Float32Array => a.backend.data.get(a.inputs[name]!.dataId).values;
  const out = (shape: number[], v: Float32Array): tf.TensorInfo =>
    (tf.backend() as unknown as { makeTensorInfo(s: number[], d: string, v: Float32Array): tf.TensorInfo }).makeTensorInfo(shape, 'float32', v);
  tf.registerKernel({
    kernelName: T.TREE_NORMALIZED_AXPY_KERNEL, backendName: 'cpu',
    kernelFunc: ((a: Args) => {
      calls++;
      const n = Object.keys(a.inputs).length / 2;
      let acc = 0;
      for (let i = 0; i < n; i++) {
        const g = vals(a, `g${i}`);
        let d = 0;
        for (let j = 0; j < g.length; j++) d += Math.fround(g[j]! * g[j]!);
        acc = Math.fround(acc + Math.fround(d));
      }
      const norm = Math.fround(Math.sqrt(acc));
      const d = Math.fround(norm + Math.fround(a.attrs.eps as number)), s = Math.fround(a.attrs.s as number);
      const outs = [out([], Float32Array.of(norm))];
      for (let i = 0; i < n; i++) {
        const g = vals(a, `g${i}`), w = vals(a, `w${i}`), shape = a.inputs[`g${i}`]!.shape;
        const q = Float32Array.from(g, (x) => Math.fround(x / d));
        outs.push(out(shape, q), out(shape, Float32Array.from(w, (x, j) => Math.fround(x + Math.fround(s * q[j]!)))));
      }
      return outs;
    }) as unknown as tf.KernelFunc,
  });
};
afterEach(() => {
  if (tf.getKernel(T.TREE_NORMALIZED_AXPY_KERNEL, 'cpu') !== undefined) tf.unregisterKernel(T.TREE_NORMALIZED_AXPY_KERNEL, 'cpu');
  calls = 0;
});

/** `steps` steps with the kernel registered and without: the params of every step, the kernel's calls, the live tensors before and after. */
function both(make: () => { init: (p: T.Params) => unknown; update: (...a: any[]) => readonly [T.Params, unknown] }, steps: number) {
  const q = quadratic();
  const before = tf.memory().numTensors;
  const plain = runSteps(make(), steps, q.gradFn);
  const plainLeft = tf.memory().numTensors - before;
  register();
  const fused = runSteps(make(), steps, q.gradFn);
  const fusedLeft = tf.memory().numTensors - before;
  q.dispose();
  return { plain, fused, calls, plainLeft, fusedLeft };
}

/** SAM's two passes written as a procedure that computes w + ρn itself (never asks ctx.perturbed). */
const ownPoint: Procedure<Record<string, never>> = {
  name: 'ownPoint',
  init: () => ({}),
  run: (n, state, ctx) => {
    const w = T.addScaled(ctx.params, ctx.rho, n);
    const r = ctx.gradAt(w);
    T.dispose(w);
    return { direction: T.clone(r.grads), perturbedGrads: r.grads, perturbedLoss: r.loss, state };
  },
};

describe('SAM\'s fused ascent (stand-in kernel on cpu)', () => {
  test.each([
    ['sam', () => sam(sgd(0.1, { momentum: 0.9 }), { rho: 0.05 }), 1],
    ['ρ scheduled, 0 at step 3 (no ascent kernel there)', () => sam(sgd(0.1), { rho: (t: number) => (t === 3 ? 0 : 0.05) }), 9 / 10],
    ['stableSam', () => stableSam(sgd(0.1), { rho: 0.1 }), 1],
    ['gam', () => gam(sgd(0.1), { rho: 0.1 }), 1],
    ['a procedure that computes its own point (the fused one is released)', () => sharpnessAware(sgd(0.1), { rho: 0.05, procedure: ownPoint }), 1],
  ] as const)('%s: bit for bit the composed ops, one kernel a step, no tensor left', (_name, make, perStep) => {
    const r = both(make as never, 10);
    expect(r.calls).toBe(10 * perStep);
    expectSameRun(r.fused, r.plain);
    expect(r.plainLeft).toBe(0);
    expect(r.fusedLeft).toBe(0);
  });

  test.each([
    ['normalize() then another stage (n is not the kernel\'s: the point is composed)', () => sharpnessAware(sgd(0.1), { rho: 0.05, ascent: chain(normalize(), { init: () => ({}), update: (d: T.Params, s: unknown) => [T.scaleBy(d, 0.5), s] as const }) }), 10],
    ['per-tensor normalize (not the kernel\'s formula)', () => sharpnessAware(sgd(0.1), { rho: 0.05, ascent: chain(normalize({ scope: 'perTensor' })) }), 0],
    ['a stage before normalize() (d is not g)', () => sharpnessAware(sgd(0.1), { rho: 0.05, ascent: chain({ init: () => ({}), update: (d: T.Params, s: unknown) => [T.scaleBy(d, 2), s] as const }, normalize()) }), 0],
  ] as const)('%s: the same bytes and no tensor left', (_name, make, kernelCalls) => {
    const r = both(make as never, 10);
    expect(r.calls).toBe(kernelCalls);
    expectSameRun(r.fused, r.plain);
    expect(r.plainLeft).toBe(0);
    expect(r.fusedLeft).toBe(0);
  });

  test('a failing perturbed pass releases the fused point and ‖g‖', () => {
    register();
    const q = quadratic();
    const opt = sam(sgd(0.1), { rho: 0.05 });
    const w = T.map((x) => tf.clone(x))({ a: tf.tensor([1, 2]), b: tf.tensor([3]) });
    const state = opt.init(w);
    const g = { a: tf.tensor([0.5, -1]), b: tf.tensor([2]) };
    const before = tf.memory().numTensors;
    const gradFn = () => { throw new Error('no pass today'); };
    expect(() => opt.update(g, state, w, { gradFn })).toThrow(/no pass today/);
    expect(calls).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
    T.disposeState(state);
    T.dispose(w);
    T.dispose(g);
    q.dispose();
  });
});
