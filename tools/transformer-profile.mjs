#!/usr/bin/env node
// One loss-and-gradient pass of @lets/models' transformer() (seq 128, d 64, 4 heads, 2 layers)
// at batch 128, op by op: every kernel registered for the backend is wrapped with a timer; after
// one warm-up pass, prints the pass's time and the kernels that took longest (time, calls).
//
//   node tools/transformer-profile.mjs [native|cpu|wasm] [--top 15]
import os from 'node:os';
import { args, loadPackages, opt, require } from './lib/bench.mjs';

const b = await loadPackages(['runtime', 'models'], 'transformer-profile');
const tf = require('@tensorflow/tfjs-core');
const backend = args[0] !== undefined && !args[0].startsWith('--') ? args[0] : 'native';
const top = Number(opt('top', '15'));
await b.runtime.initRuntime({ backend });
const m = b.models.transformer();
const { params, state } = m.init(1);
const x = tf.tidy(() => tf.cast(tf.floor(tf.mul(tf.randomUniform([128, 128]), 9999)), 'int32'));
const y = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(Array.from({ length: 128 }, (_, i) => i % 2), 'int32'), 2), 'float32'));
const times = new Map();
for (const k of tf.getKernelsForBackend(tf.getBackend())) {
  const f = k.kernelFunc;
  k.kernelFunc = (a) => {
    const t0 = performance.now();
    const r = f(a);
    const e = times.get(k.kernelName) ?? [0, 0];
    e[0] += performance.now() - t0;
    e[1] += 1;
    times.set(k.kernelName, e);
    return r;
  };
}
const keys = Object.keys(params);
const step = () => tf.tidy(() => {
  const { value } = tf.valueAndGrads((...ws) => {
    const p = Object.fromEntries(keys.map((k, i) => [k, ws[i]]));
    return b.runtime.softmaxCrossEntropy(m.apply(p, state, x, { training: true, seed: 1 }).logits, y);
  })(keys.map((k) => params[k]));
  value.dataSync();
});
step();
times.clear();
const load0 = os.loadavg()[0];
const t0 = performance.now();
step();
const total = performance.now() - t0;
console.log(`${backend}: step ${total.toFixed(0)} ms (load ${load0.toFixed(2)} → ${os.loadavg()[0].toFixed(2)}, ${os.cpus()[0]?.model ?? 'unknown CPU'})`);
for (const [k, [t, n]] of [...times].sort((p, q) => q[1][0] - p[1][0]).slice(0, top)) console.log(`${k} ${t.toFixed(0)} ms x${n}`);
