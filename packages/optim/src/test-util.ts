import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { registerTrainingKernels } from '@lets/runtime';
import type { Params } from '@lets/tree';

/**
 * Optim tests run on the cpu backend; the package itself never picks a backend. @lets/runtime
 * (a devDependency) registers the kernels optim finds by name (the fused Adam step), as
 * `initRuntime` does for an application.
 */
export const useCpu = async (): Promise<void> => {
  await tf.setBackend('cpu');
  await tf.ready();
  (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
  registerTrainingKernels('cpu');
};

/** Leaf values as plain arrays. */
export const vals = (t: Params): Record<string, number[]> =>
  Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Array.from(v.dataSync())]));

/** A deterministic pseudo-random stream (mulberry32) of float32-representable numbers in [-1, 1). */
export const rng = (seed: number): (() => number) => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.fround(((t ^ (t >>> 14)) >>> 0) / 4294967296 * 2 - 1);
  };
};

/** A small tree of host arrays with given shapes, filled from `rng`. */
export const hostTree = (shapes: Record<string, number[]>, next: () => number, s = 1): Record<string, number[]> =>
  Object.fromEntries(
    Object.entries(shapes).map(([k, sh]) => [k, Array.from({ length: sh.reduce((a, b) => a * b, 1) }, () => Math.fround(next() * s))]),
  );

/** Tensors from a host tree. */
export const toTree = (h: Record<string, number[]>, shapes: Record<string, number[]>): Params =>
  Object.fromEntries(Object.entries(h).map(([k, v]) => [k, tf.tensor(v, shapes[k])]));

/** Largest |a − b| / (atol + rtol·|b|) over two host trees; ≤ 1 means within tolerance. */
export const expectClose = (
  actual: Record<string, number[]>,
  expected: Record<string, number[]>,
  tol: { rtol: number; atol: number },
): void => {
  expect(Object.keys(actual)).toEqual(Object.keys(expected));
  for (const k of Object.keys(expected)) {
    const a = actual[k] as number[];
    const e = expected[k] as number[];
    expect(a.length).toBe(e.length);
    for (let i = 0; i < e.length; i++) {
      const err = Math.abs((a[i] as number) - (e[i] as number));
      const bound = tol.atol + tol.rtol * Math.abs(e[i] as number);
      if (!(err <= bound)) throw new Error(`${k}[${i}]: got ${a[i]}, expected ${e[i]} (|err| ${err} > ${bound})`);
    }
  }
};

import type { GradientTransformation } from './types';
import { applyUpdates } from './applyUpdates';
import { disposeState, dispose } from '@lets/tree';

/**
 * Runs `opt` for `grads.length` steps from `params0` with the given (host) gradients, disposing
 * everything it no longer needs, and returns the host values of the params after each step.
 * `gradsAt(step, params)` may read the params (for gradient functions of w).
 */
export const runSteps = <S>(
  opt: GradientTransformation<S>,
  params0: Record<string, number[]>,
  shapes: Record<string, number[]>,
  steps: number,
  gradsAt: (step: number, params: Record<string, number[]>) => Record<string, number[]>,
): Record<string, number[]>[] => {
  let params = toTree(params0, shapes);
  let state = opt.init(params);
  const out: Record<string, number[]>[] = [];
  for (let i = 0; i < steps; i++) {
    const hp = vals(params);
    const g = toTree(gradsAt(i, hp), shapes);
    const [u, s] = opt.update(g, state, params);
    const next = applyUpdates(params, u);
    dispose(g);
    dispose(u);
    dispose(params);
    disposeState(state);
    params = next;
    state = s;
    out.push(vals(params));
  }
  dispose(params);
  disposeState(state);
  return out;
};
