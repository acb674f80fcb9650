import type { Schedule } from './types';

/**
 * Schedules: functions of the 0-based step count (`schedule(0)` is used by the first update),
 * as in optax's `schedules`. Every constructor checks its arguments and names the bad one.
 */

const need = (fn: string, name: string, ok: boolean, what: string, x: unknown): void => {
  if (!ok) throw new Error(`${fn}: ${name} must be ${what}, got ${String(x)}`);
};
const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const isCount = (x: unknown): x is number => Number.isInteger(x) && (x as number) >= 0;

/** `count ↦ value`. */
export const constant = (value: number): Schedule => {
  need('constant', 'value', isNum(value), 'a finite number', value);
  return () => value;
};

/**
 * Polynomial decay from `init` to `end` over `transitionSteps` steps, starting after
 * `transitionBegin` steps (optax `polynomial_schedule`):
 *
 *   c = clip(count − transitionBegin, 0, transitionSteps)
 *   value = (init − end)·(1 − c/transitionSteps)^power + end
 *
 * With `transitionSteps` 0 the value is `init` throughout.
 */
export const polynomial = (o: {
  readonly init: number;
  readonly end: number;
  readonly power: number;
  readonly transitionSteps: number;
  readonly transitionBegin?: number;
}): Schedule => {
  const { init, end, power, transitionSteps, transitionBegin = 0 } = o;
  need('polynomial', 'init', isNum(init), 'a finite number', init);
  need('polynomial', 'end', isNum(end), 'a finite number', end);
  need('polynomial', 'power', isNum(power), 'a finite number', power);
  need('polynomial', 'transitionSteps', isCount(transitionSteps), 'a non-negative integer', transitionSteps);
  need('polynomial', 'transitionBegin', isCount(transitionBegin), 'a non-negative integer', transitionBegin);
  if (transitionSteps === 0) return () => init;
  return (count) => {
    const c = Math.min(Math.max(count - transitionBegin, 0), transitionSteps);
    return (init - end) * Math.pow(1 - c / transitionSteps, power) + end;
  };
};

/** Linear interpolation from `init` to `end` over `transitionSteps` (polynomial with power 1). optax `linear_schedule`. */
export const linear = (o: {
  readonly init: number;
  readonly end: number;
  readonly transitionSteps: number;
  readonly transitionBegin?: number;
}): Schedule => {
  need('linear', 'init', isNum(o.init), 'a finite number', o.init);
  need('linear', 'end', isNum(o.end), 'a finite number', o.end);
  need('linear', 'transitionSteps', isCount(o.transitionSteps), 'a non-negative integer', o.transitionSteps);
  return polynomial({ ...o, power: 1 });
};

/**
 * Exponential decay (optax `exponential_decay`):
 *
 *   p = (count − transitionBegin) / transitionSteps   (floored with `staircase`; 0 before the begin)
 *   value = init · decayRate^p, bounded by `end` when given (below it when decayRate < 1, above when > 1)
 */
export const exponential = (o: {
  readonly init: number;
  readonly transitionSteps: number;
  readonly decayRate: number;
  readonly transitionBegin?: number;
  readonly staircase?: boolean;
  readonly end?: number;
}): Schedule => {
  const { init, transitionSteps, decayRate, transitionBegin = 0, staircase = false, end } = o;
  need('exponential', 'init', isNum(init), 'a finite number', init);
  need('exponential', 'transitionSteps', Number.isInteger(transitionSteps) && transitionSteps > 0, 'a positive integer', transitionSteps);
  need('exponential', 'decayRate', isNum(decayRate) && decayRate > 0, 'a positive number', decayRate);
  need('exponential', 'transitionBegin', isCount(transitionBegin), 'a non-negative integer', transitionBegin);
  need('exponential', 'end', end === undefined || isNum(end), 'a finite number or absent', end);
  return (count) => {
    const c = Math.max(count - transitionBegin, 0);
    const p = staircase ? Math.floor(c / transitionSteps) : c / transitionSteps;
    const v = init * Math.pow(decayRate, p);
    if (end === undefined) return v;
    return decayRate < 1 ? Math.max(v, end) : Math.min(v, end);
  };
};

/**
 * `init` multiplied by `scale` for every boundary the count has reached (count ≥ boundary)
 * (optax `piecewise_constant_schedule`):
 *
 *   piecewiseConstant(0.1, [[1000, 0.1], [2000, 0.1]])  // 0.1, then 0.01 from 1000, 0.001 from 2000
 */
export const piecewiseConstant = (init: number, boundariesAndScales: ReadonlyArray<readonly [number, number]> = []): Schedule => {
  need('piecewiseConstant', 'init', isNum(init), 'a finite number', init);
  boundariesAndScales.forEach(([b, s], i) => {
    need('piecewiseConstant', `boundary ${i}`, isCount(b), 'a non-negative integer', b);
    need('piecewiseConstant', `scale ${i}`, isNum(s), 'a finite number', s);
    if (i > 0) need('piecewiseConstant', `boundary ${i}`, b > boundariesAndScales[i - 1]![0], 'greater than the one before', b);
  });
  return (count) => boundariesAndScales.reduce((v, [b, s]) => (count >= b ? v * s : v), init);
};

/**
 * Cosine decay from `init` to `alpha·init` over `decaySteps` (Loshchilov & Hutter 2017, SGDR
 * without restarts; optax `cosine_decay_schedule`):
 *
 *   c = min(count, decaySteps)
 *   value = init · ((1 − alpha)·(½(1 + cos(π·c/decaySteps)))^exponent + alpha)
 */
export const cosineDecay = (
  init: number,
  decaySteps: number,
  options: { readonly alpha?: number; readonly exponent?: number } = {},
): Schedule => {
  const { alpha = 0, exponent = 1 } = options;
  need('cosineDecay', 'init', isNum(init), 'a finite number', init);
  need('cosineDecay', 'decaySteps', Number.isInteger(decaySteps) && decaySteps > 0, 'a positive integer', decaySteps);
  need('cosineDecay', 'alpha', isNum(alpha), 'a finite number', alpha);
  need('cosineDecay', 'exponent', isNum(exponent), 'a finite number', exponent);
  return (count) => {
    const c = Math.min(Math.max(count, 0), decaySteps);
    const cosine = 0.5 * (1 + Math.cos((Math.PI * c) / decaySteps));
    return init * ((1 - alpha) * Math.pow(cosine, exponent) + alpha);
  };
};

/**
 * Joins schedules at boundaries (optax `join_schedules`): before `boundaries[0]` it is
 * `schedules[0](count)`; from `boundaries[i−1]` on it is `schedules[i](count − boundaries[i−1])`,
 * so each piece starts from its own step 0. Needs one more schedule than boundaries.
 */
export const joinSchedules = (schedules: readonly Schedule[], boundaries: readonly number[]): Schedule => {
  need('joinSchedules', 'schedules', schedules.length === boundaries.length + 1, `${boundaries.length + 1} schedules (one more than boundaries)`, schedules.length);
  schedules.forEach((s, i) => need('joinSchedules', `schedules[${i}]`, typeof s === 'function', 'a function', typeof s));
  boundaries.forEach((b, i) => {
    need('joinSchedules', `boundaries[${i}]`, isCount(b), 'a non-negative integer', b);
    if (i > 0) need('joinSchedules', `boundaries[${i}]`, b > boundaries[i - 1]!, 'greater than the one before', b);
  });
  return (count) => {
    let i = 0;
    while (i < boundaries.length && count >= boundaries[i]!) i++;
    return schedules[i]!(i === 0 ? count : count - boundaries[i - 1]!);
  };
};

/**
 * Linear warmup from `init` to `peak` over `warmupSteps`, then cosine decay from `peak` to
 * `end` until step `decaySteps` (which counts the warmup) (optax `warmup_cosine_decay_schedule`):
 *
 *   joinSchedules([linear(init → peak, warmupSteps), cosineDecay(peak, decaySteps − warmupSteps, {alpha: end/peak})], [warmupSteps])
 */
export const warmupCosineDecay = (o: {
  readonly init: number;
  readonly peak: number;
  readonly warmupSteps: number;
  readonly decaySteps: number;
  readonly end?: number;
  readonly exponent?: number;
}): Schedule => {
  const { init, peak, warmupSteps, decaySteps, end = 0, exponent = 1 } = o;
  need('warmupCosineDecay', 'peak', isNum(peak) && peak !== 0, 'a finite non-zero number', peak);
  need('warmupCosineDecay', 'warmupSteps', isCount(warmupSteps), 'a non-negative integer', warmupSteps);
  need('warmupCosineDecay', 'decaySteps', Number.isInteger(decaySteps) && decaySteps > warmupSteps, `an integer greater than warmupSteps (${warmupSteps})`, decaySteps);
  need('warmupCosineDecay', 'end', isNum(end), 'a finite number', end);
  return joinSchedules(
    [
      linear({ init, end: peak, transitionSteps: warmupSteps }),
      cosineDecay(peak, decaySteps - warmupSteps, { alpha: end / peak, exponent }),
    ],
    [warmupSteps],
  );
};

/**
 * Linear warm-up that reaches `peak` on its last step, then stays there:
 *
 *   value = peak·(count + 1)/warmupSteps  for count < warmupSteps,  peak after
 *
 * Unlike optax's warm-up in `warmup_cosine_decay_schedule` (which starts from `init` at step 0),
 * no step has rate 0: the gradual warm-up of Goyal et al. 2017 ("Accurate, Large Minibatch SGD"),
 * PyTorch's `LinearLR(start_factor=1/W, total_iters=W−1)` in exact arithmetic.
 */
export const linearWarmup = (peak: number, warmupSteps: number): Schedule => {
  need('linearWarmup', 'peak', isNum(peak), 'a finite number', peak);
  need('linearWarmup', 'warmupSteps', Number.isInteger(warmupSteps) && warmupSteps > 0, 'a positive integer', warmupSteps);
  return (count) => (count < warmupSteps ? (peak * (count + 1)) / warmupSteps : peak);
};
