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

/** Re-exported from @lets/tree for the transforms of this package. */
export { cloneState } from '@lets/tree';

/** Requires `params` for transforms that read them (weight decay). */
export const needParams = <P>(fn: string, params: P | undefined): P => {
  if (params === undefined) throw new Error(`${fn}: params are required (got undefined); pass them to update`);
  return params;
};
