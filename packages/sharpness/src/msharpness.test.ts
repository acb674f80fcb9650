import * as tf from '@tensorflow/tfjs-core';
import type { Params } from '@lets/tree';
import { mSharpness } from './msharpness';
import type { SharpnessProblem } from './problem';
import { setupCpu, trustRegionMax } from './test-util';

beforeAll(setupCpu);

// L(w) = ½ Σ λ_i (w_i − c_i)²: g = λ ⊙ (w − c), H = diag(λ), and
// L(w + ε) − L(w) = gᵀε + ½ εᵀ diag(λ) ε, whose max over ‖ε‖ ≤ ρ is the trust-region subproblem.
const LAMBDA = [4, 2, 1];
const diagLoss =
  (lambda: readonly number[], c: readonly number[] = [0, 0, 0]) =>
  (p: Params): tf.Scalar =>
    tf.tidy(() => tf.mul(0.5, tf.sum(tf.mul(tf.tensor1d([...lambda]), tf.square(tf.sub(p['w']!, tf.tensor1d([...c])))))) as tf.Scalar);
const problemAt = (w: readonly number[]): SharpnessProblem => ({ params: { w: tf.tensor1d([...w]) }, chunks: [{ lossFn: diagLoss(LAMBDA), weight: 1 }] });
const free = (p: SharpnessProblem): void => p.params['w']!.dispose();
const rel = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);

describe('mSharpness: max over ‖ε‖ ≤ ρ of L(w+ε) − L(w), by the SAM ascent', () => {
  it('is exact when the gradient lies along the top eigenvector (ε = ρ g/‖g‖ is the max)', () => {
    const p = problemAt([0.5, 0, 0]);
    const before = tf.memory().numTensors;
    const one = mSharpness(p, { rho: 0.1 });
    const five = mSharpness(p, { rho: 0.1, steps: 5 });
    expect(tf.memory().numTensors).toBe(before);
    free(p);
    // ½·4·((0.5 + 0.1)² − 0.5²) = 0.22
    expect(rel(one.sharpness, 0.22)).toBeLessThan(1e-4);
    expect(rel(five.sharpness, 0.22)).toBeLessThan(1e-4);
    expect(one.loss).toBeCloseTo(0.5, 5);
    expect(one.gradEvals).toBe(1);
    expect(five.gradEvals).toBe(5);
  });

  it('one step is SAM’s first-order ε; more steps reach the trust-region maximum', () => {
    const w = [0.5, 1, -0.5];
    const g = w.map((x, i) => (LAMBDA[i] as number) * x);
    const gn = Math.hypot(...g);
    const rho = 0.3;
    const eps = g.map((x) => (rho * x) / gn);
    const firstOrder = eps.reduce((s, e, i) => s + (g[i] as number) * e + 0.5 * (LAMBDA[i] as number) * e * e, 0);
    const best = trustRegionMax(g, LAMBDA, rho);
    const p = problemAt(w);
    const one = mSharpness(p, { rho });
    const many = mSharpness(p, { rho, steps: 30 });
    free(p);
    expect(rel(one.sharpness, firstOrder)).toBeLessThan(1e-4);
    expect(best).toBeGreaterThan(firstOrder);
    expect(many.sharpness).toBeLessThanOrEqual(best * (1 + 1e-5));
    expect(rel(many.sharpness, best)).toBeLessThan(1e-3);
  });

  it('adaptive: ε = ρ T²g/‖Tg‖ (ASAM), and the max over ‖T⁻¹ε‖ ≤ ρ', () => {
    const w = [0.5, 1, -0.5];
    const eta = 0.01;
    const t = w.map((x) => Math.abs(x) + eta);
    const g = w.map((x, i) => (LAMBDA[i] as number) * x);
    const rho = 0.2;
    const tg = g.map((x, i) => x * (t[i] as number));
    const tgn = Math.hypot(...tg);
    const eps = g.map((x, i) => (rho * (t[i] as number) ** 2 * x) / tgn);
    const firstOrder = eps.reduce((s, e, i) => s + (g[i] as number) * e + 0.5 * (LAMBDA[i] as number) * e * e, 0);
    // With ε = T u, ‖u‖ ≤ ρ: gradient T g, Hessian T diag(λ) T.
    const best = trustRegionMax(tg, LAMBDA.map((l, i) => l * (t[i] as number) ** 2), rho);
    const p = problemAt(w);
    const one = mSharpness(p, { rho, adaptive: true, filter: 'all', eta });
    const many = mSharpness(p, { rho, adaptive: true, filter: 'all', eta, steps: 40 });
    free(p);
    expect(rel(one.sharpness, firstOrder)).toBeLessThan(1e-4);
    expect(rel(many.sharpness, best)).toBeLessThan(1e-3);
    expect(one.adaptive).toBe(true);
  });

  it("'perChunk' takes one ε per chunk (m-sharpness); 'whole' one ε for the subset", () => {
    // Chunk 1: ½·4·w₀², chunk 2: ½·2·(w₁ − 1)², each half of the subset, at w = (0.5, 0, 0).
    const params = { w: tf.tensor1d([0.5, 0, 0]) };
    const p: SharpnessProblem = {
      params,
      chunks: [
        { lossFn: diagLoss([4, 0, 0]), weight: 0.5 },
        { lossFn: diagLoss([0, 2, 0], [0, 1, 0]), weight: 0.5 },
      ],
    };
    const rho = 0.1;
    const per = mSharpness(p, { rho });
    const whole = mSharpness(p, { rho, scope: 'whole', steps: 30 });
    params.w.dispose();
    // Each chunk's gradient lies along its only curved axis: its max is ‖g‖ρ + ½λρ².
    const s1 = 2 * rho + 0.5 * 4 * rho * rho;
    const s2 = 2 * rho + 0.5 * 2 * rho * rho;
    expect(per.perBatch).toHaveLength(2);
    expect(rel(per.perBatch[0] as number, s1)).toBeLessThan(1e-4);
    expect(rel(per.perBatch[1] as number, s2)).toBeLessThan(1e-4);
    expect(rel(per.sharpness, 0.5 * (s1 + s2))).toBeLessThan(1e-4);
    // One shared ε cannot do better than one per chunk.
    expect(whole.sharpness).toBeLessThan(per.sharpness);
    expect(whole.perBatch).toHaveLength(1);
    expect(rel(whole.sharpness, trustRegionMax([1, -1, 0], [2, 1, 0], rho))).toBeLessThan(1e-3);
  });

  it('checks ρ and steps', () => {
    const p = problemAt([0.5, 0, 0]);
    expect(() => mSharpness(p, { rho: 0 })).toThrow(/rho must be a finite number > 0/);
    expect(() => mSharpness(p, { rho: 0.1, steps: 0 })).toThrow(/steps must be/);
    free(p);
  });
});
