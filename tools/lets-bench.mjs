#!/usr/bin/env node
// Benchmark: step time of SAM over SGD and of LETS-SAM over SAM, through @lets/train's training
// step function. LETS-SAM runs at its defaults, given the run's length as `lets train` gives it
// (`lets(sam(...), { totalSteps })`: objective 'val', ρ updated every 5 steps with the 'fd'
// estimator, Adam 0.15 on log ρ cosine-decayed to 0 over the first 30 % of the ρ updates and ρ
// held after them, the stall guard on): the row 'LETS-SAM (defaults, whole run)' is the mean step
// over such a run. The row 'LETS-SAM (learning phase)' is `lets(sam(...))` without totalSteps,
// which never holds ρ: what a step costs while ρ is being learned. The row 'LETS-SAM (held)' holds
// ρ after its first update (totalSteps 1: a span of one update): what a step costs once ρ is held.
// --all adds every estimator with k = 1 and k = 5 (the other options at their defaults).
// Workload: MLP 784-256-256-10 (ReLU) with runtime's softmax cross-entropy, batch 128 (train and
// validation), SGD with momentum 0.9 as the outer optimizer, ρ₀ = 0.05.
// Each configuration: 2 warm-up steps of a first run (kernels warm), then the MEAN over the N
// steps of a fresh run from step 0 (N a multiple of 50: every k divides it, and 30 % of its
// ρ updates is a whole number), synchronised by reading the loss every step; configurations are
// interleaved over R rounds and the median round is reported. The default of 500 steps keeps
// LETS's start (the start guard reads the loss, ‖g‖ and cos every step until training starts)
// at its share of a real run; 100-step runs overweight it (docs/native.md).
//
// makeTrainStep asks SAM variants for the lean report (epsNorm and cosine not computed; LETS asks
// for the full one while its start guard reads the cosine); the row 'SAM, full report' passes
// samReport: 'full'.
//
// The first row is plain SGD (same outer optimizer, one gradient per step), so SAM / SGD is
// measured in the same rounds. On 'native' the dense layers and the loss are @lets/native's
// fused dense and softmaxCrossEntropy (--unfused: tfjs ops; other backends always tfjs ops).
//
// --without KERNEL[,KERNEL…] adds the rows 'SAM, without …', 'LETS-SAM (defaults, whole run),
// without …' and 'LETS-SAM (learning phase), without …': those kernels of the backend unregistered
// while the row is timed (registered again after), so a fused kernel's saving is measured in the
// same rounds as the rows with it (e.g. --without LetsTreeNormalizedAxpy, --without
// LetsTreeDots,LetsSubScale).
//
// Usage: node tools/lets-bench.mjs [--backend wasm|cpu|native] [--steps 500] [--rounds 3] [--all] [--unfused] [--without KERNEL] [--lockstep] [--json]
// The TypeScript sources are bundled on the fly with esbuild (no build step needed).
import { benchMlp } from './lib/bench-mlp.mjs';
import { args, loadPackages, opt, require } from './lib/bench.mjs';

const backend = opt('backend', 'wasm');
const steps = Math.max(50, 50 * Math.ceil(Number(opt('steps', '500')) / 50));
const rounds = Number(opt('rounds', '3'));
const asJson = args.includes('--json');

const b = await loadPackages(['tree', 'optim', 'sam', 'lets', 'train', 'runtime', 'native'], 'lets-bench');
const tf = require('@tensorflow/tfjs-core');
const info = await b.runtime.initRuntime({ backend });
const fused = info.backend === 'native' && !args.includes('--unfused');
if (tf.backend().firstUse !== undefined) tf.backend().firstUse = false;

const { model, loss, train, val } = benchMlp(b, tf, fused);

const time = (optimizer, n, samReport) => {
  const step = b.train.makeTrainStep({ model, optimizer, ...(loss ? { loss } : {}), ...(samReport ? { samReport } : {}) });
  let state = b.train.initTrainState(model, optimizer, 0);
  for (let i = 0; i < 2; i++) state = step(state, train, val).state; // warm-up (reads the loss: synchronous)
  b.train.disposeTrainState(state);
  state = b.train.initTrainState(model, optimizer, 0); // the timed run starts at step 0
  const t0 = performance.now();
  let evals = 0;
  for (let i = 0; i < n; i++) {
    const r = step(state, train, val);
    state = r.state;
    evals += r.metrics.transform?.gradEvals ?? 0;
  }
  const ms = (performance.now() - t0) / n;
  b.train.disposeTrainState(state);
  return { ms, evals: evals / n };
};

const outer = () => b.optim.sgd(0.1, { momentum: 0.9 });
// Configurations are timed in interleaved rounds (load drifts on a shared machine); each figure
// is the median over rounds of the per-round mean.
const configs = [
  { method: 'SGD', estimator: '-', k: '-', make: () => outer(), n: steps },
  { method: 'SAM', estimator: '-', k: '-', make: () => b.sam.sam(outer(), { rho: 0.05 }), n: steps },
  { method: 'LETS-SAM (defaults, whole run)', estimator: 'fd', k: 5, make: () => b.lets.lets(b.sam.sam(outer(), { rho: 0.05 }), { totalSteps: steps }), n: steps },
  { method: 'LETS-SAM (learning phase)', estimator: 'fd', k: 5, make: () => b.lets.lets(b.sam.sam(outer(), { rho: 0.05 })), n: steps },
  // ρ held from its first update on (a span of one update): what a step costs once ρ is held.
  { method: 'LETS-SAM (held)', estimator: 'fd', k: 5, make: () => b.lets.lets(b.sam.sam(outer(), { rho: 0.05 }), { totalSteps: 1 }), n: steps },
  // makeTrainStep asks SAM for its lean report (no epsNorm / cosine); this row pays for the full one.
  { method: 'SAM, full report', estimator: '-', k: '-', make: () => b.sam.sam(outer(), { rho: 0.05 }), n: steps, samReport: 'full' },
];
const without = opt('without', undefined);
const withoutKernels = without === undefined ? [] : without.split(',');
if (without !== undefined) {
  for (const name of withoutKernels) {
    if (tf.getKernel(name, info.backend) === undefined) {
      console.error(`lets-bench: --without ${without}: the ${info.backend} backend registers no kernel named ${name}`);
      process.exit(2);
    }
  }
  configs.push({ method: `SAM, without ${without}`, estimator: '-', k: '-', make: () => b.sam.sam(outer(), { rho: 0.05 }), n: steps, without: withoutKernels });
  configs.push({ ...configs[2], method: `LETS-SAM (defaults, whole run), without ${without}`, without: withoutKernels });
  configs.push({ ...configs[3], method: `LETS-SAM (learning phase), without ${without}`, without: withoutKernels });
}
for (const estimator of args.includes('--all') ? ['exact', 'fd', 'fisher', 'identity'] : []) {
  for (const k of [1, 5]) {
    configs.push({ method: 'LETS-SAM', estimator, k, n: Math.ceil(steps / k) * k, make: () => b.lets.lets(b.sam.sam(outer(), { rho: 0.05 }), { estimator, every: k }) });
  }
}
// --lockstep: in each round all configurations run side by side, one step of each in turn (the
// order rotating every step), each step timed alone: load that drifts over seconds then falls on
// every configuration alike, where one configuration's whole run after another's sees it apart.
const lockstep = args.includes('--lockstep');
const withKernelsOff = (c, f) => {
  const kernels = (c.without ?? []).map((name) => tf.getKernel(name, info.backend));
  for (const k of kernels) tf.unregisterKernel(k.kernelName, info.backend);
  try {
    return f();
  } finally {
    for (const k of kernels) tf.registerKernel(k);
  }
};
const lockstepRound = () => {
  const runs = configs.map((c) => withKernelsOff(c, () => {
    const optimizer = c.make();
    const step = b.train.makeTrainStep({ model, optimizer, ...(loss ? { loss } : {}), ...(c.samReport ? { samReport: c.samReport } : {}) });
    let state = b.train.initTrainState(model, optimizer, 0);
    for (let i = 0; i < 2; i++) state = step(state, train, val).state; // warm-up
    b.train.disposeTrainState(state);
    return { step, state: b.train.initTrainState(model, optimizer, 0), ms: 0, evals: 0 };
  }));
  const n = configs[0].n;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < runs.length; j++) {
      const q = (i + j) % runs.length, run = runs[q];
      withKernelsOff(configs[q], () => {
        const t0 = performance.now();
        const r = run.step(run.state, train, val);
        run.ms += performance.now() - t0;
        run.state = r.state;
        run.evals += r.metrics.transform?.gradEvals ?? 0;
      });
    }
  }
  return runs.map((run) => {
    b.train.disposeTrainState(run.state);
    return { ms: run.ms / n, evals: run.evals / n };
  });
};
if (lockstep && configs.some((c) => c.n !== configs[0].n)) {
  console.error('lets-bench: --lockstep needs every configuration to run the same number of steps');
  process.exit(2);
}
const times = configs.map(() => []);
const evals = configs.map(() => 2);
for (let r = 0; r < rounds; r++) {
  const results = lockstep ? lockstepRound() : configs.map((c) => withKernelsOff(c, () => time(c.make(), c.n, c.samReport)));
  results.forEach((t, i) => {
    times[i].push(t.ms);
    if (configs[i].method.startsWith('LETS-SAM')) evals[i] = t.evals;
  });
}
const median = (a) => { const s = [...a].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const sgdMs = median(times[0]);
const samMs = median(times[1]);
evals[0] = 1;
const rows = configs.map((c, i) => ({ method: c.method, estimator: c.estimator, k: c.k, ms: median(times[i]), ratio: median(times[i]) / samMs, evals: evals[i] }));
// Ratios within each round (both configurations timed seconds apart), then their median: less
// exposed to load drifting between rounds than a ratio of medians.
const perRound = (i, j) => median(times[i].map((t, r) => t / times[j][r]));
const samOverSgdRounds = perRound(1, 0);
const letsOverSamRounds = perRound(2, 1);
const learningOverSamRounds = perRound(3, 1);
const heldOverSamRounds = perRound(4, 1);
const tfjsBackend = info.backend;
const loads = (await import('node:os')).loadavg();
const load = loads[0];
const cpu = (await import('node:os')).cpus()[0]?.model ?? 'unknown CPU';
const where = tfjsBackend === 'native' ? `, ${b.native.describeNative()}` : '';
if (asJson) console.log(JSON.stringify({ backend: tfjsBackend, cpu, fused, steps, rounds, lockstep, loadavg: loads, samOverSgd: samMs / sgdMs, letsOverSam: rows[2].ratio, learningOverSam: rows[3].ratio, samOverSgdRounds, letsOverSamRounds, learningOverSamRounds, heldOverSamRounds, rows, times }, null, 2));
else {
  console.log(`backend ${tfjsBackend}${where || `, ${cpu}`}${fused ? ', fused dense + loss' : ''}; load average ${loads.map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`MLP 784-256-256-10 ReLU, batch 128; median over ${rounds} rounds of the mean of the ${steps} steps of a run (after 2 warm-up steps)${lockstep ? '; lockstep: the configurations one step each in turn' : ''}`);
  console.log(`SAM / SGD = ${(samMs / sgdMs).toFixed(2)} (median of per-round ratios ${samOverSgdRounds.toFixed(2)}); LETS-SAM (defaults, whole run) / SAM = ${rows[2].ratio.toFixed(2)} (per-round ${letsOverSamRounds.toFixed(2)}); learning phase / SAM = ${rows[3].ratio.toFixed(2)} (per-round ${learningOverSamRounds.toFixed(2)}); held / SAM = ${rows[4].ratio.toFixed(2)} (per-round ${heldOverSamRounds.toFixed(2)})`);
  console.log('| method | estimator | k | ms/step | × SAM | gradient evals/step |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.method} | ${r.estimator} | ${r.k} | ${r.ms.toFixed(1)} | ${r.ratio.toFixed(2)} | ${r.evals.toFixed(2)} |`);
  const wi = configs.findIndex((c) => c.without !== undefined);
  if (wi >= 0) {
    console.log(`with / without ${without}, per-round medians: SAM ${perRound(1, wi).toFixed(3)}, LETS-SAM whole run ${perRound(2, wi + 1).toFixed(3)}, learning phase ${perRound(3, wi + 2).toFixed(3)}`);
    console.log(`without it: SAM / SGD ${perRound(wi, 0).toFixed(2)} (with it ${samOverSgdRounds.toFixed(2)}), whole run / SAM ${perRound(wi + 1, wi).toFixed(2)} (with it ${letsOverSamRounds.toFixed(2)}), learning phase / SAM ${perRound(wi + 2, wi).toFixed(2)} (with it ${learningOverSamRounds.toFixed(2)})`);
  }
}
