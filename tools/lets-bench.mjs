#!/usr/bin/env node
// Benchmark: step time of LETS-SAM over SAM, for every estimator, with ρ updated every step
// (k = 1) and every 5 steps (the default k), through @lets/lets's training step function.
// Workload: MLP 784-256-256-10 (ReLU) with runtime's softmax cross-entropy, batch 128 (train and
// validation), SGD with momentum 0.9 as the outer optimizer, ρ₀ = 0.05.
// Each configuration: 2 warm-up steps, then the MEAN over N steps (N a multiple of every k, so
// the ρ-update cost is amortized as in training), synchronised by reading the loss every step;
// configurations are interleaved over R rounds and the median round is reported.
//
// The first row is plain SGD (same outer optimizer, one gradient per step), so SAM / SGD is
// measured in the same rounds. On 'native' the dense layers and the loss are @lets/native's
// fused dense and softmaxCrossEntropy (--unfused: tfjs ops; other backends always tfjs ops).
//
// Usage: node tools/lets-bench.mjs [--backend wasm|cpu|native] [--steps 20] [--rounds 3] [--unfused] [--json]
// The TypeScript sources are bundled on the fly with esbuild (no build step needed).
import { args, loadPackages, opt, require } from './lib/bench.mjs';

const backend = opt('backend', 'wasm');
const steps = Number(opt('steps', '20'));
const rounds = Number(opt('rounds', '3'));
const asJson = args.includes('--json');

const b = await loadPackages(['tree', 'optim', 'sam', 'lets', 'runtime', 'native'], 'lets-bench');
const tf = require('@tensorflow/tfjs-core');
const info = await b.runtime.initRuntime({ backend });
const fused = info.backend === 'native' && !args.includes('--unfused');
if (tf.backend().firstUse !== undefined) tf.backend().firstUse = false;

const rng = new b.runtime.Rng(1);
const dims = [784, 256, 256, 10];
const init = () => {
  const p = {};
  for (let i = 0; i < 3; i++) {
    p[`l${i}/w`] = rng.normal([dims[i], dims[i + 1]], 0, Math.sqrt(2 / dims[i]));
    p[`l${i}/b`] = tf.zeros([dims[i + 1]]);
  }
  return p;
};
const params0 = init();
const model = {
  init: () => ({ params: b.tree.clone(params0), state: {} }),
  apply: (p, s, x) => tf.tidy(() => {
    let h = x;
    for (let i = 0; i < 3; i++) {
      if (fused) {
        h = b.native.dense(h, p[`l${i}/w`], p[`l${i}/b`], i < 2 ? 'relu' : 'linear');
        continue;
      }
      h = tf.add(tf.matMul(h, p[`l${i}/w`]), p[`l${i}/b`]);
      if (i < 2) h = tf.relu(h);
    }
    return { logits: h, state: {} };
  }),
};
const loss = fused ? (logits, y) => b.native.softmaxCrossEntropy(logits, y) : undefined;
const batchOf = () => ({ x: rng.normal([128, 784]), y: tf.cast(tf.oneHot(rng.randint([128], 10), 10), 'float32') });
const train = batchOf();
const val = batchOf();

const time = (optimizer, n) => {
  const step = b.lets.makeTrainStep({ model, optimizer, ...(loss ? { loss } : {}) });
  let state = b.lets.initTrainState(model, optimizer, 0);
  for (let i = 0; i < 2; i++) state = step(state, train, val).state; // warm-up (reads the loss: synchronous)
  const t0 = performance.now();
  let evals = 0;
  for (let i = 0; i < n; i++) {
    const r = step(state, train, val);
    state = r.state;
    evals += r.metrics.lets?.gradEvals ?? 0;
  }
  const ms = (performance.now() - t0) / n;
  b.lets.disposeTrainState(state);
  return { ms, evals: evals / n };
};

const outer = () => b.optim.sgd(0.1, { momentum: 0.9 });
// Configurations are timed in interleaved rounds (load drifts on a shared machine); each figure
// is the median over rounds of the per-round mean.
const configs = [
  { method: 'SGD', estimator: '-', k: '-', make: () => outer(), n: steps },
  { method: 'SAM', estimator: '-', k: '-', make: () => b.sam.sam(outer(), { rho: 0.05 }), n: steps },
];
for (const estimator of ['exact', 'fd', 'fisher', 'identity']) {
  for (const k of [1, 5]) {
    configs.push({ method: 'LETS-SAM', estimator, k, n: Math.ceil(steps / k) * k, make: () => b.lets.lets(b.sam.sam(outer(), { rho: 0.05 }), { estimator, every: k }) });
  }
}
const times = configs.map(() => []);
const evals = configs.map(() => 2);
for (let r = 0; r < rounds; r++) {
  configs.forEach((c, i) => {
    const t = time(c.make(), c.n);
    times[i].push(t.ms);
    if (c.method === 'LETS-SAM') evals[i] = t.evals;
  });
}
const median = (a) => { const s = [...a].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const sgdMs = median(times[0]);
const samMs = median(times[1]);
evals[0] = 1;
const rows = configs.map((c, i) => ({ method: c.method, estimator: c.estimator, k: c.k, ms: median(times[i]), ratio: median(times[i]) / samMs, evals: evals[i] }));
const tfjsBackend = info.backend;
const load = (await import('node:os')).loadavg()[0];
const where = tfjsBackend === 'native' ? `, ${b.native.describeNative()}` : '';
if (asJson) console.log(JSON.stringify({ backend: tfjsBackend, fused, steps, rounds, loadavg1: load, samOverSgd: samMs / sgdMs, rows }, null, 2));
else {
  console.log(`backend ${tfjsBackend}${where}${fused ? ', fused dense + loss' : ''}; load average ${load.toFixed(2)}`);
  console.log(`MLP 784-256-256-10 ReLU, batch 128; median over ${rounds} rounds of the mean of ${steps}+ steps (2 warm-up steps each); SAM / SGD = ${(samMs / sgdMs).toFixed(2)}`);
  console.log('| method | estimator | k | ms/step | × SAM | gradient evals/step |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.method} | ${r.estimator} | ${r.k} | ${r.ms.toFixed(1)} | ${r.ratio.toFixed(2)} | ${r.evals.toFixed(2)} |`);
}
