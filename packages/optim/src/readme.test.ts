import * as tf from '@tensorflow/tfjs-core';
import { dispose, disposeState, type Params } from '@lets/tree';
import {
  adam,
  applyIfFinite,
  applyUpdates,
  chain,
  clipByGlobalNorm,
  addDecayedWeights,
  masked,
  scaleByAdam,
  scaleByLearningRate,
  warmupCosineDecay,
  injectHyperparams,
  setHyperparams,
  adamw,
} from './index';
import { useCpu, vals } from './test-util';

beforeAll(useCpu);

// The README's example, run, and checked against the alias it rebuilds by hand.
describe('README example', () => {
  it('the hand-built AdamW chain inside applyIfFinite equals adamw with a mask (no clipping at this scale)', () => {
    const lr = warmupCosineDecay({ init: 0, peak: 1e-3, warmupSteps: 2, decaySteps: 10 });
    const notBias = (path: string) => !path.endsWith('bias');
    const opt = applyIfFinite(
      chain(clipByGlobalNorm(1), scaleByAdam(), addDecayedWeights(1e-4, { mask: notBias }), scaleByLearningRate(lr)),
    );
    const ref = adamw(lr, { weightDecay: 1e-4, mask: notBias });
    let params: Params = { 'dense/kernel': tf.tensor2d([[0.5, -0.5]]), 'dense/bias': tf.tensor1d([0.1, 0.2]) };
    let state = opt.init(params);
    let refState = ref.init(params);
    for (let i = 0; i < 4; i++) {
      const grads = { 'dense/kernel': tf.tensor2d([[0.1 * (i + 1), -0.2]]), 'dense/bias': tf.tensor1d([0.05, 0.3]) };
      const [updates, next] = opt.update(grads, state, params);
      const [refUpdates, refNext] = ref.update(grads, refState, params);
      // identical op sequence except clipping's multiply by exactly 1: bit-equal
      expect(vals(updates)).toEqual(vals(refUpdates));
      const newParams = applyUpdates(params, updates);
      [grads, updates, refUpdates, params].forEach(dispose);
      [state, refState].forEach(disposeState);
      params = newParams;
      state = next;
      refState = refNext;
    }
    dispose(params);
    [state, refState].forEach(disposeState);
  });

  it('injectHyperparams + setHyperparams, and masked nested around adam', () => {
    const params = { w: tf.tensor1d([1]), bias: tf.tensor1d([1]) };
    const tunable = injectHyperparams((h: { lr: number }) => adam(h.lr), { lr: 1e-3 });
    let s = tunable.init(params);
    s = setHyperparams(s, { lr: 3e-4 });
    const g = { w: tf.tensor1d([2]), bias: tf.tensor1d([-2]) };
    const [u, s2] = tunable.update(g, s, params);
    // first adam step: −lr·sign(g)
    expect(vals(u).w![0]).toBeCloseTo(-3e-4, 9);
    const m = masked(adam(1e-3), (p) => !p.endsWith('bias'));
    const s0 = m.init(params);
    const [u2, s3] = m.update(g, s0, params);
    expect(vals(u2).bias).toEqual([-2]);
    expect(vals(u2).w![0]).toBeCloseTo(-1e-3, 8);
    [params, g, u, u2].forEach(dispose);
    [s, s2, s0, s3].forEach(disposeState);
  });
});
