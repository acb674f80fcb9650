import * as tf from '@tensorflow/tfjs-core';
import { defineModel } from './model';
import { ones, zeros } from './initializers';
import { disposeTree, useCpu } from './test-util';

beforeAll(useCpu);

// A model with one parameter and one state entry: logits = x·w, state counter += 1 in training.
const counter = () =>
  defineModel({
    name: 'counter',
    inputShape: [2],
    inputDtype: 'float32',
    numClasses: 1,
    params: [{ path: 'w', shape: [2, 1], init: ones }],
    state: [
      { path: 'count', shape: [], init: zeros },
      { path: 'untouched', shape: [], init: ones },
    ],
    usesDropout: false,
    forward: (ctx, x) => {
      if (ctx.training) ctx.setState('count', tf.add(ctx.state('count'), 1));
      return tf.matMul(x as tf.Tensor2D, ctx.param('w') as tf.Tensor2D);
    },
  });

describe('defineModel', () => {
  it('returns a complete new state: updated entries and clones of the rest, in spec order', () => {
    const m = counter();
    const { params, state } = m.init(0);
    const x = tf.ones([3, 2]);
    const r = m.apply(params, state, x, { training: true });
    expect(Object.keys(r.state)).toEqual(['count', 'untouched']);
    expect(r.state['count']!.dataSync()[0]).toBe(1);
    expect(r.state['untouched']).not.toBe(state['untouched']);
    expect(r.logits.dataSync()).toEqual(new Float32Array([2, 2, 2]));
    // The old state can be disposed without affecting the new one.
    disposeTree(state);
    expect(r.state['untouched']!.dataSync()[0]).toBe(1);
    [r.state, params].forEach(disposeTree);
    [x, r.logits].forEach((t) => t.dispose());
  });

  it('refuses missing, disposed or wrongly shaped params and state, naming the path', () => {
    const m = counter();
    const { params, state } = m.init(0);
    const x = tf.ones([1, 2]);
    const wrong = { w: tf.ones([3, 1]) };
    expect(() => m.apply(wrong, state, x, { training: false })).toThrow(/params 'w' has shape \[3, 1\], expected \[2, 1\]/);
    expect(() => m.apply(params, { count: state['count']! }, x, { training: false })).toThrow(/state is missing 'untouched'/);
    const gone = { w: tf.ones([2, 1]) };
    gone.w.dispose();
    expect(() => m.apply(gone, state, x, { training: false })).toThrow(/params 'w' is disposed/);
    expect(() => m.init(Number.NaN)).toThrow(/seed must be a safe integer/);
    [wrong, params, state].forEach(disposeTree);
    x.dispose();
  });

  it('a failing forward pass leaks nothing', () => {
    const m = defineModel({
      name: 'broken',
      inputShape: [2],
      inputDtype: 'float32',
      numClasses: 1,
      params: [],
      state: [],
      usesDropout: false,
      forward: (ctx, x) => {
        tf.mul(x, 2);
        return ctx.param('nope');
      },
    });
    const x = tf.ones([1, 2]);
    const before = tf.memory().numTensors;
    expect(() => m.apply({}, {}, x, { training: false })).toThrow(/no parameter 'nope'/);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});
