/**
 * 'exact': H·v = ∇_x ⟨∇_x L(x), v⟩ by double back-propagation (Pearlmutter 1994), through
 * @lets/runtime's `hvp`, which throws (naming the op) where an op in the loss is not
 * twice-differentiable instead of returning a wrong number. Exact to float32 rounding.
 * Cost: one traced forward/backward pass plus the outer backward pass, about two gradient
 * evaluations (measured 1.3–3× a gradient, /work/shared/probes/FINDINGS.md §3).
 * Needs `lossFn` built from twice-differentiable ops (runtime's softmaxCrossEntropy, not
 * tf.losses.softmaxCrossEntropy).
 */
import { hvp as runtimeHvp } from '@lets/runtime';
import type { Params } from '@lets/tree';
import { type HvpEstimator, type HvpProblem, required } from './hvp';

export const exactHvp = (): HvpEstimator => ({
  name: 'exact',
  gradEvals: 2,
  gradEvalsWithoutGrads: 2,
  needs: ['lossFn'],
  hvp: (problem: HvpProblem, v: Params): Params =>
    runtimeHvp(required(problem.lossFn, 'a differentiable lossFn', 'exact'), problem.params, v),
});
