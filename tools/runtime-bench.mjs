#!/usr/bin/env node
// Benchmark: one SGD step (loss, gradients by tf.variableGrads, assign) of
//   MLP 784-256-256-10 (ReLU), batch 128, and
//   CNN conv3x3(3→16, same)+b → ReLU → conv3x3(16→32, same)+b → ReLU → avgPool 2×2 → dense 10, 32×32×3, batch 128,
//   MNIST CNN conv3x3(1→16)+b → ReLU → conv3x3(16→32, stride 2)+b → ReLU → avgPool 2×2 → dense 10, 28×28×1, batch 128,
// plus a Hessian-vector product of the MLP, on every backend @lets/runtime can start here.
// Median of N timed steps after one warm-up (synchronised by reading the loss).
//
// Usage: node tools/runtime-bench.mjs [--backends wasm,cpu] [--iters 10] [--models mlp,cnn,mnist,hvp] [--json]
// The runtime's TypeScript sources are bundled on the fly with esbuild (no build step needed).
import { args, loadPackages, median, opt, require } from './lib/bench.mjs';

const iters = Number(opt('iters', '10'));
const models = opt('models', 'mlp,cnn,mnist,hvp').split(',');
const asJson = args.includes('--json');

const { runtime: rt } = await loadPackages(['runtime'], 'runtime-bench');
const tf = require('@tensorflow/tfjs-core');


function mlp() {
  const r = new rt.Rng(1);
  const p = {
    w1: tf.variable(r.normal([784, 256], 0, Math.sqrt(2 / 784))), b1: tf.variable(tf.zeros([256])),
    w2: tf.variable(r.normal([256, 256], 0, Math.sqrt(2 / 256))), b2: tf.variable(tf.zeros([256])),
    w3: tf.variable(r.normal([256, 10], 0, Math.sqrt(2 / 256))), b3: tf.variable(tf.zeros([10])),
  };
  const x = r.normal([128, 784]);
  const y = tf.cast(tf.oneHot(r.randint([128], 10), 10), 'float32');
  const forward = (w) => {
    const h1 = tf.relu(tf.add(tf.matMul(x, w.w1), w.b1));
    const h2 = tf.relu(tf.add(tf.matMul(h1, w.w2), w.b2));
    return tf.add(tf.matMul(h2, w.w3), w.b3);
  };
  return { name: 'MLP 784-256-256-10', p, loss: (w) => rt.softmaxCrossEntropy(forward(w), y), data: [x, y] };
}

function cnn(kind) {
  const r = new rt.Rng(2);
  const [H, C, s2] = kind === 'mnist' ? [28, 1, 2] : [32, 3, 1];
  const o = Math.ceil(H / s2) / 2;
  const he = (shape, fanIn) => tf.variable(r.normal(shape, 0, Math.sqrt(2 / fanIn)));
  const p = {
    k1: he([3, 3, C, 16], 9 * C), c1: tf.variable(tf.zeros([16])),
    k2: he([3, 3, 16, 32], 144), c2: tf.variable(tf.zeros([32])),
    wd: he([o * o * 32, 10], o * o * 32), bd: tf.variable(tf.zeros([10])),
  };
  const x = r.normal([128, H, H, C]);
  const y = tf.cast(tf.oneHot(r.randint([128], 10), 10), 'float32');
  const forward = (w) => {
    let h = tf.relu(tf.add(tf.conv2d(x, w.k1, 1, 'same'), w.c1));
    h = tf.relu(tf.add(tf.conv2d(h, w.k2, s2, 'same'), w.c2));
    h = tf.avgPool(h, 2, 2, 'valid');
    return tf.add(tf.matMul(tf.reshape(h, [128, o * o * 32]), w.wd), w.bd);
  };
  const name = kind === 'mnist' ? 'CNN c16-c32s2-pool-d10 28x28x1' : 'CNN c16-c32-pool-d10 32x32x3';
  return { name, p, loss: (w) => rt.softmaxCrossEntropy(forward(w), y), data: [x, y] };
}

async function sgdStep(m) {
  const vars = Object.values(m.p);
  const l = tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => m.loss(m.p), vars);
    for (const v of vars) v.assign(tf.sub(v, tf.mul(grads[v.name], 0.01)));
    return value;
  });
  const out = (await l.data())[0];
  l.dispose();
  return out;
}

async function hvpStep(m) {
  const v = tf.tidy(() => Object.fromEntries(Object.entries(m.p).map(([k, t]) => [k, tf.onesLike(t)])));
  const h = rt.hvp(m.loss, m.p, v);
  await Object.values(h)[0].data();
  tf.dispose([...Object.values(h), ...Object.values(v)]);
}

async function time(fn, n, maxSeconds) {
  const first = performance.now(); await fn(); const warm = performance.now() - first;
  const t = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const s = performance.now(); await fn(); t.push(performance.now() - s);
    if ((performance.now() - t0) / 1000 > maxSeconds) break;
  }
  return { median: median(t), n: t.length, warm };
}

const wanted = opt('backends', undefined);
const candidates = wanted ? wanted.split(',') : rt.availableBackends ? await rt.availableBackends() : ['wasm', 'cpu'];
const rows = [];
for (const backend of candidates) {
  let info;
  try { info = await rt.initRuntime({ backend }); } catch (e) { rows.push({ backend, model: '-', error: String(e.message).split('\n')[0] }); continue; }
  const slow = backend === 'cpu';
  for (const which of models) {
    const m = which === 'mlp' || which === 'hvp' ? mlp() : cnn(which === 'mnist' ? 'mnist' : 'cifar');
    const n = slow && which !== 'mlp' ? 2 : iters;
    try {
      let first;
      const r = which === 'hvp'
        ? await time(() => hvpStep(m), n, 60)
        : await time(async () => { const l = await sgdStep(m); first ??= l; }, n, slow ? 120 : 60);
      rows.push({ backend: info.backend, model: which === 'hvp' ? `HVP of ${m.name}` : m.name, ms: +r.median.toFixed(1), n: r.n, firstMs: +r.warm.toFixed(0), ...(first !== undefined ? { firstLoss: +first.toFixed(4) } : {}) });
    } catch (e) {
      rows.push({ backend: info.backend, model: m.name, error: String(e.message).split('\n')[0] });
    }
    tf.dispose([...Object.values(m.p), ...m.data]);
  }
}
if (asJson) console.log(JSON.stringify(rows));
else {
  console.log('| backend | workload | median ms/step | steps timed | first step ms | loss after warm-up step |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.backend} | ${r.model} | ${r.error ? 'ERROR: ' + r.error : r.ms} | ${r.n ?? ''} | ${r.firstMs ?? ''} | ${r.firstLoss ?? ''} |`);
}
process.exit(0);
