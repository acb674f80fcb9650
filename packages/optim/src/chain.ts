import * as tf from '@tensorflow/tfjs-core';
import { map, type Params } from '@lets/tree';
import type { Extra, GradientTransformation } from './types';

/** The state type of a transformation. */
export type StateOf<T> = T extends GradientTransformation<infer S> ? S : never;

/**
 * Composition: `chain(t1, …, tn)` applies t1 first, then t2 to its output, and so on.
 * State is the tuple `[s1, …, sn]`. Intermediate updates are owned by the chain and disposed
 * once the next transform has consumed them. optax: `chain`.
 *
 * Laws (property-tested): `chain(identity(), t) ≡ t ≡ chain(t, identity())` and
 * `chain(chain(a, b), c) ≡ chain(a, chain(b, c))` up to the shape of the state.
 */
export const chain = <T extends readonly GradientTransformation<any>[]>(
  ...transforms: T
): GradientTransformation<{ readonly [K in keyof T]: StateOf<T[K]> }> => {
  transforms.forEach((t, i) => {
    if (t === undefined || typeof t.init !== 'function' || typeof t.update !== 'function') {
      throw new Error(`chain: argument ${i} is not a GradientTransformation (expected {init, update})`);
    }
  });
  type S = { readonly [K in keyof T]: StateOf<T[K]> };
  // Affine in g with Jacobian c·I when every member is: the product of the members' c, each at
  // its own state (the state a member's update sees is the one it holds; updates never change it).
  const scales = transforms.every((t) => t.gradientScale !== undefined);
  return {
    ...(scales
      ? {
          gradientScale: (state: S, params?: Params, extra?: Extra) => {
            const states = state as unknown as readonly unknown[];
            return transforms.reduce((c, t, i) => c * t.gradientScale!(states[i], params, extra), 1);
          },
        }
      : {}),
    init: (params) => transforms.map((t) => t.init(params)) as unknown as S,
    update: (updates: Params, state: S, params?: Params, extra?: Extra) => {
      const states = state as unknown as readonly unknown[];
      if (!Array.isArray(states) || states.length !== transforms.length) {
        throw new Error(`chain: state must be an array of ${transforms.length} states, got ${describe(state)}`);
      }
      let u = updates;
      const out: unknown[] = [];
      transforms.forEach((t, i) => {
        const [next, s] = t.update(u, states[i], params, extra);
        if (u !== updates) disposeUnshared(u, next);
        u = next;
        out.push(s);
      });
      if (u === updates) return [map((x) => tf.clone(x))(updates), out as unknown as S] as const; // chain() of nothing
      return [u, out as unknown as S] as const;
    },
  };
};

/**
 * Disposes the leaves of `old` that `next` does not hold: a transform that breaks the contract
 * by passing a leaf through without `tf.clone` still works inside a chain.
 */
const disposeUnshared = (old: Params, next: Params): void => {
  const kept = new Set(Object.values(next));
  for (const x of Object.values(old)) if (!kept.has(x)) x.dispose();
};

export const describe = (x: unknown): string =>
  Array.isArray(x) ? `an array of length ${x.length}` : x === null ? 'null' : typeof x;
