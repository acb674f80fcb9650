/**
 * The Hessian trace by Hutchinson's estimator:
 *
 *   tr(H) = E_v[vᵀ H v],  v with independent Rademacher (±1) entries,
 *   estimate = (1/S) Σ_s v_sᵀ H v_s,   standard error = sd(v_sᵀ H v_s) / √S.
 *
 * With Rademacher probes the variance is 2 Σ_{i≠j} H_ij² (the diagonal contributes nothing, so a
 * diagonal H is estimated exactly by one probe). It stops after `maxSamples` probes, or once the
 * standard error is ≤ tol·|estimate| (after at least `minSamples`). Cost: one HVP a probe.
 * Memory: two trees. Reference: Hutchinson (1989), "A stochastic estimator of the trace of the
 * influence matrix for Laplacian smoothing splines"; Avron & Toledo (2011); PyHessian's `trace`
 * (Yao et al. 2020), which this matches (Rademacher probes, stop on relative change).
 */
import { dispose } from '@lets/tree';
import { random, type Rng } from '@lets/runtime';
import { hessianOperator, type HessianOptions, type SharpnessProblem } from './problem';
import { dot, rademacherLike } from './vectors';

export interface TraceOptions extends HessianOptions {
  /** Most probes (default 50). */
  readonly maxSamples?: number;
  /** Fewest probes before the tolerance may stop it (default 5). */
  readonly minSamples?: number;
  /** Stop when the standard error ≤ tol·|estimate| (default 0.05). */
  readonly tol?: number;
  /** Seed of the probes (default 0). */
  readonly seed?: number;
}

export interface TraceResult {
  readonly trace: number;
  /** Standard error of the mean over probes (0 with one probe). */
  readonly stderr: number;
  readonly samples: number;
  /** vᵀHv of each probe. */
  readonly probes: readonly number[];
  readonly hvps: number;
  readonly gradEvals: number;
  readonly estimator: 'exact' | 'fd' | 'central';
  readonly fallbackReason?: string;
}

const positiveInt = (x: number, what: string): number => {
  if (!(Number.isSafeInteger(x) && x >= 1)) throw new Error(`hessianTrace: ${what} must be an integer ≥ 1, got ${x}`);
  return x;
};

export const hessianTrace = (problem: SharpnessProblem, options: TraceOptions = {}): TraceResult => {
  const maxSamples = positiveInt(options.maxSamples ?? 50, 'maxSamples');
  const minSamples = Math.min(positiveInt(options.minSamples ?? 5, 'minSamples'), maxSamples);
  const tol = options.tol ?? 0.05;
  if (!(tol >= 0 && Number.isFinite(tol))) throw new Error(`hessianTrace: tol must be a finite number ≥ 0, got ${tol}`);
  const op = hessianOperator(problem, options);
  const rng = random.rng(random.key(options.seed ?? 0));
  const probes: number[] = [];
  let mean = 0;
  let se = 0;
  try {
    while (probes.length < maxSamples) {
      const v = rademacherLike(problem.params, rng);
      const hv = op.apply(v);
      probes.push(dot(v, hv));
      dispose(v);
      dispose(hv);
      const s = probes.length;
      mean = probes.reduce((a, b) => a + b, 0) / s;
      se = s > 1 ? Math.sqrt(probes.reduce((a, b) => a + (b - mean) ** 2, 0) / (s - 1) / s) : 0;
      options.onProgress?.({ measure: 'trace', done: s, total: maxSamples, estimate: mean });
      if (s >= minSamples && se <= tol * Math.abs(mean)) break;
    }
    const reason = op.fallbackReason();
    return {
      trace: mean,
      stderr: se,
      samples: probes.length,
      probes,
      hvps: op.products(),
      gradEvals: op.products() * op.gradEvals() + (op.estimator() === 'fd' ? 1 : 0),
      estimator: op.estimator(),
      ...(reason !== undefined ? { fallbackReason: reason } : {}),
    };
  } finally {
    op.dispose();
  }
};
