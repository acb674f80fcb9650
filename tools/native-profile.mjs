#!/usr/bin/env node
// The MLP training step of tools/native-bench.mjs on 'native', op by op: every kernel registered
// for the backend is wrapped with a timer, and one table per variant gives each kernel's calls
// and time per step, the kernels' sum, and the rest of the step (tfjs's engine, tape, tidy and
// the JavaScript between kernels). Variants: the unfused model (MatMul, Add, Relu, logSumExp...)
// and the fused one (@lets/native's dense and softmaxCrossEntropy), in interleaved rounds.
//
//   node tools/native-profile.mjs [--steps 30] [--rounds 3] [--model mlp|cnn] [--threads N]
import { createRequire } from 'node:module';
import { loadavg, availableParallelism } from 'node:os';
import { mkdirSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeData, makeModel, makeParams } from './lib/native-models.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : dflt;
};
const steps = Number(opt('steps', '30'));
const rounds = Number(opt('rounds', '3'));
const kind = opt('model', 'mlp');
const threads = Number(opt('threads', String(availableParallelism())));

const { buildSync } = require('esbuild');
const outDir = join(root, 'packages/native/build/bench');
mkdirSync(outDir, { recursive: true });
const bundle = (name, options) => {
  const out = join(outDir, name), tmp = `${out}.${process.pid}.tmp`;
  buildSync({ bundle: true, platform: 'node', format: 'cjs', outfile: tmp, logLevel: 'warning', ...options });
  renameSync(tmp, out);
  return out;
};
const gradsFile = bundle('tfjs-gradients.cjs', {
  stdin: { contents: "import '@tensorflow/tfjs-core/dist/register_all_gradients';", resolveDir: root, loader: 'js' },
});
const nativeFile = bundle('native.cjs', { entryPoints: [join(root, 'packages/native/src/index.ts')], external: ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-cpu'] });
process.env.LETS_NATIVE_ADDON ??= join(root, 'packages/native/build/Release/lets_native.node');
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
require(gradsFile);
const native = require(nativeFile);
if (!native.registerNativeBackend({ threads })) throw new Error(`native unavailable: ${native.nativeInfo().reason}`);
await tf.setBackend('native');

// Timers around every kernel of the backend.
const stats = new Map();
let counting = false;
for (const config of tf.getKernelsForBackend('native')) {
  const f = config.kernelFunc;
  tf.unregisterKernel(config.kernelName, 'native');
  tf.registerKernel({
    ...config,
    kernelFunc: (args) => {
      if (!counting) return f(args);
      const t0 = process.hrtime.bigint();
      const out = f(args);
      const s = stats.get(config.kernelName) ?? { calls: 0, ns: 0n };
      s.calls++;
      s.ns += process.hrtime.bigint() - t0;
      stats.set(config.kernelName, s);
      return out;
    },
  });
}

function variant(fused) {
  const params = {};
  for (const [name, values, shape] of makeParams(kind)) params[name] = tf.variable(tf.tensor(values, shape), true, `${fused}-${name}`);
  const d = makeData(kind);
  const x = tf.tensor(d.x, d.xShape), y = tf.tensor(d.y, d.yShape);
  const model = makeModel(tf, native, kind, fused);
  const step = () => {
    const l = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => model.loss(params, x, y));
      for (const [name, g] of Object.entries(grads)) {
        const v = Object.values(params).find((p) => p.name === name);
        v.assign(tf.sub(v, tf.mul(g, 0.01)));
      }
      return value;
    });
    l.dataSync();
    l.dispose();
  };
  return { step, dispose: () => tf.dispose([x, y, ...Object.values(params)]) };
}

const results = { false: [], true: [] };
for (let r = 0; r < rounds; r++) {
  for (const fused of [false, true]) {
    const v = variant(fused);
    v.step(); v.step();
    stats.clear();
    counting = true;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < steps; i++) v.step();
    const wall = Number(process.hrtime.bigint() - t0) / 1e6 / steps;
    counting = false;
    v.dispose();
    results[fused].push({ wall, stats: new Map([...stats].map(([k, s]) => [k, { calls: s.calls / steps, ms: Number(s.ns) / 1e6 / steps }])) });
  }
}

console.log(`${kind} step on native, ${native.describeNative()}; load average ${loadavg()[0].toFixed(2)} on ${availableParallelism()} cores; ${steps} steps × ${rounds} rounds, the round with the median step time`);
for (const fused of [false, true]) {
  const sorted = [...results[fused]].sort((a, b) => a.wall - b.wall);
  const med = sorted[sorted.length >> 1];
  const rows = [...med.stats].sort((a, b) => b[1].ms - a[1].ms);
  const kernelMs = rows.reduce((s, [, v]) => s + v.ms, 0);
  const calls = rows.reduce((s, [, v]) => s + v.calls, 0);
  console.log(`\n**${fused ? 'fused (dense + softmaxCrossEntropy)' : 'unfused (tfjs ops)'}**: ${med.wall.toFixed(2)} ms/step, ${calls} kernel calls, kernels ${kernelMs.toFixed(2)} ms, outside kernels ${(med.wall - kernelMs).toFixed(2)} ms\n`);
  console.log('| kernel | calls/step | ms/step |');
  console.log('|---|---|---|');
  for (const [name, v] of rows) console.log(`| ${name} | ${v.calls} | ${v.ms.toFixed(3)} |`);
}
