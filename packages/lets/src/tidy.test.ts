/**
 * LETS runs the caller's closures (valGradFn, gradFn for the 'fd' estimator and the variant's
 * perturbed pass) in a tidy scope: closures that leave a tensor behind on every call leak nothing
 * over many steps, and ρ follows exactly the same course as with closures that do not.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as T from '@lets/tree';
import type { Params } from '@lets/tree';
import { applyUpdates, sgd, type Extra, type GradFn } from '@lets/optim';
import { sam } from '@lets/sam';
import { lets, type LetsState } from './lets';
import { disposeBatch, makeBatch, mlpInit, setupCpu, stepInputs } from './test-util';

beforeAll(setupCpu);

const leaky =
  (f: GradFn): GradFn =>
  (p) => {
    tf.ones([3]); // never disposed
    return f(p);
  };

const run = (leak: boolean, steps: number): { rhos: number[]; growth: number } => {
  const b = makeBatch(32, 5, 3, 1);
  const v = makeBatch(32, 5, 3, 2, 1);
  const opt = lets(sam(sgd(0.3, { momentum: 0.9 }), { rho: 0.1 }), { every: 1, stallGuard: false });
  let params: Params = mlpInit(5, 8, 3, 10);
  let state: LetsState<unknown> = opt.init(params) as LetsState<unknown>;
  const before = tf.memory().numTensors;
  const rhos: number[] = [];
  for (let t = 0; t < steps; t++) {
    const inp = stepInputs(params, b, v);
    const e = inp.extra as Extra;
    const extra: Extra = leak ? { ...e, gradFn: leaky(e.gradFn!), valGradFn: leaky(e.valGradFn!) } : e;
    const [u, next] = opt.update(inp.grads, state as never, params, extra);
    const p2 = applyUpdates(params, u);
    [params, u, inp.grads].forEach(T.dispose);
    inp.loss.dispose();
    T.disposeState(state);
    params = p2;
    state = next as LetsState<unknown>;
    rhos.push(state.variant.rho);
  }
  const growth = tf.memory().numTensors - before;
  T.dispose(params);
  T.disposeState(state);
  [b, v].forEach(disposeBatch);
  return { rhos, growth };
};

it('closures that allocate leak nothing over 20 LETS-SAM steps, and ρ takes the same course', () => {
  const clean = run(false, 20);
  const dirty = run(true, 20);
  expect(dirty.growth).toBe(clean.growth);
  expect(dirty.rhos).toEqual(clean.rhos);
  expect(new Set(clean.rhos).size).toBeGreaterThan(5); // ρ really moved
});
