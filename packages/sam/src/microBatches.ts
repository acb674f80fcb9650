import type * as tf from '@tensorflow/tfjs-core';
import * as T from '@lets/tree';
import type { Params } from '@lets/tree';
import type { Procedure, ProcedureResult } from './types';
import { twoPass } from './twoPass';
import { checkInteger, disposeAll, evaluatedAt, perturbed, unit } from './numerics';

const EMPTY = {} as Record<string, never>;

/**
 * m-sharpness / mSAM (Foret et al. 2021 §4; Behdin et al. 2023, "mSAM: Micro-Batch-Averaged
 * Sharpness-Aware Minimization"): the batch is split into M micro-batches, each takes its own
 * ascent ε_m = ρ g_m/‖g_m‖ from its own clean gradient g_m, and the outer optimizer receives the
 * average of the perturbed gradients,
 *
 *   d = (1/M) Σ_m ∇L_{B_m}(w + ε_m).
 *
 * Needs `extra.microGradFns` (one GradFn per micro-batch, M of them) when M > 1: 2M micro-batch
 * evaluations on top of the caller's clean pass, each through `ctx.gradAt` (counted, checked,
 * its model state discarded). With M = 1 it is SAM (no micro-batch functions needed: the clean
 * gradient and `extra.gradFn` are used). Reports the first micro-batch's direction n_0 and, as
 * `perturbedGrads`, the averaged d.
 */
export const microBatches = (options: { readonly microBatches?: number } = {}): Procedure<Record<string, never>> => {
  const m = checkInteger('microBatches: microBatches', options.microBatches ?? 1, 1);
  const sam = twoPass();
  return {
    name: 'microBatches',
    // M perturbed points: the tangent in ρ is taken over the whole step.
    capabilities: { tangent: 'wholeStep', extras: m > 1 ? ['microGradFns'] : [], gradEvals: m > 1 ? 1 + 2 * m : 2 },
    init: () => EMPTY,
    run: (n, state, ctx) => {
      if (m === 1) return sam.run(n, state, ctx);
      const fns = ctx.extra.microGradFns;
      if (fns === undefined || fns.length !== m) {
        throw new Error(
          `msam: expected extra.microGradFns with ${m} GradFn (one per micro-batch), got ${fns === undefined ? 'none' : `${fns.length}`}`,
        );
      }
      let sum: Params | undefined;
      let first: { n: Params; loss: tf.Scalar } | undefined;
      try {
        for (const fn of fns) {
          const clean = ctx.gradAt(ctx.params, fn);
          clean.loss.dispose();
          const nm = unit(clean.grads);
          T.dispose(clean.grads);
          let r: { loss: tf.Scalar; grads: Params };
          try {
            r = evaluatedAt(perturbed(ctx.params, ctx.rho, nm), (w) => ctx.gradAt(w, fn));
          } catch (e) {
            T.dispose(nm);
            throw e;
          }
          if (first === undefined) first = { n: nm, loss: r.loss };
          else {
            T.dispose(nm);
            r.loss.dispose();
          }
          const next = sum === undefined ? T.clone(r.grads) : T.add(sum, r.grads);
          if (sum !== undefined) T.dispose(sum);
          T.dispose(r.grads);
          sum = next;
        }
      } catch (e) {
        disposeAll(sum, first?.n);
        first?.loss.dispose();
        throw e;
      }
      const avg = T.scaleBy(sum as Params, 1 / m);
      T.dispose(sum as Params);
      const f = first as { n: Params; loss: tf.Scalar };
      const out: ProcedureResult<Record<string, never>> = {
        direction: avg,
        perturbedGrads: T.clone(avg),
        perturbedLoss: f.loss,
        state: EMPTY,
        primaryDirection: f.n,
      };
      return out;
    },
  };
};
