import * as T from '@lets/tree';
import type { Params } from '@lets/tree';
import type { PerturbationStage } from './types';

/**
 * Composes perturbation stages left to right (optax's `chain` for ascent directions): the
 * first stage receives the raw clean gradient g, each next one the previous one's output, and
 * the last one's output is the unit direction n with ε = ρn. State is the array of the stages'
 * states. Intermediate directions are disposed; the input is never touched.
 *
 *   perturbation(normalize())                                   SAM
 *   perturbation(scaleByParam(), normalize(), scaleByParam())   ASAM
 *   perturbation(emaDirection({ theta: 0.9 }), normalize())     VaSSO
 */
export const perturbation = (...stages: readonly PerturbationStage<any>[]): PerturbationStage<readonly unknown[]> => ({
  name: stages.map((s) => s.name).join(' → ') || 'identity',
  init: (params) => stages.map((s) => s.init(params)),
  apply: (d, state, ctx) => {
    if (!Array.isArray(state) || state.length !== stages.length) {
      throw new Error(`perturbation: expected a state array of ${stages.length} stage states, got ${JSON.stringify(typeof state)}`);
    }
    let cur: Params = d;
    const next: unknown[] = [];
    stages.forEach((stage, i) => {
      const [out, s] = stage.apply(cur, state[i], ctx);
      if (cur !== d) T.dispose(cur);
      cur = out;
      next.push(s);
    });
    return [cur === d ? T.clone(d) : cur, next];
  },
});
