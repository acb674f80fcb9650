import * as tf from '@tensorflow/tfjs-core';
import { dispose, disposeState } from '@lets/tree';
import { scaleByAdam } from './scaleByAdam';
import { expectClose, hostTree, rng, toTree, useCpu, vals } from './test-util';
import { FUSED_ADAM } from './ops/fusedAdam';

beforeAll(useCpu);

describe.each([
  ['fused kernel', true],
  ['composed ops', false],
])('scaleByAdam (%s)', (_name, fused) => {
  it.each([false, true])('equals the float64 formula with epsRoot and eps both set (nesterov %s)', (nesterov) => {
    const shapes = { w: [4], b: [2] };
    const b1 = 0.8;
    const b2 = 0.95;
    const eps = 1e-3;
    const epsRoot = 1e-2;
    const t = scaleByAdam({ b1, b2, eps, epsRoot, nesterov, fused });
    const r = rng(9);
    const p = toTree(hostTree(shapes, r), shapes);
    let s = t.init(p);
    const m: Record<string, number[]> = { w: [0, 0, 0, 0], b: [0, 0] };
    const v: Record<string, number[]> = { w: [0, 0, 0, 0], b: [0, 0] };
    for (let step = 1; step <= 4; step++) {
      const gh = hostTree(shapes, r);
      const want: Record<string, number[]> = {};
      for (const k of Object.keys(gh)) {
        want[k] = gh[k]!.map((g, i) => {
          m[k]![i] = b1 * m[k]![i]! + (1 - b1) * g;
          v[k]![i] = b2 * v[k]![i]! + (1 - b2) * g * g;
          const mHat = nesterov
            ? (b1 * m[k]![i]!) / (1 - b1 ** (step + 1)) + ((1 - b1) * g) / (1 - b1 ** step)
            : m[k]![i]! / (1 - b1 ** step);
          const vHat = v[k]![i]! / (1 - b2 ** step);
          return mHat / (Math.sqrt(vHat + epsRoot) + eps);
        });
      }
      const g = toTree(gh, shapes);
      const [u, s2] = t.update(g, s);
      // the kernel is registered (by @lets/runtime, in useCpu) and so was used
      if (fused) expect(tf.getKernel(FUSED_ADAM, 'cpu')).toBeDefined();
      // float32: a handful of roundings on values of order 1: 1e-5 relative is ample, and dropping
      // epsRoot or a bias correction changes the result by more than 1e-2.
      expectClose(vals(u), want, { rtol: 1e-5, atol: 1e-6 });
      expect(s2.count).toBe(step);
      expectClose(vals(s2.mu), m, { rtol: 1e-5, atol: 1e-7 });
      expectClose(vals(s2.nu), v, { rtol: 1e-5, atol: 1e-7 });
      [g, u].forEach(dispose);
      disposeState(s);
      s = s2;
    }
    disposeState(s);
    dispose(p);
  });

  it('names a leaf without moments, or with moments of another shape', () => {
    const g = { w: tf.scalar(1) };
    expect(() => scaleByAdam({ fused }).update(g, { count: 0, mu: {}, nu: {} })).toThrow(/no moments for 'w'/);
    const z = { w: tf.zeros([2]) };
    expect(() => scaleByAdam({ fused }).update(g, { count: 0, mu: z, nu: z })).toThrow(/update 'w' has shape \[\] but its moments have \[2\]/);
    dispose(g);
    dispose(z);
  });
});

describe('scaleByAdam and the kernel registry', () => {
  it("runs whatever kernel is registered as 'LetsFusedAdam' for the backend, and composes tfjs ops where none is", () => {
    const original = tf.getKernel(FUSED_ADAM, 'cpu')!;
    expect(original).toBeDefined(); // @lets/runtime registered it (useCpu)
    let calls = 0;
    tf.unregisterKernel(FUSED_ADAM, 'cpu');
    tf.registerKernel({ ...original, kernelFunc: (args) => (calls++, original.kernelFunc(args)) });
    try {
      const shapes = { w: [3], b: [2] };
      const r = rng(4);
      const p = toTree(hostTree(shapes, r), shapes);
      const g = toTree(hostTree(shapes, r), shapes);
      const t = scaleByAdam();
      const s = t.init(p);
      const [uFused, s1] = t.update(g, s);
      expect(calls).toBe(2); // one kernel call per leaf
      tf.unregisterKernel(FUSED_ADAM, 'cpu');
      const [uComposed, s2] = t.update(g, s);
      expect(calls).toBe(2);
      expectClose(vals(uComposed), vals(uFused), { rtol: 1e-5, atol: 1e-7 });
      [p, g, uFused, uComposed].forEach(dispose);
      [s, s1, s2].forEach(disposeState);
    } finally {
      if (tf.getKernel(FUSED_ADAM, 'cpu') !== undefined) tf.unregisterKernel(FUSED_ADAM, 'cpu');
      tf.registerKernel(original);
    }
  });
});
