/** The ascent stages alone, against hand formulas; the PRNG; an ascent chain's memory rules. */
import * as tf from '@tensorflow/tfjs-core';
import * as T from '@lets/tree';
import type { Params } from '@lets/tree';
import { W0, expectClose, hgrad, hmap, hnorm, hscale, setup, toHost, toTree, type HostTree } from './test-util';
import { normalize } from './normalize';
import { scaleByParam } from './scaleByParam';
import { randomMask } from './randomMask';
import { selectSubset, isNormalizationParam } from './selectSubset';
import { chain, type GradientTransformation } from '@lets/optim';
import { emaDirection } from './emaDirection';
import { random } from '@lets/runtime';
import type { AscentExtra } from './types';

beforeAll(setup);

const ascentFor = (grads: Params, params: Params, rho = 0.1): AscentExtra => ({
  rho,
  cleanGrads: grads,
  cleanParams: params,
  gradAt: () => {
    throw new Error('no gradient evaluations in these tests');
  },
});

const applyOnce = (stage: GradientTransformation<any>, d: HostTree, w: HostTree = W0) => {
  const dt = toTree(d);
  const wt = toTree(w);
  const [out, state] = stage.update(dt, stage.init(wt), wt, ascentFor(dt, wt));
  const host = toHost(out);
  [dt, wt, out].forEach(T.dispose);
  return { out: host, state };
};

const G = hgrad(W0);

describe('normalize', () => {
  it('global L2 (default): d/(‖d‖ + 1e-12)', () => {
    expectClose(applyOnce(normalize(), G).out, hscale(G, 1 / hnorm(G)));
  });
  it('per tensor: each leaf by its own L2 norm', () => {
    const want = hmap(G, (x, _i, k) => x / Math.hypot(...(G[k] as number[])));
    expectClose(applyOnce(normalize({ scope: 'perTensor' }), G).out, want);
  });
  it('ord ∞: d / max|d| over the tree', () => {
    const mx = Math.max(...Object.values(G).flat().map(Math.abs));
    expectClose(applyOnce(normalize({ ord: Infinity }), G).out, hscale(G, 1 / mx));
  });
  it('over a subset: the norm over the selected leaves, zeros elsewhere', () => {
    const sel = (k: string) => k.startsWith('dense/');
    const n = Math.hypot(...G['dense/kernel']!, ...G['dense/bias']!);
    const want = hmap(G, (x, _i, k) => (sel(k) ? x / n : 0));
    expectClose(applyOnce(normalize({ filter: (k) => sel(k) }), G).out, want);
  });
  it('a zero direction stays zero (no NaN)', () => {
    const out = applyOnce(normalize(), hmap(G, () => 0)).out;
    for (const v of Object.values(out)) for (const x of v) expect(x).toBe(0);
  });
  it('rejects bad options, naming them', () => {
    expect(() => normalize({ ord: 1 as unknown as 2 })).toThrow(/normalize: ord must be 2 or Infinity, got 1/);
    expect(() => normalize({ scope: 'layer' as 'global' })).toThrow(/normalize: scope/);
  });
});

describe('scaleByParam', () => {
  it("'weights' (default): T = |w| + η on rank > 1 leaves, 1 elsewhere", () => {
    const want = hmap(G, (x, i, k) => (k === 'dense/kernel' ? x * (Math.abs(W0[k]![i]!) + 0.01) : x));
    expectClose(applyOnce(scaleByParam(), G).out, want);
  });
  it("'all' and a predicate", () => {
    expectClose(applyOnce(scaleByParam({ eta: 0.2, filter: 'all' }), G).out, hmap(G, (x, i, k) => x * (Math.abs(W0[k]![i]!) + 0.2)));
    const want = hmap(G, (x, i, k) => (k === 'bn/gamma' ? x * Math.abs(W0[k]![i]!) : x));
    expectClose(applyOnce(scaleByParam({ eta: 0, filter: (k) => k === 'bn/gamma' }), G).out, want);
  });
  it('rejects a negative η', () => {
    expect(() => scaleByParam({ eta: -1 })).toThrow(/scaleByParam: eta: expected a finite number ≥ 0, got -1/);
  });
});

describe('selectSubset and isNormalizationParam', () => {
  it('keeps only the selected leaves', () => {
    const want = hmap(G, (x, _i, k) => (k === 'bn/gamma' ? x : 0));
    expectClose(applyOnce(selectSubset(), G).out, want);
  });
  it('recognizes normalization-layer paths', () => {
    const x = tf.scalar(0);
    for (const p of ['bn/gamma', 'block1/bn2/beta', 'encoder/layer_norm/scale', 'ln_f/bias', 'block/norm1/bias', 'gn/offset']) {
      expect([p, isNormalizationParam(p, x)]).toEqual([p, true]);
    }
    for (const p of ['conv1/kernel', 'dense/bias', 'block2/conv/kernel', 'embedding/table']) {
      expect([p, isNormalizationParam(p, x)]).toEqual([p, false]);
    }
    x.dispose();
  });
});

describe('randomMask and the PRNG', () => {
  it('per element: keep with probability β (frequency within 4σ over 20 000 draws), kept entries × 1/β', () => {
    const beta = 0.3;
    const n = 20000;
    const d = { big: tf.ones([n]) };
    const [out, state] = randomMask({ beta, seed: 11 }).update(d, { rng: random.key(11) }, d, ascentFor(d, d));
    const v = Array.from(out.big!.dataSync());
    const kept = v.filter((x) => x !== 0);
    kept.forEach((x) => expect(x).toBeCloseTo(1 / beta, 5));
    expect(v.every((x) => x === 0 || Math.abs(x - 1 / beta) < 1e-5)).toBe(true);
    const sd = Math.sqrt(n * beta * (1 - beta));
    expect(Math.abs(kept.length - n * beta)).toBeLessThan(4 * sd);
    expect(state.rng).not.toBe(random.key(11));
    [d, out].forEach(T.dispose);
  });
  it('per tensor: each leaf kept or dropped whole', () => {
    const d = T.fromEntries(Array.from({ length: 40 }, (_, i) => [`l${i}`, tf.ones([5])] as const));
    const [out] = randomMask({ beta: 0.5, per: 'tensor', seed: 2 }).update(d, { rng: random.key(2) }, d, ascentFor(d, d));
    const host = toHost(out);
    const kinds = Object.values(host).map((v) => (v.every((x) => x === 0) ? 0 : v.every((x) => x === 2) ? 1 : -1));
    expect(kinds).not.toContain(-1);
    expect(kinds).toContain(0);
    expect(kinds).toContain(1);
    [d, out].forEach(T.dispose);
  });
  it('the same seed and state give the same draws; the state advances and is a plain number', () => {
    // The stages thread their key as [sub, next] = random.split(state) (@lets/runtime).
    const [a0, s1] = random.split(random.key(5));
    const [b0, s2] = random.split(random.key(5));
    const a = random.uniforms(a0!, 4);
    expect(Array.from(a)).toEqual(Array.from(random.uniforms(b0!, 4)));
    expect(s1).toBe(s2);
    const [c0] = random.split(s1!);
    expect(Array.from(random.uniforms(c0!, 4))).not.toEqual(Array.from(a));
    expect(typeof s1).toBe('number');
    const [u] = random.uniforms(random.key(0), 1);
    expect(u).toBeGreaterThanOrEqual(0);
    expect(u).toBeLessThan(1);
    // standard normals: mean ≈ 0 and variance ≈ 1 over 20 000 draws (4σ bounds)
    const z = random.normals(random.key(9), 20000);
    const mean = z.reduce((s, x) => s + x, 0) / z.length;
    const variance = z.reduce((s, x) => s + (x - mean) ** 2, 0) / z.length;
    expect(Math.abs(mean)).toBeLessThan(4 / Math.sqrt(20000));
    expect(Math.abs(variance - 1)).toBeLessThan(4 * Math.sqrt(2 / 20000));
    expect(() => randomMask({ seed: 1.5 })).toThrow(/seed must be a safe integer, got 1.5/);
  });
});

describe('an ascent chain (optim\'s chain of stages)', () => {
  it('composes left to right, never touches its input, disposes intermediates', () => {
    const dt = toTree(G);
    const wt = toTree(W0);
    const p = chain(emaDirection({ theta: 0.5 }), normalize());
    const s0 = p.init(wt);
    const before = tf.memory().numTensors;
    const [out, s1] = p.update(dt, s0, wt, ascentFor(dt, wt));
    // new tensors: the output and the EMA state only
    expect(tf.memory().numTensors - before).toBe(Object.keys(G).length * 2);
    expectClose(toHost(out), hscale(G, 1 / hnorm(G))); // θ = 0.5 from a zero EMA: d = g/2, normalized = ĝ
    expectClose(toHost((s1[0] as { ema: Params }).ema), hscale(G, 0.5));
    expectClose(toHost(dt), G);
    [dt, wt, out].forEach(T.dispose);
    T.disposeState(s0);
    T.disposeState(s1);
  });
  it('an empty chain returns a copy of g', () => {
    const dt = toTree(G);
    const [out] = chain().update(dt, [], dt, ascentFor(dt, dt));
    expect(out['dense/kernel']).not.toBe(dt['dense/kernel']);
    expectClose(toHost(out), G);
    [dt, out].forEach(T.dispose);
  });
});
