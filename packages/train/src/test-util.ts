/** Fixtures of the train tests: the CPU backend and fixed pseudo-random numbers. */
import * as tf from '@tensorflow/tfjs-core';
import { initRuntime } from '@lets/runtime';

export const setupCpu = async (): Promise<void> => {
  await initRuntime({ backend: 'cpu' });
  (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
};

/** Deterministic numbers in [-1, 1) from a fixed LCG, so fixtures never change. */
export const lcg = (seed: number) => {
  let s = seed >>> 0;
  return (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  };
};

export const uniform = (shape: number[], seed: number, scale = 1): tf.Tensor => {
  const r = lcg(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Array.from({ length: n }, () => r() * scale), shape, 'float32');
};

