#!/usr/bin/env node
// The training steps of tools/lets-bench.mjs (SGD, SAM, LETS-SAM at its defaults) op by op:
// every kernel registered for the backend is wrapped with a timer, and one table per method
// gives each kernel's calls and time per step, the kernels' sum, and the rest of the step
// (tfjs's engine, tape, tidy scopes and the JavaScript between kernels). Methods run in
// interleaved rounds; each table is the round with the median step time. The last section
// subtracts: SAM − 2·SGD is what @lets/sam adds beyond its two gradient evaluations.
//
//   node tools/sam-profile.mjs [--backend native] [--steps 20] [--rounds 3] [--unfused]
import { benchMlp } from './lib/bench-mlp.mjs';
import { loadavg, availableParallelism } from 'node:os';
import { args, loadPackages, median, opt, require } from './lib/bench.mjs';

const backend = opt('backend', 'native');
const steps = Number(opt('steps', '20'));
const rounds = Number(opt('rounds', '3'));

const b = await loadPackages(['tree', 'optim', 'sam', 'lets', 'train', 'runtime', 'native'], 'sam-profile');
const tf = require('@tensorflow/tfjs-core');
const info = await b.runtime.initRuntime({ backend });
const fused = info.backend === 'native' && !args.includes('--unfused');
if (tf.backend().firstUse !== undefined) tf.backend().firstUse = false;

// Timers around every kernel of the backend.
const stats = new Map();
let counting = false;
for (const config of tf.getKernelsForBackend(info.backend)) {
  const f = config.kernelFunc;
  tf.unregisterKernel(config.kernelName, info.backend);
  tf.registerKernel({
    ...config,
    kernelFunc: (a) => {
      if (!counting) return f(a);
      const t0 = process.hrtime.bigint();
      const out = f(a);
      const s = stats.get(config.kernelName) ?? { calls: 0, ns: 0n };
      s.calls++;
      s.ns += process.hrtime.bigint() - t0;
      stats.set(config.kernelName, s);
      return out;
    },
  });
}

const { model, loss, train, val } = benchMlp(b, tf, fused);

const outer = () => b.optim.sgd(0.1, { momentum: 0.9 });
const methods = [
  { name: 'SGD', make: () => outer() },
  { name: 'SAM', make: () => b.sam.sam(outer(), { rho: 0.05 }) },
  { name: 'LETS-SAM (defaults)', make: () => b.lets.lets(b.sam.sam(outer(), { rho: 0.05 })) },
  // ρ held from its first update on (lets-bench's 'held' row): what a step costs once ρ is held.
  { name: 'LETS-SAM (held)', make: () => b.lets.lets(b.sam.sam(outer(), { rho: 0.05 }), { totalSteps: 1 }) },
];
const n = Math.ceil(steps / 5) * 5;
const results = methods.map(() => []);
for (let r = 0; r < rounds; r++) {
  methods.forEach((m, i) => {
    const optimizer = m.make();
    const step = b.train.makeTrainStep({ model, optimizer, ...(loss ? { loss } : {}) });
    let state = b.train.initTrainState(model, optimizer, 0);
    for (let k = 0; k < 2; k++) state = step(state, train, val).state;
    stats.clear();
    counting = true;
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < n; k++) state = step(state, train, val).state;
    const wall = Number(process.hrtime.bigint() - t0) / 1e6 / n;
    counting = false;
    b.train.disposeTrainState(state);
    results[i].push({ wall, stats: new Map([...stats].map(([k, s]) => [k, { calls: s.calls / n, ms: Number(s.ns) / 1e6 / n }])) });
  });
}

const where = info.backend === 'native' ? `, ${b.native.describeNative()}` : '';
console.log(`MLP 784-256-256-10 training step through @lets/train's makeTrainStep on ${info.backend}${where}${fused ? ', fused dense + loss' : ''}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} on ${availableParallelism()} cores; ${n} steps × ${rounds} rounds, the round with the median step time`);
const summary = [];
methods.forEach((m, i) => {
  const sorted = [...results[i]].sort((a, c) => a.wall - c.wall);
  const med = sorted[sorted.length >> 1];
  const rows = [...med.stats].sort((a, c) => c[1].ms - a[1].ms);
  const kernelMs = rows.reduce((s, [, v]) => s + v.ms, 0);
  const calls = rows.reduce((s, [, v]) => s + v.calls, 0);
  summary.push({ name: m.name, wall: median(results[i].map((x) => x.wall)), kernelMs, calls, stats: med.stats });
  console.log(`\n**${m.name}**: ${med.wall.toFixed(2)} ms/step, ${calls.toFixed(1)} kernel calls, kernels ${kernelMs.toFixed(2)} ms, outside kernels ${(med.wall - kernelMs).toFixed(2)} ms\n`);
  console.log('| kernel | calls/step | ms/step |');
  console.log('|---|---|---|');
  for (const [name, v] of rows) console.log(`| ${name} | ${v.calls.toFixed(1)} | ${v.ms.toFixed(3)} |`);
});
const [sgd, sam, letsSam, held] = summary;
console.log(`\nSAM / SGD = ${(sam.wall / sgd.wall).toFixed(2)}, LETS-SAM / SAM = ${(letsSam.wall / sam.wall).toFixed(2)} (medians over rounds)`);
console.log(`SAM − 2·SGD: ${(sam.wall - 2 * sgd.wall).toFixed(2)} ms, ${(sam.calls - 2 * sgd.calls).toFixed(1)} kernel calls (${(sam.kernelMs - 2 * sgd.kernelMs).toFixed(2)} ms in kernels)`);
const names = new Set([...sam.stats.keys(), ...sgd.stats.keys()]);
const extra = [...names].map((k) => {
  const a = sam.stats.get(k) ?? { calls: 0, ms: 0 };
  const c = sgd.stats.get(k) ?? { calls: 0, ms: 0 };
  return [k, a.calls - 2 * c.calls, a.ms - 2 * c.ms];
}).filter(([, calls]) => calls !== 0).sort((x, y) => y[1] - x[1]);
console.log('| kernel | SAM − 2·SGD calls/step |');
console.log('|---|---|');
for (const [k, calls] of extra) console.log(`| ${k} | ${calls.toFixed(1)} |`);
// What one method's step adds to another's, kernel by kernel.
function difference(label, short, a, c) {
  console.log(`\n${label}: ${(a.wall - c.wall).toFixed(2)} ms, ${(a.calls - c.calls).toFixed(1)} kernel calls (${(a.kernelMs - c.kernelMs).toFixed(2)} ms in kernels)`);
  const rows = [...new Set([...a.stats.keys(), ...c.stats.keys()])].map((k) => {
    const x = a.stats.get(k) ?? { calls: 0, ms: 0 };
    const y = c.stats.get(k) ?? { calls: 0, ms: 0 };
    return [k, x.calls - y.calls, x.ms - y.ms];
  }).filter(([, calls]) => Math.abs(calls) > 1e-9).sort((x, y) => y[1] - x[1]);
  console.log(`| kernel | ${short} calls/step | ms/step |`);
  console.log('|---|---|---|');
  for (const [k, calls, ms] of rows) console.log(`| ${k} | ${calls.toFixed(1)} | ${ms.toFixed(3)} |`);
}
difference('LETS-SAM − SAM', 'LETS-SAM − SAM', letsSam, sam);
difference('LETS-SAM (held) − SAM', 'held − SAM', held, sam);
