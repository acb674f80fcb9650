import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { dispose, disposeState } from '@lets/tree';
import { scaleByAdam } from './scaleByAdam';
import { FUSED_ADAM } from './ops/fusedAdam';
import { registerTrainingKernels } from '@lets/runtime';
import { expectClose, hostTree, rng, toTree, vals } from './test-util';

// The fused kernel's wasm variant works on views of the wasm heap; this checks it (and the
// composed ops on wasm) against the float64 formula, over leaves large enough (4096 elements)
// that allocating the outputs can grow the heap between steps.
beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  registerTrainingKernels('wasm'); // as initRuntime does: the fused kernel is @lets/runtime's
});

describe.each([true, false])('scaleByAdam on wasm (fused %s)', (fused) => {
  it('matches m̂/(√v̂ + eps) in float64 over 3 steps', () => {
    expect(tf.getBackend()).toBe('wasm');
    const shapes = { big: [64, 64], small: [3] };
    const [b1, b2, eps] = [0.9, 0.99, 1e-3];
    const t = scaleByAdam({ b1, b2, eps, fused });
    const r = rng(21);
    const p = toTree(hostTree(shapes, r), shapes);
    let s = t.init(p);
    const m: Record<string, number[]> = { big: new Array(4096).fill(0), small: [0, 0, 0] };
    const v: Record<string, number[]> = { big: new Array(4096).fill(0), small: [0, 0, 0] };
    const before = tf.memory().numTensors;
    for (let step = 1; step <= 3; step++) {
      const gh = hostTree(shapes, r);
      const want: Record<string, number[]> = {};
      for (const k of Object.keys(gh)) {
        want[k] = gh[k]!.map((g, i) => {
          m[k]![i] = b1 * m[k]![i]! + (1 - b1) * g;
          v[k]![i] = b2 * v[k]![i]! + (1 - b2) * g * g;
          return m[k]![i]! / (1 - b1 ** step) / (Math.sqrt(v[k]![i]! / (1 - b2 ** step)) + eps);
        });
      }
      const g = toTree(gh, shapes);
      const [u, s2] = t.update(g, s);
      // float32 with a handful of roundings on values of order 1 (see scaleByAdam.test.ts)
      expectClose(vals(u), want, { rtol: 1e-5, atol: 1e-6 });
      expectClose(vals(s2.mu), m, { rtol: 1e-5, atol: 1e-7 });
      [g, u].forEach(dispose);
      disposeState(s);
      s = s2;
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.getKernel(FUSED_ADAM, 'wasm') !== undefined).toBe(true);
    disposeState(s);
    dispose(p);
  });
});
