/**
 * 'exact': H·v = ∇_x ⟨∇_x L(x), v⟩ by double back-propagation (Pearlmutter 1994), through
 * @lets/runtime's `hvp`, which throws (naming the op) where an op in the loss is not
 * twice-differentiable instead of returning a wrong number; this estimator re-throws that
 * error naming itself and the estimator to use instead ('fd', which needs first derivatives
 * only). The message starts with 'hvp:' as runtime's does (@lets/sharpness's 'auto' falls back on
 * it). Exact to float32 rounding.
 * Cost: one traced forward/backward pass plus the outer backward pass, about two gradient
 * evaluations (measured 1.3–3× a gradient, /work/shared/probes/FINDINGS.md §3).
 * Needs `lossFn` built from twice-differentiable ops (runtime's softmaxCrossEntropy, not
 * tf.losses.softmaxCrossEntropy; docs/bilevel.md lists the tfjs-layers layers that work).
 */
import { hvp as runtimeHvp } from '@lets/runtime';
import type { Params } from '@lets/tree';
import { type HvpEstimator, type HvpProblem, required } from './hvp';

export const exactHvp = (): HvpEstimator => ({
  name: 'exact',
  gradEvals: 2,
  gradEvalsWithoutGrads: 2,
  needs: ['lossFn'],
  hvp: (problem: HvpProblem, v: Params): Params => {
    const lossFn = required(problem.lossFn, 'a differentiable lossFn', 'exact');
    try {
      return runtimeHvp(lossFn, problem.params, v);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      // runtime: "hvp: op 'X' is not twice-differentiable[ here]: <why>[. Use @lets/runtime …]"
      const m = /^hvp: op '([^']+)' is not twice-differentiable(?: here)?: ([\s\S]*?)(?:\. Use @lets\/runtime [\s\S]*)?$/.exec(msg);
      if (m === null) throw e;
      throw new Error(
        `hvp: the 'exact' estimator cannot differentiate the loss twice through op '${m[1]}': ${m[2]}. ` +
          "Use the 'fd' estimator instead (estimator: 'fd', LETS's default: first derivatives only, one gradient evaluation), " +
          "or build lossFn from twice-differentiable ops (@lets/runtime's softmaxCrossEntropy, logSoftmax, batchNorm; docs/bilevel.md).",
        { cause: e },
      );
    }
  },
});
