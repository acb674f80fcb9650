/**
 * Learning-rate schedules of a whole run by name, each built from optim's own schedules: what a
 * training command offers as `--schedule`. A schedule of a run is a peak rate η and the run's
 * length T in steps (and W warm-up steps where the schedule has a warm-up):
 *
 * | name            | value at step t (0-based)                                   | built from |
 * |-----------------|-------------------------------------------------------------|------------|
 * | constant        | η                                                           | `constant` |
 * | cosine          | η·½(1 + cos(π·min(t, T)/T))                                 | `cosineDecay` |
 * | step            | η, 0.1η from t ≥ T/2, 0.01η from t ≥ 3T/4                    | `joinSchedules` of constants |
 * | warmup-cosine   | η(t+1)/W for t < W, then cosine over the remaining T − W    | `linearWarmup`, `cosineDecay`, `joinSchedules` |
 * | linear          | η·(1 − min(t, T)/T)                                         | `linear` |
 *
 * T is at least 1 and W is rounded and kept in [0, T − 1].
 */
import type { Schedule } from './types';
import { constant, cosineDecay, joinSchedules, linear, linearWarmup } from './schedules';

/** The length of a run a schedule spans. */
export interface RunLength {
  /** Steps in the run (T; at least 1 is used). */
  readonly totalSteps: number;
  /** Warm-up steps (W) of the schedules that have one (default 0). */
  readonly warmupSteps?: number;
}

/** A named schedule of a run: what it is, and how to build it for a peak rate and a run length. */
export interface RunSchedule {
  readonly description: string;
  readonly build: (peak: number, run: RunLength) => Schedule;
}

const stepsOf = (run: RunLength): number => Math.max(1, Math.round(run.totalSteps));

/** The run schedules, in the order a command lists them. */
export const RUN_SCHEDULES = {
  constant: { description: 'η throughout', build: (peak) => constant(peak) },
  cosine: { description: 'η·½(1 + cos(πt/T)), to 0 at the end of the run', build: (peak, run) => cosineDecay(peak, stepsOf(run)) },
  step: {
    description: 'η, then 0.1η after half the run and 0.01η after three quarters',
    build: (peak, run) => {
      const T = stepsOf(run);
      const [half, threeQuarters] = [Math.ceil(0.5 * T), Math.ceil(0.75 * T)];
      // A run of one step has no step at 0.1η (both boundaries are step 1).
      return half === threeQuarters
        ? joinSchedules([constant(peak), constant(peak * 0.01)], [half])
        : joinSchedules([constant(peak), constant(peak * 0.1), constant(peak * 0.01)], [half, threeQuarters]);
    },
  },
  'warmup-cosine': {
    description: 'linear warm-up (t+1)η/W over W steps, then cosine over the rest',
    build: (peak, run) => {
      const T = stepsOf(run);
      const W = Math.min(Math.max(0, Math.round(run.warmupSteps ?? 0)), T - 1);
      return W === 0 ? cosineDecay(peak, T) : joinSchedules([linearWarmup(peak, W), cosineDecay(peak, T - W)], [W]);
    },
  },
  linear: { description: 'η(1 − t/T), to 0 at the end of the run', build: (peak, run) => linear({ init: peak, end: 0, transitionSteps: stepsOf(run) }) },
} as const satisfies Readonly<Record<string, RunSchedule>>;

export type RunScheduleName = keyof typeof RUN_SCHEDULES;
