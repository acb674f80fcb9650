/**
 * Ascent stages are ordinary gradient transformations: optim's `masked`, `partition` and
 * `injectHyperparams` work inside a SAM variant's ascent chain (each checked bit for bit against
 * the preset it rebuilds), stages that need SAM's ascent extra say so outside it, and every
 * procedure evaluates through `gradAt` (counted, checked) and cleans up when an evaluation fails.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as T from '@lets/tree';
import type { Params } from '@lets/tree';
import { chain, identity, injectHyperparams, masked, partition, setHyperparams, sgd, type GradFn, type InjectState } from '@lets/optim';
import { W0, expectClose, expectSameRun, hgrad, hunit, quadratic, runSteps, setup, toHost, toTree } from './test-util';
import { asam, friendlySam, sam } from './presets';
import { sharpnessAware, type SamPerturbationState } from './sharpnessAware';
import { normalize } from './normalize';
import { scaleByParam, isWeight } from './scaleByParam';
import { subtractEma } from './subtractEma';
import { gaussianSmoothing } from './gaussianSmoothing';
import { lossEquated } from './lossEquated';
import { fisherPrecondition } from './fisherPrecondition';
import { microBatches } from './microBatches';
import { gradientNormAware } from './gradientNormAware';
import { sharpnessSensitiveData } from './sharpnessSensitiveData';
import type { SamTransformation } from './types';

beforeAll(setup);

const outer = () => sgd(0.05, { momentum: 0.9, weightDecay: 1e-3 });
const rho = 0.3;
const STEPS = 12;

const run = (opt: SamTransformation<any>) => {
  const q = quadratic();
  const out = runSteps(opt, STEPS, q.gradFn);
  q.dispose();
  return out;
};

describe('optim combinators inside an ascent chain', () => {
  // ASAM's official operator T = |w| + 0.01 on rank > 1 leaves, written with a combinator
  // around the every-leaf stage instead of the stage's own filter.
  const T_ALL = () => scaleByParam({ eta: 0.01, filter: 'all' });

  it('masked: ASAM rebuilt with masked(T, isWeight), bit for bit', () => {
    const reference = run(asam(outer(), { rho }));
    const t = masked(T_ALL(), isWeight);
    const rebuilt = sharpnessAware(outer(), { name: 'maskedAsam', rho, ascent: chain(t, normalize(), t) });
    expectSameRun(run(rebuilt), reference);
    // and it is not SAM (the comparison can fail)
    expect(() => expectSameRun(run(sam(outer(), { rho })), reference)).toThrow(/bit-for-bit/);
  });

  it('partition: ASAM rebuilt with T on the weights and identity on the rest, bit for bit', () => {
    const reference = run(asam(outer(), { rho }));
    const t = partition({ weights: T_ALL(), rest: identity() }, (_p, x) => (x.rank > 1 ? 'weights' : 'rest'));
    const rebuilt = sharpnessAware(outer(), { name: 'partitionedAsam', rho, ascent: chain(t, normalize(), t) });
    expectSameRun(run(rebuilt), reference);
  });

  it('injectHyperparams: Friendly SAM with σ injected equals the preset; σ read and overwritten between steps', () => {
    const injected = injectHyperparams((h: { sigma: number }) => subtractEma({ sigma: h.sigma, lambda: 0.95 }), { sigma: 1 });
    const opt = sharpnessAware(outer(), { name: 'friendlyInjected', rho, ascent: chain(injected, normalize()) });
    expectSameRun(run(opt), run(friendlySam(outer(), { rho, sigma: 1, lambda: 0.95 })));

    // Two steps by hand: after the first, read σ and set it to 0; the second ascent is then
    // SAM's n = g/‖g‖ at that step (d = g − 0·m), not g − m.
    const q = quadratic();
    const before = tf.memory().numTensors;
    const p0 = toTree(W0);
    const s0 = opt.init(p0);
    const c0 = q.gradFn(p0);
    const s1 = opt.step(c0.grads, s0, p0, { gradFn: q.gradFn, loss: c0.loss });
    const ascentState = (s: typeof s0) => (s.perturbation as SamPerturbationState).pipeline as readonly [InjectState<'sigma', unknown>, unknown];
    expect(ascentState(s1.state)[0].hyperparams.sigma).toBe(1);
    const [inj, norm] = ascentState(s1.state);
    const p1 = T.add(p0, s1.updates);
    const state = { ...s1.state, perturbation: { ...(s1.state.perturbation as SamPerturbationState), pipeline: [setHyperparams(inj, { sigma: 0 }), norm] } };
    const c1 = q.gradFn(p1);
    const s2 = opt.step(c1.grads, state, p1, { gradFn: q.gradFn, loss: c1.loss });
    expect(ascentState(s2.state)[0].hyperparams.sigma).toBe(0);
    expectClose(toHost(s2.direction), hunit(hgrad(toHost(p1))));
    // with σ = 1 kept, the direction would be (g − m)/‖g − m‖ ≠ ĝ
    const s2b = opt.step(c1.grads, s1.state, p1, { gradFn: q.gradFn, loss: c1.loss });
    expect(() => expectClose(toHost(s2b.direction), hunit(hgrad(toHost(p1))))).toThrow();
    for (const s of [s1, s2, s2b]) [s.updates, s.direction, s.perturbedGrads].forEach(T.dispose);
    [s2.state, s2b.state, s1.state, s0].forEach(T.disposeState);
    [p0, p1, c0.grads, c1.grads].forEach(T.dispose);
    [c0.loss, c1.loss].forEach((l) => l.dispose());
    expect(tf.memory().numTensors).toBe(before);
    q.dispose();
  });

  it('masked around a stage that evaluates (gaussianSmoothing): its gradient on the masked-in leaves, g elsewhere; one evaluation', () => {
    const q = quadratic();
    const p0 = toTree(W0);
    // σ = 0: the smoothed point is w itself, so the stage's output is g on its own leaves
    const opt = sharpnessAware(outer(), { name: 'maskedRandom', rho, ascent: chain(masked(gaussianSmoothing({ sigma: 0 }), (k: string) => k.startsWith('dense/')), normalize()) });
    const s0 = opt.init(p0);
    const before = tf.memory().numTensors;
    const c = q.gradFn(p0);
    const s = opt.step(c.grads, s0, p0, { gradFn: q.gradFn, loss: c.loss });
    expectClose(toHost(s.direction), hunit(hgrad(W0)));
    expect(s.state.report!.gradEvals).toBe(3);
    [s.updates, s.direction, s.perturbedGrads, c.grads].forEach(T.dispose);
    c.loss.dispose();
    T.disposeState(s.state);
    expect(tf.memory().numTensors).toBe(before);
    [p0].forEach(T.dispose);
    T.disposeState(s0);
    q.dispose();
  });
});

describe('stages that read SAM’s ascent extra name it outside the wrapper', () => {
  it.each([
    ['lossEquated', () => lossEquated()],
    ['gaussianSmoothing', () => gaussianSmoothing()],
    ['fisherPrecondition', () => fisherPrecondition()],
  ] as const)('%s', (name, make) => {
    const g = toTree(W0);
    const t = make();
    expect(() => t.update(g, t.init(g) as never, g, {})).toThrow(new RegExp(`${name}: expected SAM's ascent extra \\(extra\\.rho`));
    T.dispose(g);
  });
  it("the old 'perturbation' option names its replacement", () => {
    expect(() => sharpnessAware(sgd(0.1), { perturbation: normalize() } as never)).toThrow(/'perturbation' option is now 'ascent'/);
  });
});

describe('procedures evaluate through gradAt and clean up on failure', () => {
  const grads = () => {
    const q = quadratic();
    return { q, p: toTree(W0) };
  };

  it('microBatches: a micro-batch GradFn with the wrong structure fails through gradAt’s check, leaking nothing', () => {
    const { q, p } = grads();
    const opt = sharpnessAware(outer(), { name: 'msam', rho, procedure: microBatches({ microBatches: 2 }) });
    const s0 = opt.init(p);
    const c = q.gradFn(p);
    const before = tf.memory().numTensors;
    const bad: GradFn = (w) => {
      const r = q.gradFn(w);
      const { ['bn/gamma']: _dropped, ...rest } = r.grads;
      _dropped!.dispose();
      return { loss: r.loss, grads: rest };
    };
    let calls = 0;
    const secondBad: GradFn = (w) => (++calls === 2 ? bad(w) : q.gradFn(w));
    expect(() => opt.update(c.grads, s0, p, { gradFn: q.gradFn, microGradFns: [q.gradFn, bad] })).toThrow(/msam: a GradFn's grads and params/);
    expect(() => opt.update(c.grads, s0, p, { gradFn: q.gradFn, microGradFns: [secondBad, q.gradFn] })).toThrow(/msam: a GradFn's grads and params/);
    expect(tf.memory().numTensors).toBe(before);
    // a micro-batch pass's model state is discarded, and each pass is counted
    const withState: GradFn = (w) => ({ ...q.gradFn(w), state: { 'bn/mean': tf.ones([2]) } });
    const [u, s1] = opt.update(c.grads, s0, p, { gradFn: q.gradFn, loss: c.loss, microGradFns: [withState, withState] });
    expect(s1.report!.gradEvals).toBe(5);
    T.dispose(u);
    T.disposeState(s1);
    expect(tf.memory().numTensors).toBe(before);
    [p, c.grads].forEach(T.dispose);
    c.loss.dispose();
    T.disposeState(s0);
    q.dispose();
  });

  it.each([1, 2, 3])('GAM: an evaluation that throws at pass %i leaks nothing', (failAt) => {
    const { q, p } = grads();
    const opt = sharpnessAware(outer(), { name: 'gam', rho, procedure: gradientNormAware() });
    const s0 = opt.init(p);
    const c = q.gradFn(p);
    const before = tf.memory().numTensors;
    let calls = 0;
    const failing: GradFn = (w) => {
      if (++calls === failAt) throw new Error('gradFn failed');
      return q.gradFn(w);
    };
    expect(() => opt.update(c.grads, s0, p, { gradFn: failing })).toThrow(/gradFn failed/);
    expect(tf.memory().numTensors).toBe(before);
    [p, c.grads].forEach(T.dispose);
    c.loss.dispose();
    T.disposeState(s0);
    q.dispose();
  });

  it('ESAM-SDS: a failing subset gradient leaks nothing; a good one is counted', () => {
    const { q, p } = grads();
    const opt = sharpnessAware(outer(), { name: 'esam', rho, procedure: sharpnessSensitiveData({ gamma: 0.5 }) });
    const s0 = opt.init(p);
    const c = q.gradFn(p);
    const sampleLossFn = (w: Params) => {
      const r = q.gradFn(w);
      T.dispose(r.grads);
      const l = tf.tidy(() => tf.mul(r.loss, tf.tensor1d([1, 3, 2, 0.5])) as tf.Tensor1D);
      r.loss.dispose();
      return l;
    };
    const before = tf.memory().numTensors;
    const failing = () => {
      throw new Error('subset failed');
    };
    expect(() => opt.update(c.grads, s0, p, { gradFn: q.gradFn, sampleLossFn, subsetGradFn: failing })).toThrow(/subset failed/);
    expect(tf.memory().numTensors).toBe(before);
    const [u, s1] = opt.update(c.grads, s0, p, { gradFn: q.gradFn, sampleLossFn, subsetGradFn: (w: Params) => q.gradFn(w) });
    expect(s1.report!.gradEvals).toBe(2);
    T.dispose(u);
    T.disposeState(s1);
    expect(tf.memory().numTensors).toBe(before);
    [p, c.grads].forEach(T.dispose);
    c.loss.dispose();
    T.disposeState(s0);
    q.dispose();
  });
});
