/**
 * User code that SAM calls (ascent stages, procedures, combiners, extra.gradFn) runs in a
 * tidy scope: a callback that allocates intermediate tensors and does not free them leaks
 * nothing. Each callback here allocates on purpose without disposing (e.g. the write-your-own
 * guide's average combiner, `tf.mul(tf.add(a, b), 0.5)`, leaves the sum behind), and the live
 * tensor count must not grow over many steps; the results are checked against the same
 * variant written without the leak, bit for bit, so the scope changes nothing numerically.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as T from '@lets/tree';
import { chain, sgd, type GradFn, type GradientTransformation } from '@lets/optim';
import { sharpnessAware } from './sharpnessAware';
import { normalize } from './normalize';
import { twoPass } from './twoPass';
import { lookAhead } from './lookAhead';
import { sharpnessSensitiveData } from './sharpnessSensitiveData';
import { perturbed } from './numerics';
import type { Combiner, Procedure } from './types';
import { W0, expectSameRun, quadratic, runSteps, setup, toTree } from './test-util';

beforeAll(setup);

/** d = (g + g_p)/2, leaking the sum of every leaf (as the guide's example once did). */
const leakyAverage: Combiner = {
  name: 'average',
  combine: (g, gp) => T.zipWith((a, b) => tf.mul(tf.add(a, b), 0.5))(g, gp),
};
const cleanAverage: Combiner = {
  name: 'average',
  combine: (g, gp) => tf.tidy(() => T.zipWith((a, b) => tf.mul(tf.add(a, b), 0.5))(g, gp)),
};

/** d ↦ d·2 − d (= d), leaking the doubled tree. */
const leakyStage: GradientTransformation<Record<string, never>> = {
  init: () => ({}),
  update: (d, state) => [T.zipWith((a, b) => tf.sub(a, b))(T.scaleBy(d, 2), d), state],
};
const cleanStage: GradientTransformation<Record<string, never>> = {
  init: () => ({}),
  update: (d, state) => [tf.tidy(() => T.zipWith((a, b) => tf.sub(a, b))(T.scaleBy(d, 2), d)), state],
};

/** SAM's two-pass procedure written by hand, forgetting to dispose w + ρn and the clean copy. */
const leakyProcedure: Procedure<Record<string, never>> = {
  name: 'leakyTwoPass',
  init: () => ({}),
  run: (n, state, ctx) => {
    const r = ctx.gradAt(perturbed(ctx.params, ctx.rho, n)); // w + ρn never disposed
    T.clone(ctx.grads); // nor this
    return { direction: T.clone(r.grads), perturbedGrads: r.grads, perturbedLoss: r.loss, state };
  },
};

/** A gradFn that leaves a tensor behind on every call. */
const leakyGradFn =
  (inner: GradFn): GradFn =>
  (p) => {
    tf.scalar(1);
    return inner(p);
  };

const STEPS = 30;

/** Runs `steps` steps and returns the live-tensor growth. */
const growth = (f: () => unknown): number => {
  const before = tf.memory().numTensors;
  f();
  return tf.memory().numTensors - before;
};

describe('SAM runs user callbacks in a tidy scope', () => {
  it("twoPass(combiner): a combiner that allocates leaks nothing over 30 steps, same result as a tidy one", () => {
    const q = quadratic();
    let leaky: Float32Array[][] = [];
    const g = growth(() => {
      leaky = runSteps(sharpnessAware(sgd(0.1), { rho: 0.05, procedure: twoPass(leakyAverage) }), STEPS, q.gradFn);
    });
    expect(g).toBe(0);
    expectSameRun(leaky, runSteps(sharpnessAware(sgd(0.1), { rho: 0.05, procedure: twoPass(cleanAverage) }), STEPS, q.gradFn));
    q.dispose();
  });

  it('the combiner inside other procedures (ESAM at γ = 1, LookSAM) leaks nothing', () => {
    const q = quadratic();
    const opts = [
      sharpnessAware(sgd(0.1), { rho: 0.05, procedure: sharpnessSensitiveData({ gamma: 1, combiner: leakyAverage }) }),
      sharpnessAware(sgd(0.1), { rho: 0.05, procedure: lookAhead({ k: 2 }) }),
    ];
    for (const opt of opts) expect(growth(() => runSteps(opt, STEPS, q.gradFn))).toBe(0);
    q.dispose();
  });

  it('an ascent stage that allocates leaks nothing, same result as a tidy one', () => {
    const q = quadratic();
    let leaky: Float32Array[][] = [];
    expect(growth(() => (leaky = runSteps(sharpnessAware(sgd(0.1), { rho: 0.05, ascent: chain(leakyStage, normalize()) }), STEPS, q.gradFn)))).toBe(0);
    expectSameRun(leaky, runSteps(sharpnessAware(sgd(0.1), { rho: 0.05, ascent: chain(cleanStage, normalize()) }), STEPS, q.gradFn));
    q.dispose();
  });

  it("a user procedure that forgets to dispose, and a gradFn that leaks, leak nothing; the result is SAM's", () => {
    const q = quadratic();
    const leakyFn = leakyGradFn(q.gradFn);
    let leaky: Float32Array[][] = [];
    // The clean pass is the caller's (runSteps), so only the perturbed pass goes through leakyFn.
    const opt = sharpnessAware(sgd(0.1), { rho: 0.05, procedure: leakyProcedure });
    expect(
      growth(() => {
        leaky = runSteps(opt, STEPS, q.gradFn, { gradFn: leakyFn });
      }),
    ).toBe(0);
    expectSameRun(leaky, runSteps(sharpnessAware(sgd(0.1), { rho: 0.05 }), STEPS, q.gradFn));
    q.dispose();
  });

  it("the step's descent (what LETS differentiates) runs the combiner in a tidy scope too", () => {
    const q = quadratic();
    const opt = sharpnessAware(sgd(0.1), { rho: 0.05, procedure: twoPass(leakyAverage) });
    const w = toTree(W0);
    const s0 = opt.init(w);
    const clean = q.gradFn(w);
    const s = opt.step(clean.grads, s0, w, { gradFn: q.gradFn, loss: clean.loss });
    const before = tf.memory().numTensors;
    for (let i = 0; i < 10; i++) {
      const [u, st] = s.descent.update(clean.grads, s0.outer, w, {});
      T.dispose(u);
      T.disposeState(st);
    }
    expect(tf.memory().numTensors).toBe(before);
    [w, clean.grads, s.updates, s.direction, s.perturbedGrads].forEach(T.dispose);
    clean.loss.dispose();
    T.disposeState(s0);
    T.disposeState(s.state);
    q.dispose();
  });
});
