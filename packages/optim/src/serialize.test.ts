import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/Either';
import { deserializeState, dispose, disposeState, flattenState, serializeState } from '@lets/tree';
import { applyIfFinite } from './applyIfFinite';
import { multiSteps } from './multiSteps';
import { namedChain } from './namedChain';
import { injectHyperparams } from './injectHyperparams';
import { adamw } from './alias';
import { clipByGlobalNorm } from './clip';
import { trace } from './trace';
import { partition } from './partition';
import { warmupCosineDecay } from './schedules';
import { applyUpdates } from './applyUpdates';
import { hostTree, rng, toTree, useCpu } from './test-util';

beforeAll(useCpu);

const bits = (x: tf.Tensor): string => Buffer.from(new Uint8Array(x.dataSync().buffer.slice(0))).toString('hex');

/** Skeleton and every tensor's dtype, shape and bytes: equal strings mean bit-identical states. */
const fingerprint = (state: unknown): string => {
  const { tensors, skeleton } = flattenState(state);
  return JSON.stringify({
    skeleton,
    tensors: Object.entries(tensors).map(([k, t]) => [k, t.dtype, t.shape, bits(t)]),
  });
};

describe('optimizer state round-trips through serializeState/deserializeState', () => {
  it('bit for bit, and the next update is identical', () => {
    const shapes = { 'conv/kernel': [3, 3], 'conv/bias': [3], 'head/kernel': [3, 2] };
    const opt = applyIfFinite(
      multiSteps(
        namedChain({
          clip: clipByGlobalNorm(1),
          body: partition(
            {
              adamw: injectHyperparams((h: { lr: number; wd: number }) => adamw(h.lr, { weightDecay: h.wd, mask: (p) => p.endsWith('kernel') }), {
                lr: warmupCosineDecay({ init: 0, peak: 1e-2, warmupSteps: 2, decaySteps: 20 }),
                wd: 1e-2,
              }),
              momentum: trace({ decay: 0.9, nesterov: true }),
            },
            (p) => (p.startsWith('conv') ? 'adamw' : 'momentum'),
          ),
        }),
        2,
      ),
    );
    const r = rng(3);
    let params = toTree(hostTree(shapes, r), shapes);
    let state = opt.init(params);
    // 6 calls, one skipped as non-finite: multiSteps has seen 5, so the next call completes an accumulation
    for (let i = 0; i < 6; i++) {
      const g = toTree(hostTree(shapes, r), shapes);
      if (i === 2) (g['conv/bias'] as tf.Tensor).dispose(), ((g as Record<string, tf.Tensor>)['conv/bias'] = tf.tensor1d([NaN, 0, 0]));
      const [u, s] = opt.update(g, state, params);
      const next = applyUpdates(params, u);
      [g, u, params].forEach(dispose);
      disposeState(state);
      params = next;
      state = s;
    }
    expect(state.totalNotFinite).toBe(1);
    expect(state.inner.miniStep).toBe(1);

    const { manifest, data } = serializeState(state);
    // through JSON text and a copied buffer, as a checkpoint on disk would be
    const restored = deserializeState(JSON.parse(JSON.stringify(manifest)), new Uint8Array(data));
    if (E.isLeft(restored)) throw restored.left;
    const back = restored.right as typeof state;
    expect(fingerprint(back)).toBe(fingerprint(state));

    const g = toTree(hostTree(shapes, r), shapes);
    const [u1, s1] = opt.update(g, state, params);
    const [u2, s2] = opt.update(g, back, params);
    expect(Object.values(u2).map(bits)).toEqual(Object.values(u1).map(bits));
    expect(fingerprint(s2)).toBe(fingerprint(s1));
    // and the update is not trivially zero (the accumulation step emits the inner update here)
    expect(Object.values(u1).some((x) => Array.from(x.dataSync()).some((v) => v !== 0))).toBe(true);
    [g, u1, u2, params].forEach(dispose);
    [state, back, s1, s2].forEach(disposeState);
  });
});
