/** Fixtures of the train tests: the CPU backend and fixed pseudo-random numbers. */
export { setupCpu, lcg, lcgTensor as uniform } from '@lets/testing';


import * as tf from '@tensorflow/tfjs-core';
import type { Params, Tree } from '@lets/tree';
import { lcgTensor } from '@lets/testing';
import { BackendUnavailableError, initRuntime } from '@lets/runtime';
import type { TrainableModel } from './types';

/**
 * A small model with state: a running mean of the inputs (like BatchNorm's statistics, updated
 * only in training mode with momentum 0.5), subtracted before a softplus MLP 2 → 8 → 3.
 */
export const statefulMlp: TrainableModel = {
  init: (seed) => ({
    params: { 'l1/w': lcgTensor([2, 8], seed, 0.8), 'l1/b': tf.zeros([8]), 'l2/w': lcgTensor([8, 3], seed + 1, 0.8), 'l2/b': tf.zeros([3]) },
    state: { 'bn/mean': tf.zeros([2]) },
  }),
  apply: (p: Params, s: Tree, x: tf.Tensor, { training }) =>
    tf.tidy(() => {
      const mean = training ? tf.add(tf.mul(s['bn/mean']!, 0.5), tf.mul(tf.mean(x, 0), 0.5)) : tf.clone(s['bn/mean']!);
      const h = tf.softplus(tf.add(tf.matMul(tf.sub(x, mean) as tf.Tensor2D, p['l1/w'] as tf.Tensor2D), p['l1/b']!));
      return { logits: tf.add(tf.matMul(h as tf.Tensor2D, p['l2/w'] as tf.Tensor2D), p['l2/b']!), state: { 'bn/mean': mean } };
    }),
};

/**
 * Starts the 'native' backend and wraps each named kernel of it so that `calls[name]` counts its
 * runs: the wrapped configs (to register again after unregistering one), or undefined (with a
 * line saying why) where the addon is not built. Every named kernel must be registered.
 */
export async function countedNativeKernels(names: readonly string[], calls: Record<string, number>, what: string): Promise<tf.KernelConfig[] | undefined> {
  try {
    await initRuntime({ backend: 'native' });
  } catch (e) {
    if (!(e instanceof BackendUnavailableError)) throw e;
    // eslint-disable-next-line no-console
    console.log(`${what} skipped: ${e.message}`);
    return undefined;
  }
  const missing = names.filter((n) => tf.getKernel(n, 'native') === undefined);
  if (missing.length > 0) throw new Error(`native registers no ${missing.join(', ')}`);
  for (const name of names) {
    const k = tf.getKernel(name, 'native')!;
    tf.unregisterKernel(name, 'native');
    tf.registerKernel({ ...k, kernelFunc: (a) => { calls[name] = (calls[name] ?? 0) + 1; return k.kernelFunc(a); } });
  }
  return names.map((n) => tf.getKernel(n, 'native')!);
}
