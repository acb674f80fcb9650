// Benchmark: one `adam` update (@lets/optim) on a ResNet-18-sized parameter tree
// (CIFAR ResNet-18: 62 tensors, 11,173,962 parameters) on the tfjs cpu and wasm backends.
//
//   node tools/optim-bench.mjs [--backends cpu,wasm] [--reps 5] [--warmup 1] [--out file.json]
//
// It bundles packages/optim/src with esbuild on the fly (no build needed; tfjs stays external so
// the bench and the bundle share one engine) into tmp/optim-bench/.
//
// What is timed: `opt.update(grads, state, params)` of `adam(1e-3)` = chain(scaleByAdam,
// scaleByLearningRate), in two variants: "fused" (the default: scaleByAdam's one-pass kernel,
// which @lets/runtime registers for cpu and wasm; bundled here from its kernel file) and "composed" (`adam(1e-3, { fused: false })`: tfjs element-wise
// ops, the path used under a gradient tape and on other backends). Wall clock, until its outputs are computed (cpu and wasm run ops
// synchronously; we still read one element of the last output to be sure), then the outputs
// and the old state are disposed outside the timed region. Median of `reps` after `warmup`.
// Also the process CPU time (user + system) of the same region: both backends run on one
// thread here, so on a shared machine CPU time is the steadier measure of the work, and the
// GB/s columns are computed from it; wall time is reported beside it.
//
// What is counted as bytes moved (float32, N parameters):
// - "minimal": the traffic a fused Adam kernel needs: read g, m, v and write m', v', u:
//   6 × 4 bytes per parameter (24·N bytes).
// - "as executed": the traffic of the kernels actually run (each reads its tensor inputs and
//   writes its output; scalar operands not counted).
//   fused: the Adam kernel (3 reads, 3 writes) + −lr·u (1 r, 1 w) = 8 × 4 = 32 bytes per parameter.
//   composed: m' (mul, mul, add: 4 reads, 3 writes), v' (square, mul, mul, add: 5 r, 4 w),
//   u (sqrt, add, div, mul: 5 r, 4 w), −lr·u (1 r, 1 w) = 15 reads + 12 writes = 27 × 4 =
//   108 bytes per parameter. See packages/optim/src/scaleByAdam.ts.
import { build } from 'esbuild';
import { mkdirSync, writeFileSync, renameSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : dflt;
};
const backends = opt('backends', 'cpu,wasm').split(',').filter(Boolean);
const reps = Number(opt('reps', '5'));
const warmup = Number(opt('warmup', '1'));
const outFile = opt('out', undefined);
for (const [n, v] of [['reps', reps], ['warmup', warmup]]) {
  if (!Number.isInteger(v) || v < 0 || (n === 'reps' && v < 1)) {
    console.error(`optim-bench: --${n} must be a ${n === 'reps' ? 'positive' : 'non-negative'} integer, got ${v}`);
    process.exit(2);
  }
}

// Bundle the TypeScript sources (with @lets/tree) to CommonJS; tfjs and fp-ts stay external.
const bundle = join(root, 'tmp/optim-bench/optim.cjs');
mkdirSync(dirname(bundle), { recursive: true });
await build({
  entryPoints: [join(root, 'packages/optim/src/index.ts')],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  outfile: bundle,
  external: ['@tensorflow/*', 'fp-ts', 'fp-ts/*'],
  alias: { '@lets/tree': join(root, 'packages/tree/src/index.ts') },
  logLevel: 'warning',
});
// The fused kernel is @lets/runtime's (optim finds it in tfjs's kernel registry by name).
const kernelBundle = join(root, 'tmp/optim-bench/fused_adam.cjs');
await build({
  entryPoints: [join(root, 'packages/runtime/src/kernels/fused_adam.ts')],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  outfile: kernelBundle,
  external: ['@tensorflow/*'],
  logLevel: 'warning',
});
const require = createRequire(join(root, 'package.json'));
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
const optim = require(bundle);

// CIFAR ResNet-18 (He et al. 2016; 3×3 stem, [2,2,2,2] basic blocks, 10 classes).
const resnet18Shapes = () => {
  const s = {};
  const bn = (p, c) => {
    s[`${p}/gamma`] = [c];
    s[`${p}/beta`] = [c];
  };
  s['stem/conv/kernel'] = [3, 3, 3, 64];
  bn('stem/bn', 64);
  let cin = 64;
  [64, 128, 256, 512].forEach((c, li) => {
    for (let b = 0; b < 2; b++) {
      const p = `layer${li + 1}/block${b + 1}`;
      s[`${p}/conv1/kernel`] = [3, 3, b === 0 ? cin : c, c];
      bn(`${p}/bn1`, c);
      s[`${p}/conv2/kernel`] = [3, 3, c, c];
      bn(`${p}/bn2`, c);
      if (b === 0 && cin !== c) {
        s[`${p}/shortcut/kernel`] = [1, 1, cin, c];
        bn(`${p}/shortcut/bn`, c);
      }
    }
    cin = c;
  });
  s['fc/kernel'] = [512, 10];
  s['fc/bias'] = [10];
  return s;
};

const shapes = resnet18Shapes();
const nTensors = Object.keys(shapes).length;
const nParams = Object.values(shapes).reduce((n, sh) => n + sh.reduce((a, b) => a * b, 1), 0);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const results = [];
for (const backend of backends) {
  if (backend === 'wasm') require('@tensorflow/tfjs-backend-wasm');
  const ok = await tf.setBackend(backend);
  if (!ok) {
    console.error(`optim-bench: backend '${backend}' failed to initialize`);
    process.exitCode = 1;
    continue;
  }
  await tf.ready();
  if (backend === 'cpu') tf.backend().firstUse = false;
  require(kernelBundle).registerFusedAdamKernel(backend, backend);
  const params = {};
  const grads = {};
  for (const [k, sh] of Object.entries(shapes)) {
    params[k] = tf.randomNormal(sh, 0, 0.05, 'float32', 1);
    grads[k] = tf.randomNormal(sh, 0, 1e-3, 'float32', 2);
  }
  for (const [variant, options, bytesPerParam] of [
    ['fused', {}, 32],
    ['composed', { fused: false }, 108],
  ]) {
    const adam = optim.adam(1e-3, options);
    let state = adam.init(params);
    const times = [];
    const cpuTimes = [];
    const startTensors = tf.memory().numTensors;
    for (let i = 0; i < warmup + reps; i++) {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const [u, s] = adam.update(grads, state, params);
      u['fc/bias'].dataSync(); // the last output: everything before it has run
      const dt = performance.now() - t0;
      const dc = process.cpuUsage(c0);
      if (i >= warmup) {
        times.push(dt);
        cpuTimes.push((dc.user + dc.system) / 1e3);
      }
      for (const x of Object.values(u)) x.dispose();
      for (const x of [...Object.values(state[0].mu), ...Object.values(state[0].nu)]) x.dispose();
      state = s;
    }
    if (tf.memory().numTensors !== startTensors) {
      console.error(`optim-bench: ${backend}/${variant}: live tensors grew from ${startTensors} to ${tf.memory().numTensors}`);
      process.exitCode = 1;
    }
    for (const x of [...Object.values(state[0].mu), ...Object.values(state[0].nu)]) x.dispose();
    if (variant === 'fused' && tf.getKernel(require(kernelBundle).FUSED_ADAM, backend) === undefined) {
      console.error(`optim-bench: ${backend}: the fused Adam kernel was not used`);
      process.exitCode = 1;
    }
    const ms = median(times);
    results.push({
      backend,
      variant,
      tensors: nTensors,
      params: nParams,
      reps,
      medianMs: +ms.toFixed(1),
      minMs: +Math.min(...times).toFixed(1),
      medianCpuMs: +median(cpuTimes).toFixed(1),
      minimalGBps: +((24 * nParams) / (median(cpuTimes) / 1e3) / 1e9).toFixed(3),
      executedBytesPerParam: bytesPerParam,
      executedGBps: +((bytesPerParam * nParams) / (median(cpuTimes) / 1e3) / 1e9).toFixed(3),
    });
  }
  for (const x of [...Object.values(params), ...Object.values(grads)]) {
    x.dispose();
  }
}

console.log(`adam update on a ResNet-18-sized tree: ${nTensors} tensors, ${nParams.toLocaleString('en')} parameters (float32)`);
console.log(`host: ${os.cpus()[0]?.model ?? 'unknown cpu'} ×${os.cpus().length}, node ${process.version}, tfjs ${tf.version_core}`);
console.log('GB/s from the median CPU time (see the header of this file for what is counted)');
console.log('backend | variant  | wall ms (median) | wall ms (min) | cpu ms (median) | GB/s minimal (24 B/param) | GB/s as executed (B/param)');
for (const r of results) {
  console.log(
    `${r.backend.padEnd(7)} | ${r.variant.padEnd(8)} | ${String(r.medianMs).padStart(16)} | ${String(r.minMs).padStart(13)} | ` +
      `${String(r.medianCpuMs).padStart(15)} | ` +
      `${String(r.minimalGBps).padStart(25)} | ${String(r.executedGBps).padStart(8)} (${r.executedBytesPerParam})`,
  );
}
if (outFile !== undefined) {
  const tmp = `${outFile}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify({ bench: 'optim-adam-resnet18', results }, null, 2) + '\n');
  const fd = openSync(tmp, 'r');
  fsyncSync(fd);
  closeSync(fd);
  renameSync(tmp, outFile);
}
