import type { Params } from '@lets/tree';
import type { Extra, GradientTransformation } from './types';
import type { StateOf } from './chain';
import { chain } from './chain';

/**
 * `namedChain({ clip: clipByGlobalNorm(1), adam: scaleByAdam(), lr: scaleByLearningRate(1e-3) })`:
 * {@link chain} in the object's key order, with the state keyed by name (`state.adam.mu`), so
 * a checkpoint or a reader does not depend on positions. Names must not look like array indices
 * (JavaScript orders integer-like keys first, which would reorder the chain). optax: `named_chain`.
 */
export const namedChain = <T extends Readonly<Record<string, GradientTransformation<any>>>>(
  transforms: T,
): GradientTransformation<{ readonly [K in keyof T]: StateOf<T[K]> }> => {
  const names = Object.keys(transforms);
  for (const n of names) {
    if (/^(0|[1-9][0-9]*)$/.test(n)) {
      throw new Error(`namedChain: name '${n}' looks like an array index (it would reorder the chain); use a word`);
    }
  }
  const inner = chain(...names.map((n) => transforms[n] as GradientTransformation<unknown>));
  type S = { readonly [K in keyof T]: StateOf<T[K]> };
  const toTuple = (state: S): unknown[] =>
    names.map((n) => {
      if (!(n in (state as object))) throw new Error(`namedChain: state has no entry '${n}' (have ${Object.keys(state as object).join(', ')})`);
      return (state as Record<string, unknown>)[n];
    });
  const fromTuple = (states: readonly unknown[]): S =>
    Object.fromEntries(names.map((n, i) => [n, states[i]])) as S;
  const scale = inner.gradientScale;
  return {
    ...(scale !== undefined ? { gradientScale: (state: S, params?: Params, extra?: Extra) => scale(toTuple(state), params, extra) } : {}),
    init: (params: Params) => fromTuple(inner.init(params)),
    update: (updates: Params, state: S, params?: Params, extra?: Extra) => {
      const [u, s] = inner.update(updates, toTuple(state), params, extra);
      return [u, fromTuple(s)] as const;
    },
  };
};
