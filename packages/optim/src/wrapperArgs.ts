import type { GradientTransformation } from './types';

/** Whether `x` is a gradient transformation ({init, update}). */
export const isTransformation = (x: unknown): x is GradientTransformation<unknown> =>
  typeof x === 'object' && x !== null && typeof (x as { init?: unknown }).init === 'function' && typeof (x as { update?: unknown }).update === 'function';

/**
 * Every wrapper takes the transformation it wraps first, as optax nests them:
 * `wrapper(inner, options)`. A call in the old curried form (`masked(mask)(inner)`) fails here,
 * naming the new one, rather than returning a function where a transformation is expected.
 */
export const checkInner = (fn: string, inner: unknown, newForm: string): void => {
  if (!isTransformation(inner)) {
    throw new Error(
      `${fn}: expected the transformation to wrap as the first argument, got ${inner === null ? 'null' : typeof inner}; ` +
        `wrappers nest as optax's do: ${newForm} (the curried form is gone)`,
    );
  }
};
