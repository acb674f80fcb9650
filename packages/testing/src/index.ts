/**
 * @lets/testing — helpers the workspace's tests share, in one place instead of one copy per
 * package's `test-util.ts`. Private (never published); packages list it as a devDependency and
 * import it only from tests and test-util files.
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { initRuntime } from '@lets/runtime';

/** `initRuntime` on the cpu backend, without the cpu backend's "install tfjs-node" banner. */
export const setupCpu = async (): Promise<void> => {
  await initRuntime({ backend: 'cpu' });
  (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
};

/**
 * Deterministic numbers in [-1, 1) from a fixed LCG (Numerical Recipes' a = 1664525,
 * c = 1013904223, mod 2^32), so fixtures never change whatever the library's random streams do.
 */
export const lcg = (seed: number): (() => number) => {
  let s = seed >>> 0;
  return (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  };
};

/** A float32 tensor of `lcg(seed)` draws times `scale`. */
export const lcgTensor = (shape: number[], seed: number, scale = 1): tf.Tensor => {
  const r = lcg(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Array.from({ length: n }, () => r() * scale), shape, 'float32');
};
