/**
 * hvp before initRuntime(): this file never calls it (Jest gives every test file its own tfjs),
 * so the refusal must name it, in both situations a user can be in.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { hvp } from './hvp';

const loss = (p: Readonly<Record<string, tf.Tensor>>): tf.Scalar => tf.mean(tf.square(p['w']!)) as tf.Scalar;

beforeAll(async () => {
  await tf.setBackend('cpu');
});

it('with no gradients registered at all (tfjs-core alone), hvp names initRuntime()', () => {
  const p = { w: tf.tensor1d([1, 2]) };
  const before = tf.memory().numTensors;
  expect(() => hvp(loss, p, p)).toThrow(
    new Error(
      'hvp: tfjs has no gradient functions registered. Call `await initRuntime()` from @lets/runtime first: it registers them, ' +
        "twice-differentiable ones included (@tensorflow/tfjs-core's Node entry registers none).",
    ),
  );
  expect(tf.memory().numTensors).toBe(before);
  p.w.dispose();
});

it("with tfjs's own gradients only (as @tensorflow/tfjs registers them), hvp names initRuntime() too", () => {
  tf.registerGradient({ kernelName: 'Add', gradFunc: (dy) => ({ a: () => dy as tf.Tensor, b: () => dy as tf.Tensor }) });
  const p = { w: tf.tensor1d([1, 2]) };
  expect(() => hvp(loss, p, p)).toThrow(
    new Error(
      "hvp: @lets/runtime's twice-differentiable gradients are not registered (tfjs's own are, e.g. by @tensorflow/tfjs, " +
        'and several of them are silently wrong under double back-propagation). Call `await initRuntime()` from @lets/runtime first (or registerGradients()).',
    ),
  );
  p.w.dispose();
});
