import * as tf from '@tensorflow/tfjs-core';
import { hessianTrace } from './trace';
import { disposeProblem, quadraticProblem, setupCpu, withSpectrum } from './test-util';

beforeAll(setupCpu);

const LAMBDAS = [10, 6, 3, 2, 1, 0.5, -0.3];
const X = [0.3, -0.1, 0.7, 0.2, -0.5, 0.4, 0.1];

describe("hessianTrace (Hutchinson's estimator)", () => {
  it('is exact on a diagonal Hessian with a single Rademacher probe', () => {
    const D = LAMBDAS.map((l, i) => LAMBDAS.map((_, j) => (i === j ? l : 0)));
    // Diagonal chunks too (E = 0 would be needed for the chunks alone to be diagonal; their sum is what counts).
    const problem = quadraticProblem(D, X);
    const r = hessianTrace(problem, { maxSamples: 1, estimator: 'exact' });
    disposeProblem(problem);
    // vᵀ(D + E)v/2 + vᵀ(D − E)v/2 = vᵀDv = Σ λ_i v_i² = tr D for v ∈ {±1}ⁿ.
    expect(r.trace).toBeCloseTo(22.2, 3);
    expect(r.samples).toBe(1);
    expect(r.stderr).toBe(0);
  });

  it('is within its standard error (and 5%) of the trace of a dense quadratic, without leaks', () => {
    const A = withSpectrum(LAMBDAS, [1, -2, 0.5, 1.5, -1, 0.3, 2]);
    const problem = quadraticProblem(A, X);
    const before = tf.memory().numTensors;
    const r = hessianTrace(problem, { maxSamples: 400, tol: 0.01, seed: 3 });
    expect(tf.memory().numTensors).toBe(before);
    disposeProblem(problem);
    const trace = 22.2;
    expect(Math.abs(r.trace - trace)).toBeLessThan(4 * r.stderr);
    expect(Math.abs(r.trace - trace) / trace).toBeLessThan(0.05);
    // It stops at the tolerance or at maxSamples, whichever comes first.
    if (r.samples < 400) expect(r.stderr).toBeLessThanOrEqual(0.01 * Math.abs(r.trace));
    expect(r.hvps).toBe(r.samples);
    expect(r.estimator).toBe('exact');
  });

  it('is deterministic for a seed; another seed draws other probes', () => {
    const A = withSpectrum(LAMBDAS, [1, -2, 0.5, 1.5, -1, 0.3, 2]);
    const problem = quadraticProblem(A, X);
    const seen: number[] = [];
    const a = hessianTrace(problem, { maxSamples: 6, tol: 0, seed: 5, onProgress: (e) => seen.push(e.done) });
    const b = hessianTrace(problem, { maxSamples: 6, tol: 0, seed: 5 });
    const c = hessianTrace(problem, { maxSamples: 6, tol: 0, seed: 6 });
    disposeProblem(problem);
    expect(a.probes).toEqual(b.probes);
    expect(c.probes).not.toEqual(a.probes);
    expect(seen).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
