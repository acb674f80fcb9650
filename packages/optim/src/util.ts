import * as tf from '@tensorflow/tfjs-core';
import type { ScalarOrSchedule } from './types';

/** The value of a hyperparameter at a step count: the number itself, or the schedule at `count`. */
export const valueAt = (h: ScalarOrSchedule, count: number): number => (typeof h === 'function' ? h(count) : h);

/**
 * Checks a numeric option early and names it: `fn: name must be <what>, got <value>`.
 * Schedules are checked when evaluated, not here.
 */
export const check = (fn: string, name: string, ok: (x: number) => boolean, what: string, x: unknown): void => {
  if (typeof x === 'function') return;
  if (typeof x !== 'number' || !ok(x)) throw new Error(`${fn}: ${name} must be ${what}, got ${String(x)}`);
};

export const finite = (x: number): boolean => Number.isFinite(x);
export const nonNegative = (x: number): boolean => Number.isFinite(x) && x >= 0;
export const positive = (x: number): boolean => Number.isFinite(x) && x > 0;
export const unitInterval = (x: number): boolean => Number.isFinite(x) && x >= 0 && x < 1;
export const positiveInteger = (x: number): boolean => Number.isInteger(x) && x > 0;

/**
 * A deep copy of nested state whose tensors are `tf.clone`s (which share buffers, so no data
 * is copied): what a transform returns when it keeps a state unchanged, so the caller may
 * dispose the old state as usual.
 */
export const cloneState = <S>(state: S): S => {
  const walk = (x: unknown): unknown => {
    if (x instanceof tf.Tensor) return tf.clone(x);
    if (Array.isArray(x)) return x.map(walk);
    if (typeof x === 'object' && x !== null) {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(x)) out[k] = walk((x as Record<string, unknown>)[k]);
      return out;
    }
    return x;
  };
  return walk(state) as S;
};

/** Requires `params` for transforms that read them (weight decay). */
export const needParams = <P>(fn: string, params: P | undefined): P => {
  if (params === undefined) throw new Error(`${fn}: params are required (got undefined); pass them to update`);
  return params;
};
