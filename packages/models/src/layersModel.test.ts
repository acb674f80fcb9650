import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { fromLayersModel } from './layersModel';
import { disposeTree, evalLoss, tensorGrowth, trainSgd, useCpu } from './test-util';

beforeAll(useCpu);

const denseBn = (): tfl.Sequential => {
  const m = tfl.sequential();
  m.add(tfl.layers.dense({ inputShape: [4], units: 8, activation: 'relu' }));
  m.add(tfl.layers.batchNormalization());
  m.add(tfl.layers.dense({ units: 3 }));
  return m;
};

const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor): number => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] as number);

describe('fromLayersModel', () => {
  it('params are the trainable weights, state the BN moving statistics; eval apply equals predict()', () => {
    const lm = denseBn();
    const m = fromLayersModel(lm);
    const names = lm.trainableWeights.map((w) => w.name);
    expect(Object.keys(m.paramShapes)).toEqual(names);
    expect(Object.keys(m.stateShapes).map((k) => k.split('/').pop())).toEqual(['moving_mean', 'moving_variance']);
    expect(m.inputShape).toEqual([4]);
    expect(m.numClasses).toBe(3);
    const { params, state } = m.init(0);
    // Non-trivial moving stats so that eval mode really uses them.
    const st = { ...state, [Object.keys(state)[0]!]: tf.fill([8], 0.3), [Object.keys(state)[1]!]: tf.fill([8], 2) };
    lm.nonTrainableWeights.forEach((w, i) => w.write(st[Object.keys(state)[i]!]!));
    const x = tf.randomNormal([5, 4], 0, 1, 'float32', 3);
    const r = m.apply(params, st, x, { training: false });
    const ref = lm.predict(x) as tf.Tensor;
    expect(maxAbsDiff(r.logits, ref)).toBeLessThan(1e-6);
    [r.logits, ref, x].forEach((t) => t.dispose());
    [r.state, params, state, st].forEach(disposeTree);
  });

  it('gradients w.r.t. params equal tf.variableGrads on the LayersModel itself', () => {
    const lm = denseBn();
    const m = fromLayersModel(lm);
    const { params, state } = m.init(0);
    const x = tf.randomNormal([5, 4], 0, 1, 'float32', 4);
    const keys = Object.keys(params);
    // Different parameter values from the model's own, to prove apply uses the arguments.
    const shifted = keys.map((k) => tf.add(params[k]!, 0.05));
    const ours = tf.grads((...ws: tf.Tensor[]) =>
      tf.sum(tf.square(m.apply(Object.fromEntries(keys.map((k, i) => [k, ws[i]!])), state, x, { training: false }).logits)) as tf.Scalar,
    )(shifted);
    lm.trainableWeights.forEach((w, i) => w.write(shifted[i]!));
    const ref = tf.variableGrads(() => tf.sum(tf.square(lm.apply(x, { training: false }) as tf.Tensor)) as tf.Scalar);
    keys.forEach((k, i) => {
      const g = ref.grads[(lm.trainableWeights[i]!.read() as tf.Variable).name]!;
      // Same ops in the same order: identical up to float32 reassociation.
      expect(maxAbsDiff(ours[i]!, g)).toBeLessThan(1e-5);
    });
    [...ours, ...shifted, x, ref.value, ...Object.values(ref.grads)].forEach((t) => t.dispose());
    [params, state].forEach(disposeTree);
  });

  it('training mode returns moving stats updated by the Keras rule and leaves the LayersModel untouched', () => {
    const lm = denseBn();
    const m = fromLayersModel(lm);
    const { params, state } = m.init(0);
    const x = tf.randomNormal([6, 4], 0, 1, 'float32', 5);
    const r = m.apply(params, state, x, { training: true });
    const [kMean, kVar] = Object.keys(state) as [string, string];
    // BN input = relu(x·W + b); Keras: moving ← 0.99·moving + 0.01·batch (biased variance).
    const h = tf.relu(tf.add(tf.matMul(x, params[lm.trainableWeights[0]!.name]!), params[lm.trainableWeights[1]!.name]!));
    const { mean, variance } = tf.moments(h, 0);
    const wantMean = tf.add(tf.mul(state[kMean]!, 0.99), tf.mul(mean, 0.01));
    const wantVar = tf.add(tf.mul(state[kVar]!, 0.99), tf.mul(variance, 0.01));
    expect(maxAbsDiff(r.state[kMean]!, wantMean)).toBeLessThan(1e-6);
    expect(maxAbsDiff(r.state[kVar]!, wantVar)).toBeLessThan(1e-6);
    expect(maxAbsDiff(r.state[kMean]!, state[kMean]!)).toBeGreaterThan(0);
    // The layer's own variables did not move.
    expect(maxAbsDiff(lm.nonTrainableWeights[0]!.read(), state[kMean]!)).toBe(0);
    // And the patched read/write methods are gone.
    expect(Object.prototype.hasOwnProperty.call(lm.nonTrainableWeights[0], 'read')).toBe(false);
    [h, mean, variance, wantMean, wantVar, r.logits, x].forEach((t) => t.dispose());
    [r.state, params, state].forEach(disposeTree);
  });

  it('a conv LayersModel trains with SGD through the adapter', () => {
    const lm = tfl.sequential();
    lm.add(tfl.layers.conv2d({ inputShape: [6, 6, 1], filters: 3, kernelSize: 3, activation: 'tanh' }));
    lm.add(tfl.layers.flatten());
    lm.add(tfl.layers.dense({ units: 2 }));
    const m = fromLayersModel(lm);
    const { params, state } = m.init(0);
    const x = tf.concat([tf.ones([4, 6, 6, 1]), tf.fill([4, 6, 6, 1], -1)]);
    const y = tf.tensor1d([0, 0, 0, 0, 1, 1, 1, 1], 'int32');
    const ref = lm.predict(x) as tf.Tensor;
    const r = m.apply(params, state, x, { training: false });
    expect(maxAbsDiff(r.logits, ref)).toBeLessThan(1e-6);
    const out = trainSgd(m, params, state, x, y, { steps: 15, lr: 0.1 });
    expect(evalLoss(m, out.params, out.state, x, y)).toBeLessThan(0.5 * (out.losses[0] as number));
    [r.logits, ref, x, y].forEach((t) => t.dispose());
    [r.state, out.params, out.state, params, state].forEach(disposeTree);
  });

  it('rejects missing params and wrong input shapes; leaks nothing', () => {
    const lm = denseBn();
    const m = fromLayersModel(lm);
    const { params, state } = m.init(0);
    const x = tf.ones([2, 4]);
    const bad = tf.ones([2, 5]);
    expect(() => m.apply(params, state, bad, { training: false })).toThrow(/expected \[batch, 4\]/);
    const k0 = Object.keys(params)[0]!;
    const { [k0]: _gone, ...missing } = params;
    expect(() => m.apply(missing, state, x, { training: false })).toThrow(new RegExp(`params is missing '${k0}'`));
    expect(tensorGrowth(m, params, state, x)).toBe(0);
    [x, bad].forEach((t) => t.dispose());
    [params, state].forEach(disposeTree);
  });
});
