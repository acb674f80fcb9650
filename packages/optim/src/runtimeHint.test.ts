/**
 * Without @lets/runtime's initRuntime() (this file never calls it, and Jest gives every test file
 * its own tfjs), tfjs's errors are rewritten to name it; other errors pass through untouched.
 */
import * as tf from '@tensorflow/tfjs-core';
import { explainMissingRuntime } from './runtimeHint';
import { gradFnOf } from './gradFn';

const messageOf = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected a throw');
};

describe('explainMissingRuntime', () => {
  it("no backend at all: tfjs's 'No backend found in registry' becomes a message naming initRuntime()", () => {
    let tfjsError: unknown;
    try {
      tf.scalar(1);
    } catch (e) {
      tfjsError = e;
    }
    expect((tfjsError as Error).message).toBe('No backend found in registry.');
    const e = explainMissingRuntime(tfjsError, 'sgd.init') as Error;
    expect(e.message).toBe(
      'sgd.init: no tfjs backend is ready (tfjs: "No backend found in registry."). Call `await initRuntime()` from @lets/runtime first: ' +
        "it starts a backend (LETS_BACKEND or { backend: 'cpu' | 'wasm' | 'native' | … } chooses one) and registers the gradients training needs.",
    );
    expect(e.cause).toBe(tfjsError);
  });

  describe('a backend but no gradients (tfjs-core + tfjs-backend-cpu, as a user might import them)', () => {
    beforeAll(async () => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require('@tensorflow/tfjs-backend-cpu');
      await tf.setBackend('cpu');
    });

    it('gradFnOf names initRuntime() and the op tfjs reported', () => {
      const w = { w: tf.tensor1d([1, 2, 3]) };
      const before = tf.memory().numTensors;
      const msg = messageOf(() => gradFnOf((p) => tf.mean(tf.square(p['w']!)) as tf.Scalar)(w));
      expect(msg).toBe(
        'gradFnOf: tfjs has no gradient functions registered (tfjs: "Cannot compute gradient: gradient function not found for Mean."). ' +
          "Call `await initRuntime()` from @lets/runtime first: @tensorflow/tfjs-core's Node entry registers none, " +
          'and initRuntime registers them all (twice-differentiable ones included).',
      );
      expect(tf.memory().numTensors).toBe(before);
      w.w.dispose();
    });

    it('an error that already names initRuntime() is returned as it is (no double wrapping)', () => {
      const inner = new Error('gradFnOf: … Call `await initRuntime()` from @lets/runtime first …');
      expect(explainMissingRuntime(inner, 'sam')).toBe(inner);
    });

    it('other errors pass through untouched, a gradient missing for one op while others are registered included', () => {
      const other = new Error('sgd: learning rate must be a number');
      expect(explainMissingRuntime(other, 'sgd')).toBe(other);
      tf.registerGradient({ kernelName: 'Add', gradFunc: (dy) => ({ a: () => dy as tf.Tensor, b: () => dy as tf.Tensor }) });
      const one = new Error('Cannot compute gradient: gradient function not found for Cumprod.');
      expect(explainMissingRuntime(one, 'gradFnOf')).toBe(one);
    });
  });
});
