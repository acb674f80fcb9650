#!/usr/bin/env node
// One SGD step of an MLP and a CNN on the tfjs backends 'native', 'wasm' and 'cpu', and the same
// step in PyTorch (tools/native-bench-torch.py, run with /usr/bin/python3) with the same thread
// count, in one run on this machine; prints a table and the native/PyTorch ratios.
//
//   node tools/native-bench.mjs [--iters 20] [--warmup 5] [--threads N] [--backends native,wasm,cpu]
//                               [--models mlp,cnn] [--rounds 3] [--cpu-cnn] [--no-torch] [--torch-default-omp]
//                               [--torch-coretypes default,Haswell,SkylakeX] [--unfused] [--json out.json]
// LETS_NATIVE_BLAS=builtin|openblas|auto chooses native's GEMM (see docs/native.md).
//
// Models: tools/lib/native-models.mjs (MLP 784-256-256-10 and a two-conv CNN, batch 128, softmax
// cross-entropy; dense layers and loss fused unless --unfused). A step = tf.variableGrads + SGD assign of every variable,
// synchronised by reading the loss. Median of --iters timed steps after --warmup untimed ones, the same
// counts on both sides (before 2026-12-03: native 10 steps after 1, PyTorch 20 after 1).
// Every backend starts from the same parameters and data, so the losses must agree (printed).
// The stock cpu CNN step takes minutes (its Conv2DBackpropFilter), so it runs only with --cpu-cnn.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
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
const iters = Number(opt('iters', '20'));
// Untimed steps before the timed ones, on both sides (V8 compiles the step's JavaScript over its
// first steps, and the buffer pool fills; PyTorch allocates its caches).
const warmup = Math.max(1, Number(opt('warmup', '5')));
const threads = Number(opt('threads', process.env.LETS_NATIVE_THREADS ?? String(availableParallelism())));
const backends = opt('backends', 'native,wasm,cpu').split(',');
const models = opt('models', 'mlp,cnn').split(',');
const cpuCnn = argv.includes('--cpu-cnn');
const jsonOut = opt('json', undefined);
// --unfused: the dense layers and the loss as separate tfjs ops (MatMul, Add, Relu, logSumExp...)
// instead of @lets/native's fused dense and softmaxCrossEntropy.
const fused = !argv.includes('--unfused');
// PyTorch runs once per OPENBLAS_CORETYPE per round ('default': OpenBLAS's own detection) and
// keeps its fastest, so native is compared with PyTorch at its best setting on this machine. The
// last lines give the ratio taken within each round against PyTorch's setting with the lowest
// median over the rounds (steadier where the host's speed moves between rounds).
const torchCores = opt('torch-coretypes', 'default,Haswell,SkylakeX').split(',').filter(Boolean);

// Bundle the package sources and tfjs's gradient registrations (no build of dist needed).
const { buildSync } = require('esbuild');
const outDir = join(root, 'packages/native/build/bench');
mkdirSync(outDir, { recursive: true });
function bundle(name, options) {
  const out = join(outDir, name);
  const tmp = `${out}.${process.pid}.tmp`;
  buildSync({ bundle: true, platform: 'node', format: 'cjs', outfile: tmp, logLevel: 'warning', ...options });
  renameSync(tmp, out);
  return out;
}
const gradsFile = bundle('tfjs-gradients.cjs', {
  stdin: { contents: "import '@tensorflow/tfjs-core/dist/register_all_gradients';", resolveDir: root, loader: 'js' },
});
const nativeFile = bundle('native.cjs', {
  entryPoints: [join(root, 'packages/native/src/index.ts')],
  external: ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-cpu'],
});
process.env.LETS_NATIVE_ADDON ??= join(root, 'packages/native/build/Release/lets_native.node');

const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
require(gradsFile);
const native = require(nativeFile);
let wasmLoaded = false;
try {
  require('@tensorflow/tfjs-backend-wasm');
  wasmLoaded = true;
} catch { /* not installed */ }

async function benchStep(backend, kind) {
  const ok = await tf.setBackend(backend);
  if (!ok) throw new Error(`backend ${backend} failed to initialise`);
  const params = {};
  for (const [name, values, shape] of makeParams(kind)) params[name] = tf.variable(tf.tensor(values, shape), true, `${backend}-${kind}-${name}`);
  const d = makeData(kind);
  const x = tf.tensor(d.x, d.xShape), y = tf.tensor(d.y, d.yShape);
  const lr = 0.01;
  const model = makeModel(tf, native, kind, fused);
  const step = async () => {
    const lossValue = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => model.loss(params, x, y));
      for (const [name, g] of Object.entries(grads)) {
        const v = Object.values(params).find((p) => p.name === name);
        v.assign(tf.sub(v, tf.mul(g, lr)));
      }
      return value;
    });
    const l = (await lossValue.data())[0];
    lossValue.dispose();
    return l;
  };
  const losses = [await step()];
  for (let i = 1; i < warmup; i++) await step();
  const times = [];
  const c0 = process.cpuUsage();
  for (let i = 0; i < iters; i++) {
    const t0 = process.hrtime.bigint();
    losses.push(await step());
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const cpu = process.cpuUsage(c0);
  const cpuMs = (cpu.user + cpu.system) / 1000 / iters;
  tf.dispose([x, y, ...Object.values(params)]);
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)], min: times[0], cpuMs, losses: [losses[0], losses[losses.length - 1]] };
}

if (process.env.OMP_WAIT_POLICY !== undefined) process.env.LETS_BENCH_OMP_WAIT_POLICY_SET = '1';
if (process.env.GOMP_SPINCOUNT !== undefined) process.env.LETS_BENCH_GOMP_SPINCOUNT_SET = '1';
const load0 = (await import('node:os')).loadavg()[0];
const results = { machine: { threads, node: process.version, cores: availableParallelism(), loadavg1: load0 }, tfjs: {}, torch: null };
if (load0 > availableParallelism()) console.log(`warning: load average ${load0.toFixed(1)} on ${availableParallelism()} cores; wall times are inflated, compare ratios and min times`);
const info = native.registerNativeBackend({ threads }) ? native.nativeInfo() : native.nativeInfo();
console.log(`native: ${info.available ? `${native.describeNative()}; ${fused ? 'fused' : 'unfused'} dense layers and loss` : `unavailable (${info.reason})`}`);
console.log(`load average ${load0.toFixed(2)} on ${availableParallelism()} cores`);
results.machine.native = info.available ? { cpu: info.cpu, isa: info.isa, gemm: info.gemm, blas: info.blas, openblasCore: info.openblasCore ?? null, note: info.note ?? null } : null;
results.machine.fused = fused;
// PyTorch runs with the same OpenMP settings (it inherits this environment).
results.machine.ompWaitPolicy = process.env.OMP_WAIT_POLICY ?? null;
results.machine.gompSpinCount = process.env.GOMP_SPINCOUNT ?? null;
results.machine.waitPolicy = info.waitPolicy ?? null;
// Rounds: each round runs PyTorch, then native (and, in the first round, every other backend).
// On a shared machine the load changes within a minute, so native and PyTorch each keep their
// fastest round (lowest median), the same rule for both.
function runTorch(core) {
  const py = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  // By default PyTorch inherits the OpenMP settings native runs with (the addon's GOMP_SPINCOUNT,
  // or OMP_WAIT_POLICY=PASSIVE without its spin probe, unless the user set either);
  // --torch-default-omp runs it with OpenMP's own default (300,000 spins) instead.
  const env = { ...process.env };
  if (argv.includes('--torch-default-omp')) {
    if (process.env.LETS_BENCH_OMP_WAIT_POLICY_SET !== '1') delete env.OMP_WAIT_POLICY;
    if (process.env.LETS_BENCH_GOMP_SPINCOUNT_SET !== '1') delete env.GOMP_SPINCOUNT;
  }
  if (core === 'default') delete env.OPENBLAS_CORETYPE;
  else env.OPENBLAS_CORETYPE = core;
  const r = spawnSync(py, [join(root, 'tools/native-bench-torch.py'), '--threads', String(threads), '--iters', String(iters), '--warmup', String(warmup), '--models', models.join(',')], { encoding: 'utf8', env });
  const line = (r.stdout || '').trim().split('\n').pop() || '';
  try {
    return JSON.parse(line);
  } catch {
    // e.g. SkylakeX's AVX-512 kernels on a CPU without AVX-512 die of SIGILL with no output.
    const why = (r.stderr || r.error || '').toString().trim().split('\n').pop() || (r.signal ? `killed by ${r.signal}` : `exit ${r.status}, no output`);
    console.log(`torch at OPENBLAS_CORETYPE=${core}: not run (${why})`);
    return null;
  }
}
const faster = (a, b) => (!a || a.ms === undefined ? b : !b || b.ms === undefined ? a : b.ms < a.ms ? b : a);
const wantTorch = !argv.includes('--no-torch');
const rounds = Math.max(1, Number(opt('rounds', '3')));
results.machine.rounds = rounds;
if (wantTorch) results.machine.torchOmpWaitPolicy = argv.includes('--torch-default-omp') ? 'default' : results.machine.ompWaitPolicy;

// Per round, for the per-round ratios: native's ms of each model, and PyTorch's of each model at each setting.
const perRound = { native: Object.fromEntries(models.map((m) => [m, []])), torch: {} };
for (let round = 1; round <= rounds; round++) {
  for (const core of wantTorch ? torchCores : []) {
    const t = runTorch(core);
    perRound.torch[core] ??= Object.fromEntries(models.map((m) => [m, []]));
    for (const m of models) perRound.torch[core][m].push(t?.[m]?.ms);
    if (t) {
      console.log(`round ${round}: torch ${t.version}, ${threads} threads, OPENBLAS_CORETYPE=${core}: ` +
        models.map((m) => `${m} ${t[m].ms.toFixed(1)} ms/step (min ${t[m].min.toFixed(1)}, cpu time ${t[m].cpu_ms.toFixed(1)})`).join(', '));
      for (const m of models) t[m].core = core;
      const prev = results.torch;
      results.torch = { ...t, ...Object.fromEntries(models.map((m) => [m, faster(prev?.[m], t[m])])) };
    }
  }
  for (const backend of backends) {
    if (round > 1 && backend !== 'native') continue;
    if (backend === 'native' && !info.available) continue;
    if (backend === 'wasm' && !wasmLoaded) { console.log('wasm: @tensorflow/tfjs-backend-wasm not installed'); continue; }
    for (const kind of models) {
      const key = `${backend}/${kind}`;
      if (backend === 'wasm' && kind === 'cnn' && tf.getKernel('Conv2DBackpropFilter', 'wasm') === undefined) {
        results.tfjs[key] = { skipped: "tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter kernel" };
        console.log(`${key}: skipped (tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter kernel)`);
        continue;
      }
      if (backend === 'cpu' && kind === 'cnn' && !cpuCnn) {
        results.tfjs[key] = { skipped: 'stock cpu Conv2DBackpropFilter takes minutes; --cpu-cnn to run' };
        console.log(`${key}: skipped (stock cpu Conv2DBackpropFilter takes minutes; --cpu-cnn to run)`);
        continue;
      }
      try {
        const r = await benchStep(backend, kind);
        results.tfjs[key] = faster(results.tfjs[key], r);
        if (backend === 'native') perRound.native[kind][round - 1] = r.ms;
        console.log(`round ${round}: ${key}: ${r.ms.toFixed(1)} ms/step (min ${r.min.toFixed(1)}, cpu time ${r.cpuMs.toFixed(1)}), loss ${r.losses[0].toFixed(4)} → ${r.losses[1].toFixed(4)}`);
      } catch (e) {
        results.tfjs[key] = { error: String(e.message ?? e).split('\n')[0] };
        console.log(`${key}: error: ${results.tfjs[key].error}`);
      }
    }
  }
}

console.log(`\nmedian ms/step, best of ${rounds} round(s) for native and PyTorch (native / PyTorch ratios of median, min and cpu time)`);
console.log('| model | ' + backends.join(' | ') + ' | PyTorch | native / PyTorch |');
console.log('|---|' + backends.map(() => '---|').join('') + '---|---|');
for (const kind of models) {
  const cell = (b) => {
    const r = results.tfjs[`${b}/${kind}`];
    if (!r) return 'n/a';
    if (r.ms !== undefined) return `${r.ms.toFixed(1)} ms`;
    return r.error ? 'error' : 'skipped';
  };
  const t = results.torch?.[kind]?.ms;
  const n = results.tfjs[`native/${kind}`]?.ms;
  const nr = results.tfjs[`native/${kind}`], tr = results.torch?.[kind];
  const ratio = t && n ? `${(n / t).toFixed(2)}× (min ${(nr.min / tr.min).toFixed(2)}×, cpu ${(nr.cpuMs / tr.cpu_ms).toFixed(2)}×)` : 'n/a';
  console.log(`| ${kind} | ${backends.map(cell).join(' | ')} | ${t ? `${t.toFixed(1)} ms (OPENBLAS_CORETYPE=${results.torch[kind].core})` : 'n/a'} | ${ratio} |`);
}
// The best-of-rounds ratio above takes PyTorch's fastest of rounds × settings against native's
// fastest of rounds: on a host whose speed moves from round to round that favours PyTorch. Here
// PyTorch's setting is the one with the lowest median over rounds, and the ratio is taken within
// each round (native and PyTorch seconds apart), then its median.
const median = (a) => { const v = a.filter((x) => typeof x === 'number').sort((x, y) => x - y); const h = v.length >> 1; return v.length === 0 ? undefined : v.length % 2 ? v[h] : (v[h - 1] + v[h]) / 2; };
results.perRound = {};
for (const kind of models) {
  const cores = Object.keys(perRound.torch).filter((c) => median(perRound.torch[c][kind]) !== undefined);
  if (cores.length === 0 || median(perRound.native[kind]) === undefined) continue;
  const core = cores.reduce((a, c) => (median(perRound.torch[c][kind]) < median(perRound.torch[a][kind]) ? c : a));
  const ratios = perRound.native[kind].map((n, r) => (typeof n === 'number' && typeof perRound.torch[core][kind][r] === 'number' ? n / perRound.torch[core][kind][r] : undefined)).filter((x) => x !== undefined);
  results.perRound[kind] = { core, native: perRound.native[kind], torch: perRound.torch[core][kind], ratios, median: median(ratios) };
  console.log(`${kind}: native / PyTorch per round (OPENBLAS_CORETYPE=${core}, its lowest median over the rounds): median ${median(ratios).toFixed(2)}× (rounds ${ratios.map((x) => x.toFixed(2)).join(', ')})`);
}
if (jsonOut) {
  const tmp = `${jsonOut}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(results, null, 2));
  renameSync(tmp, jsonOut);
}
