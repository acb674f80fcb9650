import * as tf from '@tensorflow/tfjs-core';
import { initRuntime } from './backend';
import { countLeaks, expectNoLeak, stepScope, stepScopeSync, tensorsIn } from './memory';
import { hvp } from './hvp';
import { softmaxCrossEntropy } from './losses';

describe('stepScope', () => {
  beforeAll(async () => {
    await initRuntime({ backend: 'cpu' });
  });

  it('keeps exactly the tensors in an async step’s nested result, disposing its temporaries', async () => {
    const before = tf.memory().numTensors;
    const out = await stepScope(async () => {
      const a = tf.ones([2]);
      const tmp = tf.add(a, 1); // temporary
      await new Promise((r) => setTimeout(r, 1));
      const b = tf.mul(tmp, 2);
      return { params: { a }, state: [new Map([['b', b]])], step: 3, note: 'x', rng: { s: [1, 2] } };
    });
    expect(tf.memory().numTensors).toBe(before + 2);
    expect(out.step).toBe(3);
    expect(out.note).toBe('x');
    expect(Array.from(out.state[0]!.get('b')!.dataSync())).toEqual([4, 4]);
    tf.dispose(tensorsIn(out));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('releases the previous state except what the new state still holds', async () => {
    const shared = tf.zeros([3]);
    let state = { w: tf.ones([3]), shared };
    const before = tf.memory().numTensors;
    for (let i = 0; i < 4; i++) {
      const prev = state;
      state = await stepScope(() => ({ w: tf.add(prev.w, 1), shared: prev.shared }), { release: prev });
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(shared.isDisposed).toBe(false);
    expect(Array.from(state.w.dataSync())).toEqual([5, 5, 5]);
    tf.dispose([state.w, shared]);
  });

  it('disposes everything the step created when it throws, and leaves release alone', async () => {
    const keep = tf.ones([1]);
    const before = tf.memory().numTensors;
    await expect(
      stepScope(async () => {
        tf.zeros([5]);
        throw new Error('boom');
      }, { release: keep }),
    ).rejects.toThrow('boom');
    expect(tf.memory().numTensors).toBe(before);
    expect(keep.isDisposed).toBe(false);
    expect(() => stepScopeSync(() => Promise.resolve(1))).toThrow(/use stepScope/);
    keep.dispose();
  });
});

describe('leak detector', () => {
  beforeAll(async () => {
    await initRuntime({ backend: 'cpu' });
  });

  it('passes a clean step and reports a leaky one with its count', async () => {
    await expect(expectNoLeak(() => tf.tidy(() => tf.sum(tf.ones([4]))))).resolves.toMatchObject({ tensorsPerStep: 0 });
    const leaked: tf.Tensor[] = [];
    await expect(expectNoLeak(() => void leaked.push(tf.ones([2])), 3)).rejects.toThrow(/3 tensors \(24 bytes\) leaked over 3 steps/);
    tf.dispose(leaked);
  });

  it('a training step with hvp in a stepScope leaks nothing over 5 steps', async () => {
    const x = tf.randomNormal([4, 3], 0, 1, 'float32', 1);
    const y = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d([0, 1, 1, 0], 'int32'), 2), 'float32'));
    let params: Record<string, tf.Tensor> = { w: tf.randomNormal([3, 2], 0, 1, 'float32', 2) };
    const loss = (p: Record<string, tf.Tensor>) => softmaxCrossEntropy(tf.matMul(x, p['w']!), y);
    const r = await countLeaks(async () => {
      const prev = params;
      params = await stepScope(() => {
        const h = hvp(loss, prev, prev);
        return { w: tf.sub(prev['w']!, tf.mul(h['w']!, 0.1)) };
      }, { release: prev });
    }, 5);
    expect(r.tensorsPerStep).toBe(0);
    tf.dispose([x, y, params['w']!]);
  });
});
