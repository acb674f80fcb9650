import type { Extra, GradientTransformation, ScalarOrSchedule } from './types';
import type { Params } from '@lets/tree';

/** State of {@link injectHyperparams}: the step count, the hyperparameters as host numbers, the inner state. */
export interface InjectState<H extends string, S> {
  readonly count: number;
  readonly hyperparams: { readonly [K in H]: number };
  readonly inner: S;
}

/**
 * Makes hyperparameters part of the state, so they can be read and overwritten between steps
 * (optax: `inject_hyperparams`). `factory` builds the transformation from plain numbers:
 *
 *   const opt = injectHyperparams((h) => adam(h.learningRate, { b1: h.b1 }), {
 *     learningRate: cosineDecay(1e-3, 10_000), b1: 0.9 });
 *   // state.hyperparams.learningRate is the value used by the last update (init: its value at step 0)
 *   state = setHyperparams(state, { learningRate: 3e-4 }); // a user or LETS overwrites it
 *
 * Contract:
 * - A number hyperparameter lives in `state.hyperparams` and is used as found there on each
 *   update; overwriting it (a new state object, see {@link setHyperparams}) changes the next update.
 * - A schedule is evaluated at the state's `count` on each update and its value written to
 *   `state.hyperparams` (an overwrite of a scheduled hyperparameter lasts until the next update).
 * - The factory is called anew on each update with the current numbers; the inner state's
 *   structure must not depend on their values (true of every transform here: options that change
 *   the structure are chosen by being present, never by value).
 */
export const injectHyperparams = <H extends string, S>(
  factory: (hyperparams: { readonly [K in H]: number }) => GradientTransformation<S>,
  hyperparams: { readonly [K in H]: ScalarOrSchedule },
): GradientTransformation<InjectState<H, S>> => {
  if (typeof factory !== 'function') {
    throw new Error(`injectHyperparams: expected a factory (numbers) => transformation as the first argument, got ${typeof factory}`);
  }
  if (typeof hyperparams !== 'object' || hyperparams === null) {
    throw new Error(
      `injectHyperparams: expected the hyperparameters { name: number | schedule } as the second argument, got ${hyperparams === null ? 'null' : typeof hyperparams}; ` +
        'wrappers nest as optax\'s do: injectHyperparams(factory, hyperparams) (the curried form is gone)',
    );
  }
  const names = Object.keys(hyperparams) as H[];
  for (const k of names) {
    const h = hyperparams[k] as unknown;
    if (typeof h !== 'function' && (typeof h !== 'number' || !Number.isFinite(h))) {
      throw new Error(`injectHyperparams: hyperparameter '${k}' must be a finite number or a schedule, got ${String(h)}`);
    }
  }
  const current = (count: number, stored?: { readonly [K in H]: number }): { [K in H]: number } => {
    const out = {} as { [K in H]: number };
    for (const k of names) {
      const h = hyperparams[k];
      const v = typeof h === 'function' ? h(count) : stored !== undefined ? stored[k] : h;
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new Error(`injectHyperparams: hyperparameter '${k}' at step ${count} is ${String(v)}; expected a finite number`);
      }
      out[k] = v;
    }
    return out;
  };
  return {
    init: (params: Params) => {
      const hp = current(0);
      return { count: 0, hyperparams: hp, inner: factory(hp).init(params) };
    },
    update: (updates: Params, state: InjectState<H, S>, params?: Params, extra?: Extra) => {
      const hp = current(state.count, state.hyperparams);
      const [u, inner] = factory(hp).update(updates, state.inner, params, extra);
      return [u, { count: state.count + 1, hyperparams: hp, inner }] as const;
    },
  };
};

/**
 * A new state with some injected hyperparameters overwritten (the tensors are shared with
 * `state`, not copied: dispose only one of the two).
 */
export const setHyperparams = <H extends string, S>(
  state: InjectState<H, S>,
  values: Partial<{ readonly [K in H]: number }>,
): InjectState<H, S> => {
  for (const k of Object.keys(values)) {
    if (!(k in state.hyperparams)) {
      throw new Error(`setHyperparams: no hyperparameter '${k}' (have ${Object.keys(state.hyperparams).join(', ')})`);
    }
    const v = (values as Record<string, unknown>)[k];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new Error(`setHyperparams: '${k}' must be a finite number, got ${String(v)}`);
    }
  }
  return { ...state, hyperparams: { ...state.hyperparams, ...values } };
};
