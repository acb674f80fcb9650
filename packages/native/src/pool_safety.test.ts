import * as tf from '@tensorflow/tfjs-core';
import { NativeBackend } from './backend';
import { setupNative } from './test-util';

// The output-buffer pool must never recycle a buffer that something outside the tensor can
// still see. Each test disposes a tensor, then runs kernels that would reuse its buffer, and
// checks that what was handed out did not change.
let skip: string | undefined;
beforeAll(async () => {
  skip = setupNative();
  if (!skip) await tf.setBackend('native');
});

function churn(shape: number[]): void {
  // Several same-size native outputs, disposed at once: any recyclable buffer gets reused.
  tf.tidy(() => {
    for (let i = 0; i < 4; i++) tf.add(tf.fill(shape, 7 + i), tf.fill(shape, 1));
  });
}

describe('native output-buffer pool', () => {
  test('recycles a private output buffer', () => {
    if (skip) return;
    const backend = tf.backend() as NativeBackend;
    const before = backend.poolStats().buffers;
    const t = tf.add(tf.ones([64, 64]), tf.ones([64, 64]));
    t.dispose();
    expect(backend.poolStats().buffers).toBeGreaterThan(before);
  });

  test('an array returned by dataSync keeps its values after the tensor is disposed', () => {
    if (skip) return;
    const t = tf.add(tf.fill([32, 32], 1), tf.fill([32, 32], 2));
    const values = t.dataSync();
    t.dispose();
    churn([32, 32]);
    expect(values.every((v) => v === 3)).toBe(true);
  });

  test('a cpu-kernel view of a native output (simple slice) is not corrupted', () => {
    if (skip) return;
    const x = tf.add(tf.fill([16, 8], 2), tf.fill([16, 8], 3)); // native output, all 5
    const view = tf.slice(x, [4, 0], [4, 8]); // the cpu Slice kernel returns a subarray
    x.dispose();
    churn([16, 8]);
    expect(Array.from(view.dataSync()).every((v) => v === 5)).toBe(true);
    view.dispose();
  });

  test('a reshaped alias keeps its buffer until both are disposed', () => {
    if (skip) return;
    const x = tf.add(tf.fill([8, 8], 1), tf.fill([8, 8], 1));
    const r = tf.reshape(x, [64]);
    x.dispose();
    churn([8, 8]);
    expect(Array.from(r.dataSync()).every((v) => v === 2)).toBe(true);
    r.dispose();
  });
});
