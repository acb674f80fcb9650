import * as tf from '@tensorflow/tfjs-core';
import { adam, adamw, sgd } from './alias';
import { expectClose, hostTree, rng, runSteps, useCpu } from './test-util';

beforeAll(useCpu);

const shapes = { w: [2, 3], b: [3] };
type H = Record<string, number[]>;
const mapH = (h: H, f: (x: number, k: string, i: number) => number): H =>
  Object.fromEntries(Object.entries(h).map(([k, v]) => [k, v.map((x, i) => f(x, k, i))]));

// A fixed stream of gradients (float32 values), the same for tfjs and the float64 reference.
const gradStream = (seed: number, n: number): H[] => {
  const r = rng(seed);
  return Array.from({ length: n }, () => hostTree(shapes, r));
};
const p0 = hostTree(shapes, rng(7));

// float32 tolerance: every step does ~10 float32 roundings (relative 6e-8 each) on values of
// order 1, and errors compound over ≤ 8 steps additively: ≤ ~1e-5 relative is generous, and an
// error in the formula (a missing bias correction, a wrong sign) moves values by ≥ 1e-3.
const tol = { rtol: 2e-5, atol: 2e-6 };

describe('sgd matches torch.optim.SGD’s documented recurrence (float64 reference)', () => {
  const n = 6;
  const G = gradStream(1, n);
  const reference = (lr: number, mu: number | undefined, nesterov: boolean, wd: number): H[] => {
    let w = p0;
    let buf: H | undefined;
    const out: H[] = [];
    for (let t = 0; t < n; t++) {
      // g ← g + wd·w;  buf ← g at t = 0 else μ·buf + g;  d = nesterov ? g + μ·buf : buf
      const g = mapH(G[t] as H, (x, k, i) => x + wd * (w[k] as number[])[i]!);
      let d = g;
      if (mu !== undefined) {
        buf = buf === undefined ? g : mapH(buf, (x, k, i) => mu * x + (g[k] as number[])[i]!);
        const b = buf;
        d = nesterov ? mapH(g, (x, k, i) => x + mu * (b[k] as number[])[i]!) : b;
      }
      w = mapH(w, (x, k, i) => x - lr * (d[k] as number[])[i]!);
      out.push(w);
    }
    return out;
  };
  const cases: [string, Parameters<typeof sgd>[1], number | undefined, boolean, number][] = [
    ['plain', {}, undefined, false, 0],
    ['momentum 0.9', { momentum: 0.9 }, 0.9, false, 0],
    ['nesterov 0.9', { momentum: 0.9, nesterov: true }, 0.9, true, 0],
    ['momentum + weight decay', { momentum: 0.5, weightDecay: 0.01 }, 0.5, false, 0.01],
    ['nesterov + weight decay', { momentum: 0.8, nesterov: true, weightDecay: 0.1 }, 0.8, true, 0.1],
  ];
  it.each(cases)('%s', (_name, opts, mu, nesterov, wd) => {
    const before = tf.memory().numTensors;
    const got = runSteps(sgd(0.1, opts), p0, shapes, n, (t) => G[t] as H);
    const want = reference(0.1, mu, nesterov, wd);
    got.forEach((g, t) => expectClose(g, want[t] as H, tol));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a schedule for the learning rate is evaluated at 0, 1, 2, …', () => {
    const lr = (c: number) => 0.1 / (1 + c);
    const got = runSteps(sgd(lr), p0, shapes, 3, (t) => G[t] as H);
    let w = p0;
    for (let t = 0; t < 3; t++) {
      w = mapH(w, (x, k, i) => x - lr(t) * (G[t] as H)[k]![i]!);
      expectClose(got[t] as H, w, tol);
    }
  });

  it('rejects nesterov without momentum and a bad momentum', () => {
    expect(() => sgd(0.1, { nesterov: true })).toThrow(/nesterov needs a momentum/);
    expect(() => sgd(0.1, { momentum: 1.5 })).toThrow(/trace: decay must be a number in \[0, 1\), got 1.5/);
  });
});

// Adam (Kingma & Ba 2015, Algorithm 1) in float64, optionally with decoupled weight decay.
const adamReference = (
  G: H[],
  o: { lr: number; b1: number; b2: number; eps: number; wd?: number; decayed?: (k: string) => boolean; nesterov?: boolean },
): H[] => {
  let w = p0;
  let m = mapH(p0, () => 0);
  let v = mapH(p0, () => 0);
  const out: H[] = [];
  G.forEach((g, idx) => {
    const t = idx + 1;
    m = mapH(m, (x, k, i) => o.b1 * x + (1 - o.b1) * g[k]![i]!);
    v = mapH(v, (x, k, i) => o.b2 * x + (1 - o.b2) * g[k]![i]! ** 2);
    w = mapH(w, (x, k, i) => {
      const mHat = o.nesterov
        ? (o.b1 * m[k]![i]!) / (1 - o.b1 ** (t + 1)) + ((1 - o.b1) * g[k]![i]!) / (1 - o.b1 ** t)
        : m[k]![i]! / (1 - o.b1 ** t);
      const vHat = v[k]![i]! / (1 - o.b2 ** t);
      const decay = o.wd !== undefined && (o.decayed?.(k) ?? true) ? o.wd * x : 0;
      return x - o.lr * (mHat / (Math.sqrt(vHat) + o.eps) + decay);
    });
    out.push(w);
  });
  return out;
};

describe('adam and adamw match the float64 formula over several steps', () => {
  const n = 8;
  const G = gradStream(3, n);
  it('adam with defaults', () => {
    const got = runSteps(adam(0.01), p0, shapes, n, (t) => G[t] as H);
    const want = adamReference(G, { lr: 0.01, b1: 0.9, b2: 0.999, eps: 1e-8 });
    got.forEach((g, t) => expectClose(g, want[t] as H, tol));
  });
  it('adam with b1, b2, eps given', () => {
    const got = runSteps(adam(0.05, { b1: 0.5, b2: 0.9, eps: 1e-3 }), p0, shapes, n, (t) => G[t] as H);
    const want = adamReference(G, { lr: 0.05, b1: 0.5, b2: 0.9, eps: 1e-3 });
    got.forEach((g, t) => expectClose(g, want[t] as H, tol));
  });
  it('adam with nesterov (NAdam form)', () => {
    const got = runSteps(adam(0.01, { nesterov: true }), p0, shapes, n, (t) => G[t] as H);
    const want = adamReference(G, { lr: 0.01, b1: 0.9, b2: 0.999, eps: 1e-8, nesterov: true });
    got.forEach((g, t) => expectClose(g, want[t] as H, tol));
  });
  it('the first adam step moves every coordinate by lr·sign(g) (bias correction)', () => {
    // m̂ = g and v̂ = g², so u = g/(|g| + eps) ≈ sign(g): a check by hand, independent of the reference.
    const got = runSteps(adam(0.01), p0, shapes, 1, () => G[0] as H)[0] as H;
    expectClose(got, mapH(p0, (x, k, i) => x - 0.01 * Math.sign(G[0]![k]![i]!)), { rtol: 1e-6, atol: 1e-6 });
  });
  it('adamw: decoupled weight decay −lr·(adam + wd·w), with a mask', () => {
    const got = runSteps(adamw(0.01, { weightDecay: 0.1 }), p0, shapes, n, (t) => G[t] as H);
    const want = adamReference(G, { lr: 0.01, b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0.1 });
    got.forEach((g, t) => expectClose(g, want[t] as H, tol));
    const gotM = runSteps(adamw(0.01, { weightDecay: 0.1, mask: (p) => p !== 'b' }), p0, shapes, n, (t) => G[t] as H);
    const wantM = adamReference(G, { lr: 0.01, b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0.1, decayed: (k) => k !== 'b' });
    gotM.forEach((g, t) => expectClose(g, wantM[t] as H, tol));
    // and the mask matters: b differs from the unmasked run
    expect(Math.abs(gotM[n - 1]!.b![0]! - got[n - 1]!.b![0]!)).toBeGreaterThan(1e-5);
  });
  it('adamw defaults to weight decay 1e-4', () => {
    const got = runSteps(adamw(0.01), p0, shapes, 3, (t) => G[t] as H);
    const want = adamReference(G.slice(0, 3), { lr: 0.01, b1: 0.9, b2: 0.999, eps: 1e-8, wd: 1e-4 });
    got.forEach((g, t) => expectClose(g, want[t] as H, tol));
  });
  it('rejects bad moments', () => {
    expect(() => adam(0.1, { b1: 1 })).toThrow(/scaleByAdam: b1 must be a number in \[0, 1\), got 1/);
    expect(() => adam(0.1, { eps: -1 })).toThrow(/eps must be a non-negative number/);
    expect(() => adam(NaN)).toThrow(/learningRate must be a finite number or a schedule, got NaN/);
  });
});
