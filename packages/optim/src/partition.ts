import * as tf from '@tensorflow/tfjs-core';
import type { Params } from '@lets/tree';
import type { Extra, GradientTransformation } from './types';
import type { StateOf } from './chain';

/** Labels of the leaves: a function of path and tensor, or a tree of labels with the params' paths. */
export type Labels<L extends string> = ((path: string, x: tf.Tensor) => L) | Readonly<Record<string, L>>;

/**
 * `partition(transforms, labels)`: each leaf is handled by the transform of its label
 * (`transforms[labels(path, x)]`), each transform seeing only its own leaves (updates and
 * params) and keeping state only for them. State is keyed by label. A label with no leaves
 * still gets a state (from `init` on an empty tree). optax: `partition` (`multi_transform`).
 *
 *   partition({ decay: adamw(1e-3), plain: adam(1e-3) }, (p) => (p.endsWith('bias') ? 'plain' : 'decay'))
 */
export const partition = <T extends Readonly<Record<string, GradientTransformation<any>>>>(
  transforms: T,
  labels: Labels<Extract<keyof T, string>>,
): GradientTransformation<{ readonly [K in keyof T]: StateOf<T[K]> }> => {
  type L = Extract<keyof T, string>;
  type S = { readonly [K in keyof T]: StateOf<T[K]> };
  const names = Object.keys(transforms) as L[];
  const labelOf = (path: string, x: tf.Tensor): L => {
    const l = typeof labels === 'function' ? labels(path, x) : labels[path];
    if (typeof l !== 'string' || !(l in transforms)) {
      throw new Error(`partition: leaf '${path}' has label ${String(l)}; expected one of ${names.join(', ')}`);
    }
    return l;
  };
  const group = (t: Params): Record<string, Record<string, tf.Tensor>> => {
    const out: Record<string, Record<string, tf.Tensor>> = Object.fromEntries(names.map((n) => [n, {}]));
    for (const k of Object.keys(t)) {
      const x = t[k] as tf.Tensor;
      (out[labelOf(k, x)] as Record<string, tf.Tensor>)[k] = x;
    }
    return out;
  };
  const sub = (params: Params | undefined, ks: readonly string[]): Params | undefined =>
    params === undefined ? undefined : Object.fromEntries(ks.filter((k) => params[k] !== undefined).map((k) => [k, params[k] as tf.Tensor]));
  return {
    init: (params) => {
      const g = group(params);
      return Object.fromEntries(names.map((n) => [n, (transforms[n] as GradientTransformation<unknown>).init(g[n] ?? {})])) as S;
    },
    update: (updates: Params, state: S, params?: Params, extra?: Extra) => {
      const g = group(updates);
      const results: Record<string, Params> = {};
      const states: Record<string, unknown> = {};
      for (const n of names) {
        if (!(n in (state as object))) throw new Error(`partition: state has no entry for label '${n}'`);
        const [u, s] = (transforms[n] as GradientTransformation<unknown>).update(
          g[n] ?? {},
          (state as Record<string, unknown>)[n],
          sub(params, Object.keys(g[n] ?? {})),
          extra,
        );
        results[n] = u;
        states[n] = s;
      }
      const out: Record<string, tf.Tensor> = {};
      for (const k of Object.keys(updates)) {
        const x = results[labelOf(k, updates[k] as tf.Tensor)]?.[k];
        if (x === undefined) throw new Error(`partition: the transform for '${k}' returned no update for it`);
        out[k] = x;
      }
      return [out, states as S] as const;
    },
  };
};
