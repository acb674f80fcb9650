// Benchmarks @lets/models: init time (JS PRNG) and the time of one training-mode
// loss-and-gradient pass (what one SGD step costs; a SAM step is about two of these) and one
// eval forward pass, per model, on a chosen backend.
//
//   npx nx run @lets/models:build   (builds runtime, tree and models into dist/)
//   node tools/models-bench.mjs [--backend wasm|cpu] [--batch 128] [--iters 10] [--models cnn,mlp] [--eval-only]
//
// Models: mlp (784-256-256-10), cnn (default LeNet-style, 28x28x1), cnn5 (5x5 kernels),
// cnn-cifar (32x32x3), resnet18, wrn-16-8, wrn-28-10, transformer (seq 128, d 64). Prints one
// JSON line per model: {model, backend, batch, params, initMs, gradMs (median), evalMs (median)}.
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const tf = require('@tensorflow/tfjs-core');
const { initRuntime, softmaxCrossEntropy } = require('@lets/runtime');
const models = require('@lets/models');

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const backend = arg('backend', 'wasm');
const batch = Number(arg('batch', '128'));
const iters = Number(arg('iters', '10'));
const names = arg('models', 'mlp,cnn').split(',');
const gradToo = !process.argv.includes('--eval-only');

const make = {
  mlp: () => models.mlp(),
  cnn: () => models.cnn(),
  cnn5: () => models.cnn({ kernelSize: 5 }),
  'cnn-cifar': () => models.cnn({ inputShape: [32, 32, 3] }),
  resnet18: () => models.resnet18(),
  'wrn-16-8': () => models.wideResnet({ depth: 16, widen: 8 }),
  'wrn-28-10': () => models.wideResnet({ depth: 28, widen: 10 }),
  transformer: () => models.transformer(),
};

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

await initRuntime({ backend });
if (tf.getBackend() === 'cpu') tf.backend().firstUse = false;
for (const name of names) {
  const m = make[name]();
  let t0 = performance.now();
  const { params, state } = m.init(0);
  const initMs = performance.now() - t0;
  const x = m.inputDtype === 'int32'
    ? tf.randomUniform([batch, ...m.inputShape], 0, 1000, 'int32')
    : tf.randomNormal([batch, ...m.inputShape]);
  const y = tf.cast(tf.oneHot(tf.randomUniform([batch], 0, m.numClasses, 'int32'), m.numClasses), 'float32');
  const keys = Object.keys(params);
  const step = () => {
    let kept = {};
    const { value, grads } = tf.valueAndGrads((...ws) => {
      const r = m.apply(Object.fromEntries(keys.map((k, i) => [k, ws[i]])), state, x, { training: true, seed: 1 });
      kept = Object.fromEntries(Object.entries(r.state).map(([k, t]) => [k, tf.keep(t)]));
      return softmaxCrossEntropy(r.logits, y);
    })(keys.map((k) => params[k]));
    value.dataSync();
    [value, ...grads, ...Object.values(kept)].forEach((t) => t.dispose());
  };
  const evalPass = () => {
    const r = m.apply(params, state, x, { training: false });
    r.logits.dataSync();
    [r.logits, ...Object.values(r.state)].forEach((t) => t.dispose());
  };
  const time = (f) => {
    f(); // warm-up
    const ts = [];
    for (let i = 0; i < iters; i++) {
      t0 = performance.now();
      f();
      ts.push(performance.now() - t0);
    }
    return median(ts);
  };
  const before = tf.memory().numTensors;
  const gradMs = gradToo ? time(step) : null;
  const evalMs = time(evalPass);
  const leaked = tf.memory().numTensors - before;
  console.log(JSON.stringify({
    model: name, backend: tf.getBackend(), batch, params: models.countParams(m),
    initMs: Math.round(initMs), gradMs: gradMs === null ? null : Math.round(gradMs * 10) / 10, evalMs: Math.round(evalMs * 10) / 10, leaked,
  }));
  [x, y, ...Object.values(params), ...Object.values(state)].forEach((t) => t.dispose());
}
