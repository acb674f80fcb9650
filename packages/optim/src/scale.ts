import * as tf from '@tensorflow/tfjs-core';
import { map } from '@lets/tree';
import type { GradientTransformation, Schedule, ScalarOrSchedule } from './types';
import type { EmptyState } from './identity';
import { check, finite, valueAt } from './util';

/** State of transforms driven by a schedule: the number of updates done so far. */
export interface CountState {
  readonly count: number;
}

/** `u ↦ s·u` for a constant `s`. optax: `scale`. */
export const scale = (step: number): GradientTransformation<EmptyState> => {
  check('scale', 'step', finite, 'a finite number', step);
  return {
    init: () => ({}),
    update: (updates) => [map((x) => tf.mul(x, step))(updates), {}],
    gradientScale: () => step,
  };
};

/**
 * `u ↦ schedule(count)·u`, then `count ← count + 1` (the first update uses `schedule(0)`).
 * The count is a host number in the state, so no tensor is read back. optax: `scale_by_schedule`.
 */
export const scaleBySchedule = (schedule: Schedule): GradientTransformation<CountState> => {
  if (typeof schedule !== 'function') {
    throw new Error(`scaleBySchedule: schedule must be a function of the step count, got ${typeof schedule}`);
  }
  return {
    init: () => ({ count: 0 }),
    update: (updates, state) => {
      const s = schedule(state.count);
      if (!Number.isFinite(s)) throw new Error(`scaleBySchedule: schedule(${state.count}) = ${s}; expected a finite number`);
      return [map((x) => tf.mul(x, s))(updates), { count: state.count + 1 }];
    },
    gradientScale: (state) => schedule(state.count),
  };
};

/**
 * `u ↦ −lr·u` (or `+lr·u` with `flipSign: false`), where `lr` is a number or a schedule of the
 * step count. This is where descent comes from: updates are *added* to params.
 * State is `{count}` in both cases, so the checkpoint does not depend on the form of `lr`.
 * optax: `scale_by_learning_rate`.
 */
export const scaleByLearningRate = (
  learningRate: ScalarOrSchedule,
  options: { readonly flipSign?: boolean } = {},
): GradientTransformation<CountState> => {
  check('scaleByLearningRate', 'learningRate', finite, 'a finite number or a schedule', learningRate);
  const sign = options.flipSign === false ? 1 : -1;
  return {
    init: () => ({ count: 0 }),
    update: (updates, state) => {
      const lr = valueAt(learningRate, state.count);
      if (!Number.isFinite(lr)) {
        throw new Error(`scaleByLearningRate: learning rate at step ${state.count} is ${lr}; expected a finite number`);
      }
      return [map((x) => tf.mul(x, sign * lr))(updates), { count: state.count + 1 }];
    },
    gradientScale: (state) => sign * valueAt(learningRate, state.count),
  };
};
