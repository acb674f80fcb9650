/**
 * The errors a user meets first, by their wording:
 * - a SAM step or a LETS update before initRuntime() (tfjs-core and a backend, no gradients:
 *   Jest gives every test file its own tfjs, and this file starts the runtime only later) names
 *   initRuntime() instead of tfjs's bare "gradient function not found for Mean";
 * - LETS with the 'exact' estimator on a loss tfjs cannot differentiate twice names the op and
 *   the estimator to use instead ('fd').
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as T from '@lets/tree';
import type { Params } from '@lets/tree';
import { sgd, type GradFn } from '@lets/optim';
import { sharpnessAware } from '@lets/sam';
import { lets } from './lets';
import { disposeBatch, logits, makeBatch, mlpInit, setupCpu, stepInputs } from './test-util';

const messageOf = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected a throw');
};

/** A user's own gradFn, straight on tf.valueAndGrads (not optim's gradFnOf). */
const rawGradFn: GradFn = (p: Params) => {
  const keys = Object.keys(p);
  const { value, grads } = tf.valueAndGrads((...ws: tf.Tensor[]) => tf.mean(tf.square(tf.addN(ws.map((w) => tf.sum(w))))) as tf.Scalar)(
    keys.map((k) => p[k]!),
  );
  return { loss: value as tf.Scalar, grads: Object.fromEntries(keys.map((k, i) => [k, grads[i]!])) };
};

const NO_GRADIENTS =
  'tfjs has no gradient functions registered (tfjs: "Cannot compute gradient: gradient function not found for Mean."). ' +
  "Call `await initRuntime()` from @lets/runtime first: @tensorflow/tfjs-core's Node entry registers none, " +
  'and initRuntime registers them all (twice-differentiable ones included).';

describe('before initRuntime() (tfjs-core + tfjs-backend-cpu, no gradients registered)', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it("a SAM step's perturbed pass names initRuntime()", () => {
    const params = mlpInit(3, 4, 2, 1);
    const grads = T.zerosLike(params);
    const opt = sharpnessAware(sgd(0.1), { name: 'sam', rho: 0.05 });
    const state = opt.init(params);
    expect(messageOf(() => opt.update(grads, state, params, { gradFn: rawGradFn }))).toBe(`sam: ${NO_GRADIENTS}`);
    [params, grads].forEach(T.dispose);
    T.disposeState(state);
  });

  it('a LETS update names initRuntime() (once, not wrapped twice)', () => {
    const params = mlpInit(3, 4, 2, 1);
    const grads = T.zerosLike(params);
    const opt = lets(sharpnessAware(sgd(0.1), { name: 'sam', rho: 0.05 }), { every: 1 });
    const state = opt.init(params);
    const loss = tf.scalar(1);
    const msg = messageOf(() => opt.update(grads, state, params, { gradFn: rawGradFn, valGradFn: rawGradFn, loss }));
    expect(msg).toBe(`sam: ${NO_GRADIENTS}`);
    [params, grads].forEach(T.dispose);
    loss.dispose();
    T.disposeState(state);
  });

  it("LETS's own validation pass names initRuntime(), prefixed with lets(<variant>)", () => {
    // The training gradient in closed form (L = ½‖w‖², ∇L = w: no tfjs gradients needed), so the
    // variant's steps and the 'fd' tangent succeed; the ρ update's validation pass does not.
    const closedForm: GradFn = (p: Params) => ({
      loss: tf.tidy(() => tf.mul(tf.addN(Object.values(p).map((w) => tf.sum(tf.square(w)))), 0.5) as tf.Scalar),
      grads: T.clone(p),
    });
    let params = mlpInit(3, 4, 2, 1);
    const opt = lets(sharpnessAware(sgd(0.1), { name: 'sam', rho: 0.05 }), { every: 1 });
    let state = opt.init(params);
    const stepOnce = () => {
      const { loss, grads } = closedForm(params);
      try {
        const [u, next] = opt.update(grads, state, params, { gradFn: closedForm, valGradFn: rawGradFn, loss });
        const p2 = T.zipWith((a, b) => tf.add(a, b))(params, u);
        [params, u].forEach(T.dispose);
        T.disposeState(state);
        params = p2;
        state = next;
      } finally {
        T.dispose(grads);
        loss.dispose();
      }
    };
    stepOnce(); // takes the tangent; no validation pass yet
    expect(messageOf(stepOnce)).toBe(`lets(sam): ${NO_GRADIENTS}`);
    T.dispose(params);
    T.disposeState(state);
  });
});

describe("after initRuntime(): 'exact' on a loss that is not twice-differentiable", () => {
  beforeAll(setupCpu);

  it("names the op and the estimator to use instead ('fd')", () => {
    const b = makeBatch(16, 5, 3, 1);
    const params = mlpInit(5, 8, 3, 10);
    const inp = stepInputs(params, b);
    // tfjs's own cross-entropy is a customGrad op: refused under double back-propagation.
    const lossFn = (p: Params): tf.Scalar =>
      tf.tidy(() => tf.losses.softmaxCrossEntropy(b.y, logits(p, b.x)) as tf.Scalar);
    const opt = lets(sharpnessAware(sgd(0.1), { name: 'sam', rho: 0.05 }), { every: 1, estimator: 'exact' });
    const state = opt.init(params);
    const msg = messageOf(() => opt.update(inp.grads, state, params, { ...inp.extra, lossFn }));
    expect(msg).toMatch(/^hvp: the 'exact' estimator cannot differentiate the loss twice through op '\w+': it is a customGrad op/);
    expect(msg).toContain("Use the 'fd' estimator instead (estimator: 'fd', LETS's default: first derivatives only, one gradient evaluation)");
    [params, inp.grads].forEach(T.dispose);
    inp.loss.dispose();
    T.disposeState(state);
    disposeBatch(b);
  });
});
