// Benchmark: one training step of every @lets/sam preset around sgd(momentum 0.9), against the
// plain outer step and against the cost of its gradient evaluations alone, on an MLP
// 784-256-256-10 with a batch of 128 (softmax cross-entropy) on the tfjs cpu backend.
//
//   node tools/sam-bench.mjs [--reps 5] [--warmup 1] [--only sam,gam] [--out file.json]
//
// It bundles packages/sam/src (with @lets/tree, @lets/optim, @lets/runtime) with esbuild on the
// fly (tfjs stays external so the bench and the bundle share one engine) into tmp/sam-bench/.
//
// What is timed (wall clock, median of `reps` after `warmup`): the caller's clean pass plus
// `opt.update(...)` plus applyUpdates, reading one element of the new params so the work is
// done. "overhead" is step time minus gradEvals × the time of one gradient evaluation (measured
// just before each preset; mSAM's micro-batch passes count as 1/4 each): what the wrapper,
// pipeline, combiner and outer optimizer cost on top of the passes. On a shared machine the
// numbers are noisy: use --reps 7 or more.
import { mkdirSync, writeFileSync, renameSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { loadPackages, opt, require, root } from './lib/bench.mjs';
import os from 'node:os';

const reps = Number(opt('reps', '5'));
const warmup = Number(opt('warmup', '1'));
const only = opt('only', '').split(',').filter(Boolean);
const outFile = opt('out', undefined);
for (const [n, v, lo] of [['reps', reps, 1], ['warmup', warmup, 0]]) {
  if (!Number.isInteger(v) || v < lo) {
    console.error(`sam-bench: --${n} must be an integer ≥ ${lo}, got ${v}`);
    process.exit(2);
  }
}

const { sam: S, optim, tree: T, runtime } = await loadPackages(['sam', 'optim', 'tree', 'runtime'], 'sam-bench');
const { initRuntime } = runtime;
const tf = require('@tensorflow/tfjs-core');
await initRuntime({ backend: 'cpu' });
tf.backend().firstUse = false;

// the model and a fixed batch
const B = 128;
const x = tf.randomNormal([B, 784], 0, 1, 'float32', 1);
const labels = tf.oneHot(tf.tensor1d(Array.from({ length: B }, (_, i) => i % 10), 'int32'), 10);
const init = () => ({
  'l1/kernel': tf.randomNormal([784, 256], 0, 0.05, 'float32', 2), 'l1/bias': tf.zeros([256]),
  'l2/kernel': tf.randomNormal([256, 256], 0, 0.06, 'float32', 3), 'l2/bias': tf.zeros([256]),
  'l3/kernel': tf.randomNormal([256, 10], 0, 0.06, 'float32', 4), 'l3/bias': tf.zeros([10]),
});
const names = Object.keys(init());
const lossOf = (xb, yb, ws) => {
  const p = Object.fromEntries(names.map((k, i) => [k, ws[i]]));
  const h1 = tf.relu(tf.add(tf.matMul(xb, p['l1/kernel']), p['l1/bias']));
  const h2 = tf.relu(tf.add(tf.matMul(h1, p['l2/kernel']), p['l2/bias']));
  return tf.losses.softmaxCrossEntropy(yb, tf.add(tf.matMul(h2, p['l3/kernel']), p['l3/bias']));
};
const gradFnOn = (xb, yb) => (params) => {
  const { value, grads } = tf.valueAndGrads((...ws) => lossOf(xb, yb, ws))(names.map((k) => params[k]));
  return { loss: value, grads: Object.fromEntries(names.map((k, i) => [k, grads[i]])) };
};
const gradFn = gradFnOn(x, labels);
const xs = tf.split(x, 4);
const ys = tf.split(labels, 4);
const microGradFns = xs.map((xb, i) => gradFnOn(xb, ys[i]));
const sampleLossFn = (p) => tf.tidy(() => {
  const ws = names.map((k) => p[k]);
  const h1 = tf.relu(tf.add(tf.matMul(x, ws[0]), ws[1]));
  const h2 = tf.relu(tf.add(tf.matMul(h1, ws[2]), ws[3]));
  const logits = tf.add(tf.matMul(h2, ws[4]), ws[5]);
  return tf.neg(tf.sum(tf.mul(labels, tf.logSoftmax(logits)), 1));
});
const subsetGradFn = (p, idx) => {
  const xb = tf.gather(x, idx);
  const yb = tf.gather(labels, idx);
  const r = gradFnOn(xb, yb)(p);
  xb.dispose();
  yb.dispose();
  return r;
};
const extra = { gradFn, microGradFns, sampleLossFn, subsetGradFn };

const median = (a) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
const timeIt = (fn) => {
  const out = [];
  for (let i = 0; i < warmup + reps; i++) {
    const t0 = performance.now();
    fn();
    const dt = performance.now() - t0;
    if (i >= warmup) out.push(dt);
  }
  return median(out);
};

// one full-batch gradient evaluation (re-measured before every preset: the machine may be shared)
const p0 = init();
const timeGrad = () =>
  timeIt(() => {
    const r = gradFn(p0);
    r.loss.dataSync();
    T.dispose(r.grads);
    r.loss.dispose();
  });
const gradMs = timeGrad();

const outer = () => optim.sgd(0.01, { momentum: 0.9 });
const presets = {
  plain: (o) => o,
  sam: (o) => S.sam(o), asam: (o) => S.asam(o), fisherSam: (o) => S.fisherSam(o), gsam: (o) => S.gsam(o),
  esam: (o) => S.esam(o), samOn: (o) => S.samOn(o), vasso: (o) => S.vasso(o), friendlySam: (o) => S.friendlySam(o),
  lookSam: (o) => S.lookSam(o, { k: 5 }), msam: (o) => S.msam(o, { microBatches: 4 }), gam: (o) => S.gam(o),
  randomSam: (o) => S.randomSam(o), stableSam: (o) => S.stableSam(o),
};
const results = [];
console.log(`sam-bench: MLP 784-256-256-10, batch ${B}, cpu backend, ${os.cpus().length} cores (load ${os.loadavg()[0].toFixed(1)}); one gradient evaluation ${gradMs.toFixed(1)} ms`);
for (const [name, make] of Object.entries(presets)) {
  if (only.length > 0 && !only.includes(name)) continue;
  const g = timeGrad();
  const o = make(outer());
  let params = init();
  let state = o.init(params);
  let evals = [];
  const ms = timeIt(() => {
    const clean = gradFn(params);
    const [u, next] = o.update(clean.grads, state, params, { ...extra, loss: clean.loss });
    const p2 = optim.applyUpdates(params, u);
    p2['l3/bias'].dataSync();
    evals.push(next.report ? next.report.gradEvals : 1);
    [u, clean.grads, params].forEach(T.dispose);
    clean.loss.dispose();
    T.disposeState(state);
    params = p2;
    state = next;
  });
  const meanEvals = evals.slice(warmup).reduce((s, e) => s + e, 0) / reps;
  // mSAM's extra evaluations run on micro-batches of B/4: count them as full-batch equivalents
  const fullEquivalents = name === 'msam' ? 1 + (meanEvals - 1) / 4 : meanEvals;
  T.dispose(params);
  T.disposeState(state);
  const row = { name, msPerStep: ms, gradEvals: meanEvals, gradMs: g, overheadMs: ms - fullEquivalents * g };
  results.push(row);
  console.log(`  ${name.padEnd(12)} ${ms.toFixed(1).padStart(8)} ms/step  ${meanEvals.toFixed(1)} gradient evaluations (one: ${g.toFixed(1)} ms)  overhead ${row.overheadMs.toFixed(1)} ms`);
}
if (outFile) {
  const tmp = `${outFile}.tmp`;
  writeFileSync(tmp, JSON.stringify({ gradMs, batch: B, results }, null, 2));
  const fd = openSync(tmp, 'r');
  fsyncSync(fd);
  closeSync(fd);
  renameSync(tmp, outFile);
}
