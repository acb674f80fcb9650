/**
 * Which tfjs-layers layers LETS's 'exact' estimator (double back-propagation through
 * @lets/runtime's hvp) works with, through `fromLayersModel`, in training mode. Each layer sits in
 * a small network ending in a linear Dense layer (tfjs's fused matMul, a customGrad op that the
 * runtime accepts because under a tape it fuses only the linear activation); ⟨u, H v⟩ by
 * double back-propagation is checked against a central difference of gradients,
 * ⟨u, ∇L(θ + εv) − ∇L(θ − εv)⟩ / 2ε at ε = 1e-3, and the Hessian's symmetry ⟨u, Hv⟩ = ⟨v, Hu⟩.
 * Measured relative errors at ε = 1e-3 are 1e-5–1e-4; a wrong second derivative is off by O(1)
 * (FINDINGS §3), so 1e-2 separates the two. docs/bilevel.md's table is this list.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { Rng, hvp, softmaxCrossEntropy } from '@lets/runtime';
import type { Tree } from '@lets/tree';
import { fromLayersModel } from './layersModel';
import { disposeTree, useCpu } from './test-util';

beforeAll(useCpu);

const dense = (units: number, activation?: string) => tfl.layers.dense({ units, ...(activation ? { activation: activation as 'relu' } : {}) });
const mlpWith = (...middle: tfl.layers.Layer[]) => () =>
  tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [6], units: 5 }), ...middle, dense(3)] });
const denseAct = (activation: string) => () =>
  tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [6], units: 5, activation: activation as 'relu' }), dense(3)] });
const convWith = (first: tfl.layers.Layer, ...rest: tfl.layers.Layer[]) => () =>
  tfl.sequential({ layers: [first, ...rest, tfl.layers.flatten(), dense(3)] });

/** [layer, network]: every layer named in docs/bilevel.md as working with 'exact'. */
const WORKING: readonly [string, () => tfl.LayersModel][] = [
  ['Dense (linear: the fused matMul)', mlpWith()],
  ['Dense, activation relu', denseAct('relu')],
  ['Dense, activation softplus', denseAct('softplus')],
  ['Dense, activation tanh', denseAct('tanh')],
  ['Dense, activation sigmoid', denseAct('sigmoid')],
  ['Dense, activation elu', denseAct('elu')],
  ['Dense, activation selu', denseAct('selu')],
  ['Dense, activation softmax', denseAct('softmax')],
  ['Dense, no bias', () => tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [6], units: 5, activation: 'tanh', useBias: false }), dense(3)] })],
  ['ReLU', mlpWith(tfl.layers.reLU())],
  ['LeakyReLU', mlpWith(tfl.layers.leakyReLU())],
  ['ELU', mlpWith(tfl.layers.elu())],
  ['BatchNormalization (batch statistics)', mlpWith(tfl.layers.batchNormalization())],
  ['LayerNormalization', mlpWith(tfl.layers.activation({ activation: 'tanh' }), tfl.layers.layerNormalization())],
  ['Conv1D', convWith(tfl.layers.conv1d({ inputShape: [6, 2], filters: 3, kernelSize: 3, activation: 'softplus' }))],
  ['Conv2D (the fused conv2d)', convWith(tfl.layers.conv2d({ inputShape: [5, 5, 2], filters: 3, kernelSize: 3 }))],
  ['Conv2D, stride 2, same padding, tanh', convWith(tfl.layers.conv2d({ inputShape: [5, 5, 2], filters: 3, kernelSize: 3, strides: 2, padding: 'same', activation: 'tanh' }))],
  ['DepthwiseConv2D', convWith(tfl.layers.depthwiseConv2d({ inputShape: [5, 5, 2], kernelSize: 3, activation: 'softplus' }))],
  ['SeparableConv2D', convWith(tfl.layers.separableConv2d({ inputShape: [5, 5, 2], filters: 3, kernelSize: 3, activation: 'softplus' }))],
  ['AveragePooling2D', convWith(tfl.layers.conv2d({ inputShape: [6, 6, 2], filters: 3, kernelSize: 3, padding: 'same', activation: 'softplus' }), tfl.layers.averagePooling2d({ poolSize: 2 }))],
  ['MaxPooling2D', convWith(tfl.layers.conv2d({ inputShape: [6, 6, 2], filters: 3, kernelSize: 3, padding: 'same', activation: 'softplus' }), tfl.layers.maxPooling2d({ poolSize: 2 }))],
  ['GlobalAveragePooling2D', () => tfl.sequential({ layers: [tfl.layers.conv2d({ inputShape: [6, 6, 2], filters: 3, kernelSize: 3, activation: 'softplus' }), tfl.layers.globalAveragePooling2d({}), dense(3)] })],
  ['Embedding + Flatten', () => tfl.sequential({ layers: [tfl.layers.embedding({ inputDim: 7, outputDim: 3, inputLength: 4 }), tfl.layers.flatten(), dense(3)] })],
];

const randomLike = (shapes: Readonly<Record<string, readonly number[]>>, seed: number, scale: number): Tree => {
  const rng = new Rng(seed);
  return Object.fromEntries(
    Object.entries(shapes).map(([k, s]) => {
      const n = s.reduce((a, b) => a * b, 1);
      return [k, tf.tidy(() => tf.mul(tf.tensor(rng.fillNormal(new Float32Array(n)), s as number[]), scale))];
    }),
  );
};

const dot = (a: Tree, b: Tree): number =>
  tf.tidy(() => tf.addN(Object.keys(a).map((k) => tf.sum(tf.mul(a[k]!, b[k]!)))).dataSync()[0] as number);

describe("tfjs-layers layers that work with the 'exact' estimator (fromLayersModel, training mode)", () => {
  it.each(WORKING)('%s: H·v matches central differences of gradients and is symmetric', (_name, build) => {
    const m = fromLayersModel(build());
    const { params: own, state } = m.init(0);
    disposeTree(own);
    const params = randomLike(m.paramShapes, 1, 0.5); // seeded, unlike tfjs-layers' initializers
    const x =
      m.inputShape.length === 1 && m.inputShape[0] === 4 // Embedding: token ids
        ? tf.tensor2d([[1, 2, 3, 0], [4, 5, 6, 1], [3, 3, 1, 2], [0, 1, 5, 6]])
        : tf.tidy(() => tf.tensor(new Rng(9).fillNormal(new Float32Array(4 * m.inputShape.reduce((a, b) => a * b, 1))), [4, ...m.inputShape]));
    const y = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d([0, 1, 2, 1], 'int32'), 3), 'float32'));
    const loss = (p: Tree): tf.Scalar =>
      tf.tidy(() => {
        const r = m.apply(p, state, x, { training: true });
        disposeTree(r.state);
        return softmaxCrossEntropy(r.logits, y);
      });
    const keys = Object.keys(params);
    const grad = (p: Tree): Tree => {
      const gs = tf.grads((...ws: tf.Tensor[]) => loss(Object.fromEntries(keys.map((k, i) => [k, ws[i]!]))))(keys.map((k) => p[k]!));
      return Object.fromEntries(keys.map((k, i) => [k, gs[i]!]));
    };
    const v = randomLike(m.paramShapes, 2, 1);
    const u = randomLike(m.paramShapes, 3, 1);
    const before = tf.memory().numTensors;
    const hv = hvp(loss, params, v);
    const hu = hvp(loss, params, u);
    const eps = 1e-3;
    const shifted = (s: number): Tree => tf.tidy(() => Object.fromEntries(keys.map((k) => [k, tf.add(params[k]!, tf.mul(v[k]!, s))])));
    const [pUp, pDn] = [shifted(eps), shifted(-eps)];
    const [gUp, gDn] = [grad(pUp), grad(pDn)];
    const fd = (dot(u, gUp) - dot(u, gDn)) / (2 * eps);
    const exact = dot(u, hv);
    expect(Math.abs(fd)).toBeGreaterThan(1e-3);
    expect(Math.abs(exact - fd)).toBeLessThan(1e-2 * Math.abs(fd));
    expect(Math.abs(exact - dot(v, hu))).toBeLessThan(1e-4 * Math.max(1, Math.abs(exact)));
    [hv, hu, pUp, pDn, gUp, gDn].forEach(disposeTree);
    expect(tf.memory().numTensors).toBe(before);
    [params, state, v, u].forEach(disposeTree);
    [x, y].forEach((t) => t.dispose());
  });

  it('Dropout (training mode) draws a new mask on every pass, so no two passes see the same function', () => {
    const m = fromLayersModel(mlpWith(tfl.layers.dropout({ rate: 0.5 }))());
    const { params, state } = m.init(0);
    const x = tf.ones([8, 6]);
    const a = m.apply(params, state, x, { training: true });
    const b = m.apply(params, state, x, { training: true });
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(a.logits, b.logits))).dataSync()[0])).toBeGreaterThan(1e-3);
    [a.logits, b.logits, x].forEach((t) => t.dispose());
    [a.state, b.state, params, state].forEach(disposeTree);
  });
});
