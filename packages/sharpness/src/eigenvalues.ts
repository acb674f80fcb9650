/**
 * Top-k eigenvalues of the Hessian H = ∇²L(w) of the subset's loss, from Hessian–vector
 * products only (H is never formed).
 *
 * 'lanczos' (default). With q₁ a seeded random unit vector, each step takes one product
 *
 *   w = H q_j,  α_j = ⟨w, q_j⟩,  w ← w − α_j q_j − β_{j−1} q_{j−1}  (then re-orthogonalized
 *   against every q, in float32 the Lanczos vectors lose orthogonality otherwise),
 *   β_j = ‖w‖,  q_{j+1} = w / β_j,
 *
 * and the eigenvalues θ of the tridiagonal T_j = tridiag(β, α, β) (Ritz values) approximate H's
 * extreme eigenvalues; the residual of Ritz pair i is ‖H y_i − θ_i y_i‖ = β_j |s_{j,i}| (s_i the
 * eigenvector of T_j). It stops when the k largest Ritz values have residual ≤ tol·|θ_i|, or after
 * `maxIterations` products. It returns the k algebraically largest eigenvalues. Memory: one tree
 * per iteration (the Lanczos basis). Cost: one HVP an iteration; top-1 typically needs 10–20.
 * Reference: Lanczos (1950); Golub & Van Loan §10.1; Ghorbani, Krishnan & Xiao (2019), "An
 * investigation into neural net optimization via Hessian eigenvalue density".
 *
 * 'power': power iteration with deflation, as PyHessian (Yao et al. 2020, `hessian.eigenvalues`):
 * for i = 1..k, v ← H v / ‖H v‖ kept orthogonal to the eigenvectors already found, λ = ⟨v, H v⟩,
 * until |λ − λ_prev| ≤ tol·|λ|. Converges to the eigenvalues largest in *magnitude* (at a minimum
 * H is nearly positive semi-definite, so these are the largest); its rate is |λ₂/λ₁| per product,
 * slower than Lanczos. Memory: k + 2 trees.
 */
import type { Params } from '@lets/tree';
import { dispose } from '@lets/tree';
import { random, type Rng } from '@lets/runtime';
import { hessianOperator, type HessianOptions, type SharpnessProblem } from './problem';
import { combine, dot, gaussianLike, normalized, orthogonalize, symmetricEigen } from './vectors';

export interface EigenOptions extends HessianOptions {
  /** How many eigenvalues (default 1). */
  readonly k?: number;
  /** Default 'lanczos'. */
  readonly method?: 'lanczos' | 'power';
  /** Relative tolerance (default 1e-3). */
  readonly tol?: number;
  /** Most HVPs (Lanczos) or most HVPs per eigenvalue (power); default 20 + 5k. */
  readonly maxIterations?: number;
  /** Seed of the start vector(s) (default 0). */
  readonly seed?: number;
}

export interface EigenResult {
  /** The k largest eigenvalues, in decreasing order. */
  readonly values: readonly number[];
  /** Residual estimate ‖H y − λ y‖ of each (Lanczos), or the last change |λ − λ_prev| (power). */
  readonly residuals: readonly number[];
  /** Every value met its tolerance within the iteration budget. */
  readonly converged: boolean;
  readonly method: 'lanczos' | 'power';
  /** Hessian–vector products taken. */
  readonly hvps: number;
  /** Subset-gradient evaluations those cost (hvps × 2 for exact and central, × 1 for fd, + 1 for fd's ∇L(w)). */
  readonly gradEvals: number;
  readonly estimator: 'exact' | 'fd' | 'central';
  /** Why 'auto' fell back to a difference estimator. */
  readonly fallbackReason?: string;
}

const positiveInt = (x: number, what: string): number => {
  if (!(Number.isSafeInteger(x) && x >= 1)) throw new Error(`hessianEigenvalues: ${what} must be an integer ≥ 1, got ${x}`);
  return x;
};

export const hessianEigenvalues = (problem: SharpnessProblem, options: EigenOptions = {}): EigenResult => {
  const k = positiveInt(options.k ?? 1, 'k');
  const method = options.method ?? 'lanczos';
  if (method !== 'lanczos' && method !== 'power') throw new Error(`hessianEigenvalues: method must be 'lanczos' or 'power', got '${String(method)}'`);
  const tol = options.tol ?? 1e-3;
  if (!(tol > 0 && Number.isFinite(tol))) throw new Error(`hessianEigenvalues: tol must be a finite number > 0, got ${tol}`);
  const maxIterations = positiveInt(options.maxIterations ?? 20 + 5 * k, 'maxIterations');
  const op = hessianOperator(problem, options);
  const rng = random.rng(random.key(options.seed ?? 0));
  try {
    const r = method === 'lanczos' ? lanczos(problem, op.apply, k, tol, maxIterations, rng, options) : power(problem, op.apply, k, tol, maxIterations, rng, options);
    const reason = op.fallbackReason();
    return {
      ...r,
      method,
      hvps: op.products(),
      gradEvals: op.products() * op.gradEvals() + (op.estimator() === 'fd' ? 1 : 0),
      estimator: op.estimator(),
      ...(reason !== undefined ? { fallbackReason: reason } : {}),
    };
  } finally {
    op.dispose();
  }
};

type Core = { values: number[]; residuals: number[]; converged: boolean };

function lanczos(problem: SharpnessProblem, H: (v: Params) => Params, k: number, tol: number, maxIt: number, rng: Rng, o: EigenOptions): Core {
  const size = Object.values(problem.params).reduce((n, t) => n + t.size, 0);
  const m = Math.min(maxIt, size);
  const start = gaussianLike(problem.params, rng);
  const q: Params[] = [normalized(start).unit];
  dispose(start);
  const alpha: number[] = [];
  const beta: number[] = [];
  let best: Core = { values: [], residuals: [], converged: false };
  try {
    for (let j = 0; j < m; j++) {
      const qj = q[j] as Params;
      const w0 = H(qj);
      const a = dot(w0, qj);
      alpha.push(a);
      const w1 = combine([[1, w0], [-a, qj], ...(j > 0 ? [[-(beta[j - 1] as number), q[j - 1] as Params] as const] : [])]);
      dispose(w0);
      const w = orthogonalize(w1, q);
      dispose(w1);
      const { unit, norm: b } = normalized(w);
      dispose(w);
      // Ritz values of T_{j+1} and their residual bounds β_j |s_{j,i}|.
      const n = j + 1;
      const T = Array.from({ length: n }, (_, r) => Array.from({ length: n }, (_, c) => (r === c ? (alpha[r] as number) : Math.abs(r - c) === 1 ? (beta[Math.min(r, c)] as number) : 0)));
      const { values, vectors } = symmetricEigen(T);
      const top = Math.min(k, n);
      const residuals = values.slice(0, top).map((_, i) => Math.abs(b * (vectors[n - 1]![i] as number)));
      const scaleRef = Math.max(...values.map(Math.abs), 1e-30);
      const invariant = b <= 1e-6 * scaleRef;
      const converged = top === k && residuals.every((res, i) => res <= tol * Math.max(Math.abs(values[i] as number), 1e-12 * scaleRef));
      best = { values: values.slice(0, top), residuals, converged: converged || (invariant && top === k) };
      o.onProgress?.({ measure: 'eigenvalues', done: n, total: m, estimate: values[0] as number });
      if (best.converged || invariant || n === m) {
        dispose(unit);
        break;
      }
      beta.push(b);
      q.push(unit);
    }
  } finally {
    q.forEach(dispose);
  }
  return best;
}

function power(problem: SharpnessProblem, H: (v: Params) => Params, k: number, tol: number, maxIt: number, rng: Rng, o: EigenOptions): Core {
  const found: Params[] = [];
  const values: number[] = [];
  const residuals: number[] = [];
  let converged = true;
  try {
    for (let i = 0; i < k; i++) {
      const g = gaussianLike(problem.params, rng);
      const g1 = orthogonalize(g, found);
      dispose(g);
      let v = normalized(g1).unit;
      dispose(g1);
      let lambda = 0;
      let change = Infinity;
      let ok = false;
      for (let it = 0; it < maxIt; it++) {
        const hv = H(v);
        const next = dot(hv, v);
        change = Math.abs(next - lambda);
        const done = it > 0 && change <= tol * Math.abs(next);
        lambda = next;
        const w = orthogonalize(hv, found);
        dispose(hv);
        const { unit, norm } = normalized(w);
        dispose(w);
        o.onProgress?.({ measure: 'eigenvalues', done: i * maxIt + it + 1, total: k * maxIt, estimate: lambda });
        if (norm === 0 || done) {
          dispose(unit);
          ok = true;
          break;
        }
        dispose(v);
        v = unit;
      }
      converged &&= ok;
      found.push(v);
      values.push(lambda);
      residuals.push(change);
    }
  } finally {
    found.forEach(dispose);
  }
  const order = values.map((_, i) => i).sort((a, b) => (values[b] as number) - (values[a] as number));
  return { values: order.map((i) => values[i] as number), residuals: order.map((i) => residuals[i] as number), converged };
}
